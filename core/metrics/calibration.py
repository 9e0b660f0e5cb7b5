"""Calibration: does a confidence of 0.8 mean right 80% of the time?

The confidences in [0, 1] are split into ``n_bins`` equal bins [lo, hi) (the last one closed); per bin
the mean confidence, the accuracy and the count make the reliability diagram, and
    ECE = sum_b (n_b / N) |accuracy_b - confidence_b|
"""

from __future__ import annotations

import numpy as np

from ._common import as_labels, check_same_length, safe_divide


def confidence_and_correct(y_true, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 confidence and whether the top-1 class is the true one, from N x C probabilities."""
    y_true, probs = as_labels(y_true, "y_true"), np.asarray(probs, dtype=np.float64)
    check_same_length(y_true, probs, "y_true and probs")
    if probs.ndim != 2:
        raise ValueError(f"probs must be N x C, got shape {probs.shape}")
    return probs.max(axis=1), probs.argmax(axis=1) == y_true


def calibration_bin(confidence: np.ndarray, n_bins: int = 15) -> np.ndarray:
    """The bin index of each confidence (so a bar of the diagram maps back to its samples)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.searchsorted(edges, np.asarray(confidence, dtype=np.float64).reshape(-1), side="right") - 1
    return np.clip(index, 0, n_bins - 1)


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Per bin: "confidence" (mean), "accuracy" (fraction correct), "count"; plus the "edges" (n_bins + 1).

    An empty bin has count 0 and NaN confidence and accuracy."""
    correct = np.asarray(correct, dtype=np.float64).reshape(-1)
    confidence = np.asarray(confidence, dtype=np.float64).reshape(-1)
    check_same_length(confidence, correct, "confidence and correct")
    bins = calibration_bin(confidence, n_bins)
    count = np.bincount(bins, minlength=n_bins)
    return {
        "edges": np.linspace(0.0, 1.0, n_bins + 1),
        "confidence": safe_divide(np.bincount(bins, weights=confidence, minlength=n_bins), count),
        "accuracy": safe_divide(np.bincount(bins, weights=correct, minlength=n_bins), count),
        "count": count.astype(np.int64),
    }


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> float:
    """ECE = sum_b (n_b / N) |accuracy_b - confidence_b| over non-empty bins; NaN for no samples."""
    bins = reliability_bins(confidence, correct, n_bins)
    gap = np.abs(bins["accuracy"] - bins["confidence"])
    weight = safe_divide(bins["count"], bins["count"].sum())
    return float(np.sum(weight * gap, where=bins["count"] > 0)) if bins["count"].sum() else float("nan")
