"""What the metrics views of a detection run show, computed in the background from the AppState.

One :class:`DetectionResults` holds the run's metrics.json dict (``core.evaluation.detection_files.summary_of``, what
`python main.py evaluate` writes) and the :class:`~core.evaluation.detection.DetectionEvaluation` behind it, which
turns any number on screen back into its objects (a Selection carrying ObjectRefs).

Two costs, two paths: a change of the predictions (a run filling) or of the labels recomputes everything (COCO's
mAP family and TIDE's fixes run COCOeval several times); a change of the score or IoU threshold only re-matches
the images at the new operating point (confusion, error counts, per-class and per-image counts), keeping the
numbers that sweep every score (AP, PR curves, mAP gained). Both run in a worker, latest request wins, so a
5,000-image run keeps the window responsive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.evaluation.selection import ObjectRefs, Selection
from gui.metrics.jobs import BackgroundJob
from gui.state import AppState
from gui.throttle import throttled

#: The metrics pane's tab titles for the views of a detection run (``core.tasks`` ``views``), in order.
DETECTION_VIEWS = ("Detection", "PR curves", "Confusion", "Error types", "Per image")
#: A localization run (one box per image): the overview and the images.
LOCALIZATION_VIEWS = ("Detection", "Per image")
#: A running detector reports every batch: its numbers are recomputed at most this often (and once at its end).
RECOMPUTE_EVERY_MS = 1000
#: The IoU a detection needs with its object to count as right, until the user picks another.
DEFAULT_IOU = 0.5


def is_detection_run(predictions) -> bool:
    """Predictions of boxes (detection, localization, instance segmentation)."""
    from core.inference.detections import DetectionPredictions

    return isinstance(predictions, DetectionPredictions)


@dataclass(frozen=True)
class DetectionResults:
    """A run's numbers (the metrics.json dict) and the evaluation that maps them back to objects."""

    summary: dict[str, Any]
    evaluation: Any  # core.evaluation.detection.DetectionEvaluation
    #: Per evaluated image (``evaluation.images`` order): "tp", "fp", "fn" and each TIDE kind.
    counts: dict[str, np.ndarray]
    #: C x 6: per class, TIDE's kinds at the operating point (the detections predicted as the class; the missed
    #: objects of the class).
    class_errors: np.ndarray

    @property
    def classes(self) -> list[str]:
        return list(self.summary["classes"])

    @property
    def score_threshold(self) -> float:
        return float(self.summary["score_threshold"])

    @property
    def iou_threshold(self) -> float:
        return float(self.summary["iou_threshold"])

    def worst_order(self) -> np.ndarray:
        """Positions of the evaluated images, most FP + FN first, then most FN."""
        return self.evaluation.worst_order()


def evaluate_run(dataset, predictions, iou_threshold: float, score_threshold: float | None) -> DetectionResults:
    """Everything, as `evaluate` computes it (worker thread). ``score_threshold`` None: the best-F1 score."""
    from core.evaluation.detection import evaluate_detection
    from core.evaluation.detection_files import summary_of

    evaluation = evaluate_detection(dataset, predictions, iou_threshold=iou_threshold, score_threshold=score_threshold)
    summary = summary_of(dataset, predictions, evaluation)
    return DetectionResults(summary, evaluation, evaluation.counts(), errors_by_class(evaluation))


def reoperate(
    results: DetectionResults, dataset, predictions, iou_threshold: float, score_threshold: float | None
) -> DetectionResults:
    """``results`` at another operating point: the numbers at one score and IoU threshold recomputed, those that
    sweep every score (AP, PR curves, mAP gained per error kind) kept (worker thread)."""
    from core.evaluation.detection import evaluate_detection

    evaluation = evaluate_detection(dataset, predictions, iou_threshold=iou_threshold, score_threshold=score_threshold)
    counts = evaluation.counts()
    matrix = evaluation.confusion_matrix()
    summary = dict(results.summary)
    at = {"iou_threshold": evaluation.iou_threshold, "score_threshold": evaluation.score_threshold}
    summary.update(at)
    summary["per_class"] = class_numbers(matrix, evaluation.classes)
    summary["confusion"] = {**summary["confusion"], **at, "matrix": matrix.tolist()}
    kinds = [kind for kind in summary["errors"]["counts"]]
    summary["errors"] = {**summary["errors"], **at, "counts": {kind: int(counts[kind].sum()) for kind in kinds}}
    return replace(
        results, summary=summary, evaluation=evaluation, counts=counts, class_errors=errors_by_class(evaluation)
    )


