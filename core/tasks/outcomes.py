"""What a run says about each sample of a dataset, by task: the browser's marks and predicted masks.

Classifiers (:func:`marks_for`): right and wrong per sample from the scores under the current threshold.
Multiclass: the argmax. Binary: class 1 when its score reaches the threshold. Multilabel: the labels whose
scores reach it, right only when they equal the true labels exactly. Every decision goes through
core.evaluation.decisions, so the browser agrees with the metrics view. Segmenters
(:func:`segmentation_run`): the run itself, whose predicted masks are shown and re-scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.datasets import Dataset
from core.evaluation.decisions import Threshold, predicted_classes, predicted_tags
from core.evaluation.selection import multilabel_outcomes, outcomes
from core.inference import Predictions
from core.tasks import known


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
        if not _is(predictions, "multilabel") or predictions.scores.shape[1] != len(dataset.classes):
            return None
        tags = predicted_tags(predictions, threshold)
        return Marks(multilabel_outcomes(dataset.tags, tags, predictions.done), tags=tags)
    if _is(dataset, "per_pixel"):
        return None  # predicted masks are not class scores
    predicted = predicted_classes(predictions, threshold)
    confidence = np.full(len(predicted), np.nan, dtype=np.float32)
    rows = np.flatnonzero(predicted >= 0)
    confidence[rows] = predictions.scores[rows, predicted[rows]]
    targets = dataset.targets if dataset.targets is not None else np.full(len(dataset), -1)
    return Marks(outcomes(targets, predicted), predicted, confidence)


def segmentation_run(dataset: Dataset | None, predictions) -> object | None:
    """``predictions`` when they are a segmentation run (a predicted mask per image) over ``dataset``'s
    samples, else None."""
    if dataset is None or predictions is None or not _is(predictions, "per_pixel"):
        return None
    return predictions if len(predictions) == len(dataset) else None


def _is(thing, attribute: str) -> bool:
    """Whether ``thing``'s task (if CV Lens knows it) has the boolean ``attribute`` (``per_pixel``...)."""
    task = known(thing)
    return task is not None and getattr(task, attribute)


def differences_text(names: list[str], missed: list[int], extra: list[int]) -> str:
    """ "missed: A, B · extra: C" for a tooltip."""
    parts = []
    if missed:
        parts.append("missed: " + ", ".join(names[c] for c in missed))
    if extra:
        parts.append("extra: " + ", ".join(names[c] for c in extra))
    return " · ".join(parts) or "all tags right"
