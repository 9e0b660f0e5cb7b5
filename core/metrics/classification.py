"""Single-label classification metrics: all of them pure functions of a confusion matrix, plus top-k.

Formulas (per class c, from the matrix whose rows are true classes):
    precision_c = TP / (TP + FP)          recall_c = TP / (TP + FN)
    F_beta = (1 + beta^2) * P * R / (beta^2 * P + R)      accuracy = trace / total
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import (
    as_labels,
    averages,
    check_same_length,
    fill_undefined,
    prf_from_counts,
    safe_divide,
    zero_division_value,
)

_BLOCK = 1 << 16


def _counts(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, false positives and false negatives per class."""
    tp = np.diag(cm).astype(np.float64)
    return tp, cm.sum(axis=0) - tp, cm.sum(axis=1) - tp


def classification_report(cm: np.ndarray, beta: float = 1.0, zero_division: float | str = 0) -> dict[str, Any]:
    """Per-class precision, recall, F-beta and support, accuracy, and macro/micro/weighted averages.

    Per-class keys hold arrays of length C: "precision", "recall", "fbeta", "f1", "support" (true count),
    "predicted" (predicted count), "averaged" (bool: the class is in the truth or the predictions).
    "macro" is the plain mean over the averaged classes, "weighted" the mean weighted by support,
    "micro" pools the counts of all classes (for single-label data micro P = micro R = accuracy).

    ``zero_division`` (0, 1 or NaN, as scikit-learn's) is what an undefined (0/0) precision, recall or
    F-score of an averaged class becomes; with NaN it is left out of the averages. A class in neither
    truth nor predictions is never averaged and stays NaN. The default 0 gives the numbers of
    scikit-learn's ``classification_report`` and of torchmetrics' multiclass metrics (see the package docs).
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {cm.shape}")
    zero = zero_division_value(zero_division)
    tp, fp, fn = _counts(cm)
    support, averaged = tp + fn, (tp + fp + fn) > 0
    per_class = {k: fill_undefined(v, averaged, zero) for k, v in prf_from_counts(tp, fp, fn, beta).items()}
    f1 = per_class["fbeta"] if beta == 1 else fill_undefined(prf_from_counts(tp, fp, fn, 1.0)["fbeta"], averaged, zero)
    return {
        **per_class,
        "f1": f1,
        "support": support.astype(np.int64),
        "predicted": (tp + fp).astype(np.int64),
        "averaged": averaged,
        "accuracy": float(safe_divide(tp.sum(), cm.sum())),
        "beta": float(beta),
        "zero_division": zero,
        "num_samples": int(cm.sum()),
        **averages(per_class, support, averaged, (tp.sum(), fp.sum(), fn.sum()), beta, zero),
    }


def top_k_accuracy(y_true, scores: np.ndarray, k: int = 5, ignore_index: int | None = None) -> float:
    """Fraction of samples whose true class is among the k highest scores; NaN for no samples.

    Ties count against the model: a sample is a hit when at most k classes score ``>=`` its true class
    (scikit-learn instead breaks ties by class order). Samples with a negative or ignored label are dropped.
    """
    y_true, scores = as_labels(y_true, "y_true"), np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be N x C, got shape {scores.shape}")
    check_same_length(y_true, scores, "y_true and scores")
    keep = (y_true >= 0) if ignore_index is None else (y_true >= 0) & (y_true != ignore_index)
    y_true, scores = y_true[keep], scores[keep]
    if y_true.size and int(y_true.max()) >= scores.shape[1]:
        raise ValueError(f"y_true holds label {int(y_true.max())}, but scores have {scores.shape[1]} classes")
    hits = 0
    for start in range(0, len(y_true), _BLOCK):  # blocks bound the N x C temporary
        block, y = scores[start : start + _BLOCK], y_true[start : start + _BLOCK]
        rank = (block >= block[np.arange(len(y)), y][:, None]).sum(axis=1)
        hits += int(np.count_nonzero(rank <= k))
    return float(safe_divide(hits, len(y_true)))
