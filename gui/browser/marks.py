"""Right and wrong, per sample, from a model's scores under the current threshold.

Multiclass: the argmax. Binary: class 1 when its score reaches the threshold. Multilabel:
the labels whose scores reach it, right only when they equal the true labels exactly. Every
decision goes through core.evaluation.decisions, so the browser agrees with the metrics view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.datasets import Dataset
from core.evaluation.decisions import Threshold, predicted_classes, predicted_tags
from core.evaluation.selection import multilabel_outcomes, outcomes
from core.inference import Predictions


@dataclass
class Marks:
    outcome: np.ndarray  # N int8: core.evaluation.selection RIGHT / WRONG / UNKNOWN
    predicted: np.ndarray | None = None  # N int64 predicted class (single-label tasks)
    confidence: np.ndarray | None = None  # N float32 score of the predicted class, NaN when none
    tags: np.ndarray | None = None  # N x L uint8 predicted labels (multilabel)


def marks_for(dataset: Dataset | None, predictions: Predictions | None, threshold: Threshold = None) -> Marks | None:
    """The marks of ``predictions`` on ``dataset``, None when they do not belong to it or there are none."""
    if dataset is None or predictions is None or len(predictions) != len(dataset):
        return None
    if dataset.tags is not None:
        if predictions.task != "multilabel" or predictions.scores.shape[1] != len(dataset.classes):
            return None
        tags = predicted_tags(predictions, threshold)
        return Marks(multilabel_outcomes(dataset.tags, tags, predictions.done), tags=tags)
    if dataset.task == "segmentation":
        return None  # predicted masks are not class scores
    predicted = predicted_classes(predictions, threshold)
    confidence = np.full(len(predicted), np.nan, dtype=np.float32)
    rows = np.flatnonzero(predicted >= 0)
    confidence[rows] = predictions.scores[rows, predicted[rows]]
    targets = dataset.targets if dataset.targets is not None else np.full(len(dataset), -1)
    return Marks(outcomes(targets, predicted), predicted, confidence)


def differences_text(names: list[str], missed: list[int], extra: list[int]) -> str:
    """ "missed: A, B · extra: C" for a tooltip."""
    parts = []
    if missed:
        parts.append("missed: " + ", ".join(names[c] for c in missed))
    if extra:
        parts.append("extra: " + ", ".join(names[c] for c in extra))
    return " · ".join(parts) or "all tags right"