def errors_by_class(evaluation) -> np.ndarray:
    """C x 6 counts of TIDE's kinds (``ERROR_KINDS`` order) per class, at the evaluation's operating point."""
    from core.metrics import detection_analysis as da
    from core.metrics import detection_errors as de

    num_classes, missed = evaluation.num_classes, de.ERROR_KINDS.index("missed")
    codes, pred_classes, missed_classes = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for k, (truth, image) in enumerate(zip(evaluation.truths, evaluation.errors)):
        codes.append(np.asarray(image.pred_error, dtype=np.int64))
        pred_classes.append(np.asarray(evaluation.detections[k][2], dtype=np.int64)[evaluation.kept[k]])
        missed_classes.append(np.asarray(da.truth_arrays(truth)[1], dtype=np.int64)[image.missed])
    codes, pred_classes, missed_classes = (np.concatenate(a) for a in (codes, pred_classes, missed_classes))
    out = np.zeros((num_classes, len(de.ERROR_KINDS)), dtype=np.int64)
    errors = (codes >= 0) & (codes != missed)
    np.add.at(out, (pred_classes[errors], codes[errors]), 1)
    out[:, missed] = np.bincount(missed_classes, minlength=num_classes)[:num_classes]
    return out


def class_numbers(matrix: np.ndarray, classes: list[str]) -> dict[str, dict[str, float]]:
    """Per class at the operating point, from the confusion matrix with background (rows truth, columns predicted):
    objects (row sum), detections (column sum), TP (diagonal), FP, FN, precision, recall, F1 (None where 0/0)."""
    matrix = np.asarray(matrix, dtype=np.int64)
    out = {}
    for c, name in enumerate(classes):
        tp, objects, detections = int(matrix[c, c]), int(matrix[c].sum()), int(matrix[:, c].sum())
        out[name] = {
            "objects": objects,
            "detections": detections,
            "tp": tp,
            "fp": detections - tp,
            "fn": objects - tp,
            "precision": tp / detections if detections else None,
            "recall": tp / objects if objects else None,
            "f1": 2 * tp / (objects + detections) if objects + detections else None,
        }
    return out


def defined(value) -> bool:
    """A number to show: not None, not NaN, not COCOeval's -1 (undefined: no object of the kind)."""
    return isinstance(value, (int, float)) and not math.isnan(value) and value >= 0


def joined(name: str, selections: list[Selection]) -> Selection:
    """One Selection of the objects of several (a class's TPs, FPs and FNs together)."""
    refs = [s.objects for s in selections if s.objects is not None and len(s.objects)]
    if not refs:
        return Selection.of_objects(name, ObjectRefs.of([], [], []))
    return Selection.of_objects(
        name,
        ObjectRefs.of(
            np.concatenate([r.samples for r in refs]),
            np.concatenate([r.sources for r in refs]),
            np.concatenate([r.objects for r in refs]),
            [kind for r in refs for kind in (r.kinds or ("",) * len(r))],
        ),
    )


