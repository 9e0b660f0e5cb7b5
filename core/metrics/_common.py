"""Private steps shared by the metrics: NaN-safe ratios and averages, input checks."""

from __future__ import annotations

import math
from typing import Any

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


def zero_division_value(zero_division: float | str) -> float:
    """0.0, 1.0 or NaN from 0, 1, NaN or their spellings "0", "1", "nan" (the command line's); else ValueError.

    What an undefined (0/0) precision, recall or F-score becomes: 0 or 1, averaged like any value, or
    NaN, left out of the averages. scikit-learn's parameter, whose default "warn" behaves as 0.
    """
    text = str(zero_division).strip().lower()
    if text in ("nan", "0", "0.0", "1", "1.0"):
        return float(text)
    raise ValueError(f"zero_division must be 0, 1 or nan, got {zero_division!r}")


def zero_division_name(zero_division: float | str) -> str:
    """The spelling of a zero_division value in metrics.json and on the command line: "0", "1" or "nan"."""
    value = zero_division_value(zero_division)
    return "nan" if math.isnan(value) else str(int(value))


def fill_undefined(values: np.ndarray, averaged: np.ndarray, zero_division: float) -> np.ndarray:
    """``values`` with the NaN (0/0) entries of averaged classes set to ``zero_division``.

    Classes that are not averaged (a single-label class in neither truth nor predictions) stay NaN: they
    are not part of the report, as scikit-learn leaves them out of its default ``labels``.
    """
    values = np.asarray(values, dtype=np.float64)
    if math.isnan(zero_division):
        return values
    return np.where(np.isnan(values) & averaged, zero_division, values)


def average(values: np.ndarray, averaged: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Mean of the averaged, defined (non-NaN) entries, weighted by ``weights`` if given; NaN if none.

    As scikit-learn's ``_nanaverage``: when the weights of those entries sum to 0 (a weighted precision
    whose only defined classes have no support), the unweighted mean is returned.
    """
    values = np.asarray(values, dtype=np.float64)
    keep = np.asarray(averaged, dtype=bool) & ~np.isnan(values)
    if not keep.any():
        return math.nan
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)[keep]
        if w.sum() > 0:
            return float(np.sum(values[keep] * w) / w.sum())
    return float(values[keep].mean())


def averages(
    per_class: dict[str, np.ndarray],
    support: np.ndarray,
    averaged: np.ndarray,
    pooled: tuple[Any, Any, Any],
    beta: float,
    zero_division: float,
) -> dict[str, dict[str, float]]:
    """The "macro", "weighted" (by support) and "micro" (``pooled`` tp, fp, fn) precision, recall and F-beta.

    ``per_class`` must already be filled with :func:`fill_undefined`. Micro values that are 0/0 become
    ``zero_division`` too, unless nothing at all is averaged (no samples): then every average is NaN.
    """
    keys = ("precision", "recall", "fbeta")
    micro = scalars(prf_from_counts(*pooled, beta))
    if np.any(averaged):
        micro = {k: float(fill_undefined(v, np.True_, zero_division)) for k, v in micro.items()}
    return {
        "macro": {k: average(per_class[k], averaged) for k in keys},
        "weighted": {k: average(per_class[k], averaged, support) for k in keys},
        "micro": micro,
    }


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
