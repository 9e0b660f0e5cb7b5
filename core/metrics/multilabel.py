"""Multilabel (soft) classification: one binary decision per label, one 2 x 2 confusion matrix per label.

A label is predicted when its probability is ``>= threshold``. The per-label matrix is laid out as
scikit-learn's ``multilabel_confusion_matrix``: ``[[TN, FP], [FN, TP]]`` (rows true 0/1, columns predicted 0/1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import average, averages, fill_undefined, prf_from_counts, safe_divide, zero_division_value
from .curves import average_precision


def _format(y_true, y_score, threshold) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean truth and prediction, both N x L, and the threshold per label."""
    y_true, y_score = np.asarray(y_true), np.asarray(y_score, dtype=np.float64)
    if y_true.ndim != 2 or y_true.shape != y_score.shape:
        raise ValueError(f"y_true and y_score must both be N x L, got {y_true.shape} and {y_score.shape}")
    threshold = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (y_true.shape[1],))
    return y_true.astype(bool), y_score >= threshold, threshold


def _confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """L x 2 x 2 counts [[TN, FP], [FN, TP]] per label."""
    tp = np.count_nonzero(y_true & y_pred, axis=0)
    fp = np.count_nonzero(~y_true & y_pred, axis=0)
    fn = np.count_nonzero(y_true & ~y_pred, axis=0)
    tn = len(y_true) - tp - fp - fn
    return np.stack([np.stack([tn, fp], axis=-1), np.stack([fn, tp], axis=-1)], axis=-2).astype(np.int64)


def multilabel_confusion_matrix(y_true, y_score, threshold: float | np.ndarray = 0.5) -> np.ndarray:
    """The L x 2 x 2 int64 matrices ``[[TN, FP], [FN, TP]]``, one per label."""
    y_true, y_pred, _ = _format(y_true, y_score, threshold)
    return _confusion(y_true, y_pred)


def label_metrics(
    label_counts: tuple[np.ndarray, np.ndarray, np.ndarray],
    sample_counts: tuple[np.ndarray, np.ndarray, np.ndarray],
    beta: float = 1.0,
    zero_division: float | str = 0,
) -> dict[str, Any]:
    """Per-label precision, recall, F-beta and support; "micro", "macro", "weighted" and "samples" averages.

    ``label_counts`` are (tp, fp, fn) per label, ``sample_counts`` (tp, fp, fn) per sample. Every label is
    averaged, also one in neither truth nor predictions (scikit-learn and torchmetrics do the same on
    indicator arrays): its 0/0 values become ``zero_division`` (0, 1, or NaN: left out). "samples"
    averages each sample's own precision / recall / F-beta, its 0/0 values treated alike. "averaged" (per
    label: all True, unless there is no sample) and "zero_division" (as a float) say how it was done.
    """
    zero = zero_division_value(zero_division)
    tp, fp, fn = label_counts
    labels = np.full(len(tp), len(sample_counts[0]) > 0)  # all labels, unless there is no sample
    per_label = {k: fill_undefined(v, labels, zero) for k, v in prf_from_counts(tp, fp, fn, beta).items()}
    samples = np.ones(len(sample_counts[0]), dtype=bool)
    per_sample = {k: fill_undefined(v, samples, zero) for k, v in prf_from_counts(*sample_counts, beta).items()}
    support = np.asarray(tp) + np.asarray(fn)
    return {
        **per_label,
        "support": support,
        "averaged": labels,
        **averages(per_label, support, labels, (np.sum(tp), np.sum(fp), np.sum(fn)), beta, zero),
        "samples": {k: average(v, samples) for k, v in per_sample.items()},
        "beta": float(beta),
        "zero_division": zero,
    }


def multilabel_report(
    y_true, y_score, threshold: float | np.ndarray = 0.5, beta: float = 1.0, zero_division: float | str = 0
) -> dict[str, Any]:
    """The keys of :func:`label_metrics`, and per label "average_precision" and "confusion" (L x 2 x 2),
    "threshold"; "hamming_loss", "subset_accuracy".

    ``y_true`` is N x L of 0/1, ``y_score`` N x L probabilities, ``threshold`` one number or one per label.
    With the default ``zero_division=0`` the averages equal scikit-learn's on the indicator arrays.
    """
    y_true, y_pred, threshold = _format(y_true, y_score, threshold)
    cm = _confusion(y_true, y_pred)
    tp, fp, fn = cm[:, 1, 1], cm[:, 0, 1], cm[:, 1, 0]
    tp_i = np.count_nonzero(y_true & y_pred, axis=1)
    sample_counts = (tp_i, y_pred.sum(axis=1) - tp_i, y_true.sum(axis=1) - tp_i)
    scores = np.asarray(y_score, dtype=np.float64)
    return {
        **label_metrics((tp, fp, fn), sample_counts, beta, zero_division),
        "average_precision": np.array([average_precision(y_true[:, j], scores[:, j]) for j in range(cm.shape[0])]),
        "confusion": cm,
        "threshold": threshold.copy(),
        "hamming_loss": float(safe_divide(np.count_nonzero(y_true != y_pred), y_true.size)),
        "subset_accuracy": float(safe_divide(np.count_nonzero((y_true == y_pred).all(axis=1)), len(y_true))),
    }


def multilabel_cell_indices(
    y_true,
    y_score,
    label: int,
    true_value: bool | None = None,
    pred_value: bool | None = None,
    threshold: float | np.ndarray = 0.5,
) -> np.ndarray:
    """Indices of the samples in one cell of label ``label``'s 2 x 2 matrix (None: either value)."""
    y_true, y_pred, _ = _format(y_true, y_score, threshold)
    keep = np.ones(len(y_true), dtype=bool)
    if true_value is not None:
        keep &= y_true[:, label] == bool(true_value)
    if pred_value is not None:
        keep &= y_pred[:, label] == bool(pred_value)
    return np.flatnonzero(keep)