class DetectionModel(QObject):
    """Follows the state's dataset, predictions, labels and score threshold; emits ``changed`` with new results."""

    changed = Signal()  # results (or their absence) changed
    busy_changed = Signal(bool)  # a computation started / ended

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.results: DetectionResults | None = None
        self.iou_threshold = DEFAULT_IOU
        self.failure = ""  # why the last computation failed, in the words of its error
        self.job = BackgroundJob(self)
        self.job.finished.connect(self._ready)
        self.job.failed.connect(self._failed)
        self._full_pending = False  # the job in flight recomputes everything (not only the operating point)
        #: The complete run whose best-F1 score the slider was moved to; until then (a new run, a run filling)
        #: a full computation takes the run's best-F1 score and moves the state's threshold there.
        self._defaulted_for = None
        self._computing_default = False
        self._moving_slider = False
        # throttled, not debounced: a detector reporting a batch every 100 ms still shows its numbers as it goes
        self._recompute_soon = throttled(self.recompute, timeout=RECOMPUTE_EVERY_MS)
        state.dataset_changed.connect(self._dataset_changed)
        state.predictions_changed.connect(lambda _p: self._recompute_soon())
        state.labels_changed.connect(lambda _i: self._recompute_soon())
        state.score_threshold_changed.connect(self._threshold_moved)

    # -- what there is ---------------------------------------------------------------
    @property
    def predictions(self):
        predictions = self.state.predictions
        return predictions if is_detection_run(predictions) else None

    @property
    def dataset(self):
        return self.state.metrics_dataset()

    def scorable(self, dataset=None) -> bool:
        """A detection run on ``dataset`` (default: the state's, as scored), the run's classes being its classes."""
        dataset = self.dataset if dataset is None else dataset
        predictions = self.predictions
        return (
            dataset is not None
            and predictions is not None
            and bool(getattr(dataset, "has_boxes", True))
            and list(predictions.classes) == list(dataset.classes)
            and bool(np.any(predictions.done))
        )

    @property
    def busy(self) -> bool:
        return self.job.busy

    @property
    def recompute_pending(self) -> bool:
        """A change (a run's batch, a box) is waiting for the next computation (at most a second)."""
        return self._recompute_soon.pending

    def drop_pending(self) -> None:
        """Forget a change waiting for the next computation (the pane is closing)."""
        self._recompute_soon.cancel()

    @property
    def score_threshold(self) -> float | None:
        """The state's score threshold; None (the run's best-F1 score) for a run not yet defaulted."""
        return None if self.predictions is not self._defaulted_for else self.state.score_threshold

    @property
    def finding_best_score(self) -> bool:
        """A computation is on its way that will set the score threshold to the run's best-F1 score."""
        return self.job.busy and self._computing_default

    # -- computing -----------------------------------------------------------------
    def _dataset_changed(self, _dataset) -> None:
        self.job.cancel()
        self.results, self.failure, self._full_pending = None, "", False
        self.busy_changed.emit(False)  # a computation dropped with its dataset never reports
        self.changed.emit()
        self._recompute_soon()

    def recompute(self) -> None:
        """Everything, in the background (the predictions or the labels changed)."""
        dataset = self.dataset  # with a project, a view of the edited boxes: made once per computation
        if not self.scorable(dataset):
            self.job.cancel()
            self._full_pending = False
            self.busy_changed.emit(False)
            if self.results is not None or self.failure:
                self.results, self.failure = None, ""
                self.changed.emit()
            return
        self._full_pending = True
        self._computing_default = self.score_threshold is None
        self.job.submit(evaluate_run, dataset, self.predictions, self.iou_threshold, self.score_threshold)
        self.busy_changed.emit(True)

    def use_best_f1(self) -> None:
        """Back to the run's best-F1 score: computed again, and the state's threshold moved there."""
        self._defaulted_for = None
        self.recompute()

    def _threshold_moved(self, _threshold) -> None:
        if not self._moving_slider:  # not the best-F1 default just computed: the user's threshold
            self.reoperate()

    def reoperate(self) -> None:
        """Only the numbers at the operating point (the score or IoU threshold changed), in the background."""
        dataset = self.dataset
        if self.results is None or not self.scorable(dataset):
            return
        if self.job.busy and self._full_pending:
            # a full computation is on its way: let it start again at the new operating point
            self.recompute()
            return
        arguments = (self.results, dataset, self.predictions, self.iou_threshold, self.score_threshold)
        self.job.submit(reoperate, *arguments)
        self.busy_changed.emit(True)

    def set_iou_threshold(self, value: float) -> None:
        if not math.isclose(value, self.iou_threshold):
            self.iou_threshold = float(value)
            self.reoperate()

    def _ready(self, results: DetectionResults) -> None:
        self.results, self.failure, self._full_pending = results, "", False
        if self._computing_default:  # the slider goes to the run's best-F1 score; the user moves it from there
            self._computing_default = False
            predictions = self.predictions
            if predictions is not None and predictions.complete:
                self._defaulted_for = predictions
            self._moving_slider = True
            try:
                self.state.set_score_threshold(results.score_threshold)
            finally:
                self._moving_slider = False
        self.busy_changed.emit(False)
        self.changed.emit()

    def _failed(self, text: str) -> None:
        self.failure, self._full_pending = text, False
        self.busy_changed.emit(False)
        self.changed.emit()
        self.state.message.emit(f"Cannot compute the detection metrics: {text}")

    # -- selections ----------------------------------------------------------------
    def select(self, selection: Selection) -> None:
        self.state.set_selection(selection)
        count = 0 if selection.objects is None else len(selection.objects)
        self.state.message.emit(f"{selection.name}: {count:,} objects in {len(selection):,} images")

    def select_class(self, class_index: int) -> None:
        """Every object of a class at the operating point: its TPs, FPs and missed objects."""
        evaluation = self.results.evaluation
        parts = [evaluation.outcome_selection(outcome, class_index) for outcome in ("TP", "FP", "FN")]
        self.select(joined(f"objects of {self.results.classes[class_index]}", parts))

    def select_cell(self, row: int, column: int) -> None:
        self.select(self.results.evaluation.cell_selection(row, column))

    def select_errors(self, kind: str, class_index: int | None = None) -> None:
        self.select(self.results.evaluation.error_selection(kind, class_index))
