"""From scores to decisions: the predicted class (or tags) of every sample under a threshold.

Multiclass takes the argmax. Binary predicts the positive class (index 1) when its score
reaches the threshold (0.5 = the argmax of two softmax scores). Multilabel predicts every
label whose score reaches its threshold (one for all labels, or one per label). Metrics,
the browser's right/wrong marks and exports all decide through here, so moving the
threshold in the metrics view changes all of them the same way.
"""

from __future__ import annotations

import numpy as np

from core.inference.predictions import NOT_PREDICTED, Predictions

Threshold = float | np.ndarray | None


def predicted_classes(predictions: Predictions, threshold: Threshold = None) -> np.ndarray:
    """N int64 predicted class per sample, NOT_PREDICTED (-1) where there is no prediction."""
    out = np.full(len(predictions), NOT_PREDICTED, dtype=np.int64)
    done = np.flatnonzero(predictions.done)  # one snapshot: a running job fills it on its own thread
    out[done] = decide_rows(predictions, done, threshold)
    return out


def decide_rows(predictions: Predictions, rows: np.ndarray, threshold: Threshold = None) -> np.ndarray:
    """The predicted classes of samples ``rows`` (all predicted): :func:`predicted_classes` of those rows only."""
    scores = predictions.scores
    if not scores.shape[1]:
        return np.full(len(rows), NOT_PREDICTED, dtype=np.int64)
    if predictions.task == "binary" and threshold is not None and scores.shape[1] == 2:
        return (scores[rows, 1] >= float(threshold)).astype(np.int64)
    if len(rows) == len(scores):  # every row: no copy of the N x C scores (a second at 1.28M x 100)
        return np.argmax(scores, axis=1)
    return np.argmax(scores[rows], axis=1)


def predicted_class(predictions: Predictions, index: int, threshold: Threshold = None) -> int:
    """Sample ``index``'s row of :func:`predicted_classes`, deciding that sample alone (the browser's
    sample view: deciding a million samples to show one took seconds)."""
    if not predictions.done[index] or not predictions.scores.shape[1]:
        return NOT_PREDICTED
    scores = predictions.scores[index]
    if predictions.task == "binary" and threshold is not None and len(scores) == 2:
        return int(scores[1] >= float(threshold))
    return int(np.argmax(scores))


def predicted_tags(predictions: Predictions, threshold: Threshold = 0.5) -> np.ndarray:
    """N x L uint8 predicted labels of a multilabel model; rows without a prediction are all 0.

    Use ``predictions.done`` to tell "predicted nothing" from "not predicted".
    """
    limit = 0.5 if threshold is None else np.asarray(threshold, dtype=np.float32)
    scores = np.nan_to_num(predictions.scores, nan=-np.inf)
    return (scores >= limit).astype(np.uint8)
