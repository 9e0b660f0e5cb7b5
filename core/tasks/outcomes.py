"""What a run says about each sample of a dataset, by task: the browser's marks and predicted masks.

Classifiers (:func:`marks_for`): right and wrong per sample from the scores under the current threshold.
Multiclass: the argmax. Binary: class 1 when its score reaches the threshold. Multilabel: the labels whose
scores reach it, right only when they equal the true labels exactly. Every decision goes through
core.evaluation.decisions, so the browser agrees with the metrics view. Segmenters
(:func:`segmentation_run`): the run itself, whose predicted masks are shown and re-scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.datasets import Dataset
from core.evaluation.decisions import Threshold, decide_rows, predicted_classes, predicted_tags
from core.evaluation.selection import multilabel_outcomes, outcomes
from core.inference import NOT_PREDICTED, Predictions
from core.tasks import known


@dataclass
class Marks:
    outcome: np.ndarray  # N int8: core.evaluation.selection RIGHT / WRONG / UNKNOWN
    predicted: np.ndarray | None = None  # N int64 predicted class (single-label tasks)
    confidence: np.ndarray | None = None  # N float32 score of the predicted class, NaN when none
    tags: np.ndarray | None = None  # N x L uint8 predicted labels (multilabel)
    #: Single-label: the predictions and threshold decided, and which samples were (``done`` then), so that the
    #: next :func:`marks_for` over the same ones decides only the samples predicted since.
    source: tuple | None = field(default=None, repr=False, compare=False)
    decided: np.ndarray | None = field(default=None, repr=False, compare=False)


def marks_for(
    dataset: Dataset | None, predictions: Predictions | None, threshold: Threshold = None, previous: Marks | None = None
) -> Marks | None:
    """The marks of ``predictions`` on ``dataset``, None when they do not belong to it or there are none.

    ``previous``: the marks this call updates. When they came from the same predictions at the same threshold
    (a run progressing, a label edited), only the samples predicted since are decided again: at 1.28M samples
    x 100 classes the argmax of every row took half a second of the GUI thread per progress tick; the
    outcomes against the (possibly edited) labels are always recomputed.
    """
    if dataset is None or predictions is None or len(predictions) != len(dataset):
        return None
    if dataset.tags is not None:
        if not _is(predictions, "multilabel") or predictions.scores.shape[1] != len(dataset.classes):
            return None
        tags = predicted_tags(predictions, threshold)
        return Marks(multilabel_outcomes(dataset.tags, tags, predictions.done), tags=tags)
    if _is(dataset, "per_pixel"):
        return None  # predicted masks are not class scores
    done = predictions.done.copy()  # one snapshot: a running job fills it on its own thread
    source = (predictions, threshold)
    if _continues(previous, source, done):
        rows = np.flatnonzero(done & ~previous.decided)
        predicted, confidence = previous.predicted.copy(), previous.confidence.copy()
        predicted[rows] = decide_rows(predictions, rows, threshold)
    else:
        predicted = predicted_classes(predictions, threshold)
        predicted[~done] = NOT_PREDICTED  # decided from the same snapshot as `decided`
        confidence = np.full(len(predicted), np.nan, dtype=np.float32)
        rows = np.flatnonzero(predicted >= 0)
    confidence[rows] = predictions.scores[rows, predicted[rows]]
    targets = dataset.targets if dataset.targets is not None else np.full(len(dataset), -1)
    return Marks(outcomes(targets, predicted), predicted, confidence, source=source, decided=done)


def _continues(previous: Marks | None, source: tuple, done: np.ndarray) -> bool:
    """Whether ``previous`` decided the same predictions at the same threshold, every sample it decided still
    predicted (a run restarted in place has undone them)."""
    if previous is None or previous.source is None or previous.source[0] is not source[0]:
        return False
    before, now = previous.source[1], source[1]
    same = before is now or (np.ndim(before) == 0 and np.ndim(now) == 0 and before == now)
    return bool(same) and len(previous.decided) == len(done) and not (previous.decided & ~done).any()


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
