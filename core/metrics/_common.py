"""Private steps shared by the metrics: NaN-safe ratios and averages, input checks."""

from __future__ import annotations

import numpy as np


def safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` as float64, NaN where ``den == 0`` (the package's 0/0 convention), without warnings."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast_shapes(num.shape, den.shape), np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def nanmean(values: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Mean of the defined (non-NaN) entries; NaN where none is defined. No RuntimeWarning."""
    values = np.asarray(values, dtype=np.float64)
    defined = ~np.isnan(values)
    result = safe_divide(np.where(defined, values, 0.0).sum(axis=axis), defined.sum(axis=axis))
    return float(result) if result.ndim == 0 else result


def nan_weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean over the defined entries of ``values``; NaN when their total weight is 0."""
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    defined = ~np.isnan(values)
    return float(safe_divide(np.sum(values[defined] * weights[defined]), np.sum(weights[defined])))


def fbeta_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, beta: float) -> np.ndarray:
    """F-beta from counts: (1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp), as scikit-learn computes it.

    Equal to (1 + b^2) P R / (b^2 P + R) where both are defined; 0 when tp = 0 but something was
    predicted or expected (even if P or R alone is 0/0); NaN only when tp = fp = fn = 0.
    """
    tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    if np.isposinf(beta):
        return safe_divide(tp, tp + fn)
    b2 = float(beta) ** 2
    return safe_divide((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp)


def prf_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, beta: float) -> dict[str, np.ndarray]:
    """Precision, recall and F-beta (arrays or scalars) from true/false positive and false negative counts."""
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    return {
        "precision": safe_divide(tp, np.add(tp, fp)),
        "recall": safe_divide(tp, np.add(tp, fn)),
        "fbeta": fbeta_from_counts(tp, fp, fn, beta),
    }


def scalars(d: dict[str, np.ndarray]) -> dict[str, float]:
    """The same dict with 0-d arrays turned into Python floats."""
    return {key: float(value) for key, value in d.items()}


def as_labels(y: np.ndarray, name: str) -> np.ndarray:
    """A 1-D integer label array (bool is accepted); raises TypeError for float or object labels."""
    y = np.asarray(y)
    if y.dtype == bool:
        y = y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.integer):
        if y.size == 0:
            return np.zeros(0, dtype=np.int64)
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    return y.reshape(-1)


def check_same_length(a: np.ndarray, b: np.ndarray, names: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{names} differ in length: {len(a)} != {len(b)}")
