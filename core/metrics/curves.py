"""Threshold curves for a binary decision, and one-vs-rest for many classes.

A sample is predicted positive when its score is ``>=`` the threshold. Curves follow scikit-learn's
conventions (same arrays, same order) except that a ratio that is 0/0 is NaN: with no positive sample,
recall, the true positive rate and average precision are NaN (scikit-learn warns and reports 1 or 0).

    AP = sum_n (R_n - R_{n-1}) P_n   (no interpolation; scikit-learn's definition)
    ROC AUC = area under (FPR, TPR) by the trapezoidal rule
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ._common import as_labels, check_same_length, fbeta_from_counts, nanmean, safe_divide


def _format(y_true, score, pos_label: int | bool) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true).reshape(-1) == pos_label
    score = np.asarray(score, dtype=np.float64).reshape(-1)
    check_same_length(y, score, "y_true and score")
    return y, score


def _binary_counts(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positive counts at each distinct threshold, thresholds descending."""
    order = np.argsort(score, kind="mergesort")[::-1]
    score, y = score[order], y[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(score)), y.size - 1] if y.size else np.zeros(0, dtype=np.int64)
    tps = np.cumsum(y, dtype=np.float64)[last_of_run]
    return 1 + last_of_run - tps, tps, score[last_of_run]


def precision_recall_curve(y_true, score, pos_label: int | bool = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds) as scikit-learn returns them: thresholds ascending, and a final
    point (precision 1, recall 0) that has no threshold."""
    fps, tps, thresholds = _binary_counts(*_format(y_true, score, pos_label))
    precision = safe_divide(tps, tps + fps)
    recall = safe_divide(tps, tps[-1] if tps.size else 0.0)
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision(y_true, score, pos_label: int | bool = 1) -> float:
    """AP = sum_n (R_n - R_{n-1}) P_n over thresholds; NaN without positives."""
    precision, recall, _ = precision_recall_curve(y_true, score, pos_label)
    if recall.size < 2 or np.isnan(recall[0]):
        return float("nan")
    return float(-np.sum(np.diff(recall) * precision[:-1]))


def roc_curve(
    y_true, score, pos_label: int | bool = 1, drop_intermediate: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) as scikit-learn returns them, starting at (0, 0) with threshold +inf.

    ``drop_intermediate`` drops points on straight segments; the area is unchanged."""
    fps, tps, thresholds = _binary_counts(*_format(y_true, score, pos_label))
    if drop_intermediate and fps.size > 2:
        corners = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps, thresholds = fps[corners], tps[corners], thresholds[corners]
    fps, tps, thresholds = np.r_[0.0, fps], np.r_[0.0, tps], np.r_[np.inf, thresholds]
    return safe_divide(fps, fps[-1]), safe_divide(tps, tps[-1]), thresholds


def auc(x: np.ndarray, y: np.ndarray) -> float:
    """Area under a curve by the trapezoidal rule; x must be monotonic. NaN for fewer than 2 points."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size < 2:
        return float("nan")
    area = float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))  # np.trapezoid needs numpy 2
    return -area if x[-1] < x[0] else area


def roc_auc(y_true, score, pos_label: int | bool = 1) -> float:
    """Area under the ROC curve; NaN when only one of the two classes occurs (scikit-learn raises)."""
    fpr, tpr, _ = roc_curve(y_true, score, pos_label)
    return auc(fpr, tpr) if not (np.isnan(fpr[-1]) or np.isnan(tpr[-1])) else float("nan")


class ThresholdChoice(NamedTuple):
    """The score threshold (predict positive when ``score >= threshold``) and what it achieves."""

    threshold: float
    fbeta: float
    precision: float
    recall: float


def best_fbeta_threshold(y_true, score, beta: float = 1.0, pos_label: int | bool = 1) -> ThresholdChoice:
    """The threshold with the highest F-beta (the highest such threshold on ties); all NaN without positives."""
    fps, tps, thresholds = _binary_counts(*_format(y_true, score, pos_label))
    positives = tps[-1] if tps.size else 0.0
    if positives == 0:
        return ThresholdChoice(*(float("nan"),) * 4)
    fbeta = fbeta_from_counts(tps, fps, positives - tps, beta)
    best = int(np.argmax(fbeta))
    return ThresholdChoice(
        float(thresholds[best]),
        float(fbeta[best]),
        float(tps[best] / (tps[best] + fps[best])),
        float(tps[best] / positives),
    )


def one_vs_rest_report(
    y_true, scores: np.ndarray, beta: float = 1.0, ignore_index: int | None = None
) -> dict[str, Any]:
    """Per class c, class c against all others scored by ``scores[:, c]``: "average_precision", "roc_auc",
    "best_threshold" and "best_fbeta"; "mean_average_precision" and "macro_roc_auc" average the defined values.

    Samples with a negative or ignored label are dropped.
    """
    y, scores = as_labels(y_true, "y_true"), np.asarray(scores, dtype=np.float64)
    check_same_length(y, scores, "y_true and scores")
    keep = (y >= 0) if ignore_index is None else (y >= 0) & (y != ignore_index)
    y, scores = y[keep], scores[keep]
    classes = range(scores.shape[1]) if scores.ndim == 2 else range(0)
    columns = np.ascontiguousarray(scores.T) if scores.ndim == 2 else scores  # one class per contiguous row
    rows = np.array([_one_class(y == c, columns[c], beta) for c in classes]).reshape(-1, 4)
    ap, roc = rows[:, 0], rows[:, 1]
    return {
        "average_precision": ap,
        "roc_auc": roc,
        "best_threshold": rows[:, 2],
        "best_fbeta": rows[:, 3],
        "mean_average_precision": nanmean(ap),
        "macro_roc_auc": nanmean(roc),
    }


def _one_class(y: np.ndarray, score: np.ndarray, beta: float) -> tuple[float, float, float, float]:
    """(AP, ROC AUC, best threshold, best F-beta) of one class from a single sort of its scores.

    The same values as average_precision, roc_auc and best_fbeta_threshold, which each sort again.
    """
    nan = float("nan")
    fps, tps, thresholds = _binary_counts(y, score)
    positives = tps[-1] if tps.size else 0.0
    negatives = fps[-1] if fps.size else 0.0
    if positives == 0:
        return nan, nan, nan, nan
    precision = tps / (tps + fps)
    recall = tps / positives
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    if negatives == 0:
        roc = nan
    else:
        fpr, tpr = np.r_[0.0, fps / negatives], np.r_[0.0, recall]
        roc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    fbeta = fbeta_from_counts(tps, fps, positives - tps, beta)
    best = int(np.argmax(fbeta))
    return ap, roc, float(thresholds[best]), float(fbeta[best])
