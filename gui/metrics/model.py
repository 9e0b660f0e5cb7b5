"""What the metrics view shows, computed from the AppState; the views subscribe to its signals.

The numbers come from ``core.evaluation.classification`` (the same functions `python main.py evaluate` calls):
``decision_report`` on the GUI thread whenever the threshold or beta moves (it is fast), and
``score_report`` (a sort per class) in a background job once per change of the predictions.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from core import tasks
from core.evaluation import classification
from core.evaluation.selection import Selection
from gui.metrics.jobs import BackgroundJob
from gui.state import AppState
from gui.throttle import debounced

#: Many predictions_changed in a burst (a running model) give one recomputation.
RECOMPUTE_DELAY_MS = 50


class MetricsModel(QObject):
    decisions_changed = Signal()  # counts and reports: threshold, beta or predictions changed
    scores_changed = Signal()  # AP / AUC per class, top-k, calibration
    task_changed = Signal()  # another dataset (or none)

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.beta = 1.0
        self.zero_division = 0.0  # what an undefined (0/0) value counts as in the averages; NaN: left out
        self.base_threshold = 0.5
        self.overrides: dict[int, float] = {}  # multilabel: per-label thresholds that differ from the base
        self.decisions: dict | None = None
        self.scores: dict | None = None
        self._sent = None  # the threshold this model last handed to the state
        #: Score the dataset's own labels instead of the user's edits (the "original labels" switch).
        self.original = False
        self._scored = None  # the dataset as scored (edited labels, ignored/excluded unlabeled), cached
        self.score_job = BackgroundJob(self)
        self.score_job.finished.connect(self._scores_ready)
        self.score_job.failed.connect(lambda text: state.error.emit("Cannot compute the curves", text))
        self.rank_job = BackgroundJob(self)  # selections that need losses computed first
        self.rank_job.finished.connect(lambda result: self.select(*result))
        self.rank_job.failed.connect(lambda text: state.error.emit("Cannot rank the samples", text))
        self._recompute_soon = debounced(self.recompute, timeout=RECOMPUTE_DELAY_MS)
        state.dataset_changed.connect(self._dataset_changed)
        state.labels_changed.connect(self._labels_changed)
        state.predictions_changed.connect(lambda _p: self._recompute_soon())
        state.threshold_changed.connect(self._threshold_changed)

    # -- what there is -------------------------------------------------------------
    @property
    def dataset(self):
        """The dataset as scored: with a project, the edited labels (or the original ones when asked)."""
        if self.state.project is None or self.state.dataset is None:
            return self.state.dataset
        if self._scored is None:
            self._scored = self.state.metrics_dataset(original=self.original)
        return self._scored

    def set_original(self, original: bool) -> None:
        self.original = bool(original)
        self._scored = None
        self.recompute()

    @property
    def recompute_pending(self) -> bool:
        """A change (a run's batch, a label) is waiting to be scored."""
        return self._recompute_soon.pending

    def drop_pending(self) -> None:
        """Forget a change waiting to be scored (the pane is closing)."""
        self._recompute_soon.cancel()

    def _labels_changed(self, _indices) -> None:
        self._scored = None
        if not self.original:  # the original labels do not move with edits
            self._recompute_soon()

    @property
    def predictions(self):
        return self.state.predictions

    @property
    def task(self) -> str | None:
        return None if self.dataset is None else self.dataset.task

    @property
    def kind(self) -> tasks.Task | None:
        """The open dataset's task (``core.tasks``); None with no dataset or one of a task CV Lens does not know."""
        return tasks.known(self.dataset)

    def classifies(self) -> bool:
        """The open dataset is one the classification views score (binary, multiclass, multilabel)."""
        return self.kind is not None and self.kind.classifies

    def multilabel(self) -> bool:
        return self.kind is not None and self.kind.multilabel

    @property
    def classes(self) -> list[str]:
        return [] if self.dataset is None else list(self.dataset.classes)

    def has_threshold(self) -> bool:
        return self.kind is not None and self.kind.thresholded

    def has_labels(self) -> bool:
        ds = self.dataset
        return ds is not None and (ds.tags is not None if self.multilabel() else ds.targets is not None)

    def ready(self) -> bool:
        """A classification dataset with labels, and predictions for it."""
        return self.classifies() and self.has_labels() and self.predictions is not None

    def has_numbers(self) -> bool:
        """Ready, and at least one sample has both a prediction and a label: else every metric is NaN
        (a run that failed, or that has not finished its first batch), and nothing is computed."""
        return self.ready() and len(self.rows()) > 0

    # -- controls ------------------------------------------------------------------
    def threshold_of(self, label: int | None = None) -> float:
        """The threshold in force (of one label, for multilabel)."""
        return self.overrides.get(label, self.base_threshold)

    def set_beta(self, beta: float) -> None:
        self.beta = float(beta)
        self.recompute_decisions()

    def set_zero_division(self, zero_division: float) -> None:
        self.zero_division = float(zero_division)
        self.recompute_decisions()

    def set_threshold(self, threshold: float, label: int | None = None) -> None:
        """The threshold for all labels (``label`` None) or a per-label override (None removes it)."""
        if label is None:
            self.base_threshold = float(classification.snap_threshold(threshold))
        elif threshold is None:
            self.overrides.pop(label, None)
        else:
            self.overrides[label] = float(classification.snap_threshold(threshold))
        self._send()

    def _send(self) -> None:
        if self.kind is not None and self.kind.threshold_per_class and self.overrides:
            values = np.full(len(self.classes), self.base_threshold)
            values[list(self.overrides)] = list(self.overrides.values())
            self._sent = values
        else:
            self._sent = self.base_threshold
        self.state.set_threshold(self._sent)

    def _threshold_changed(self, threshold) -> None:
        if threshold is not self._sent:  # set elsewhere: adopt it
            if threshold is None or np.ndim(threshold) == 0:
                self.base_threshold, self.overrides = 0.5 if threshold is None else float(threshold), {}
            else:
                values = np.asarray(threshold, dtype=np.float64)
                self.overrides = {j: float(v) for j, v in enumerate(values) if v != self.base_threshold}
        self.recompute_decisions()

    # -- computing -----------------------------------------------------------------
    def _dataset_changed(self, _dataset) -> None:
        self._scored = None
        self.base_threshold, self.overrides, self._sent = 0.5, {}, None
        self.decisions = self.scores = None
        self.score_job.cancel()
        self.task_changed.emit()
        self._recompute_soon()

    def recompute(self) -> None:
        """Everything: the decisions now, the scores in the background."""
        self.recompute_decisions()
        self.scores = None
        if self.decisions is not None:
            self.score_job.submit(classification.score_report, self.dataset, self.predictions, self.beta)
        else:
            self.score_job.cancel()
        self.scores_changed.emit()

    def recompute_decisions(self) -> None:
        if self.has_numbers():
            self.decisions = classification.decision_report(
                self.dataset, self.predictions, self.state.threshold, self.beta, self.zero_division
            )
        else:
            self.decisions = None
        self.decisions_changed.emit()

    def _scores_ready(self, scores: dict) -> None:
        self.scores = scores
        self.scores_changed.emit()

    # -- samples -------------------------------------------------------------------
    def rows(self) -> np.ndarray:
        """Indices of the samples that have both a prediction and a label."""
        return classification.scored_rows(self.dataset, self.predictions)

    def binary_problem(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, truth, score) of one yes/no question: binary: class 1; multiclass: class ``index`` vs the
        rest; multilabel: label ``index``."""
        rows = self.rows()
        scores = self.predictions.scores[rows, index]
        if self.multilabel():
            return rows, self.dataset.tags[rows, index] > 0, scores
        return rows, self.dataset.targets[rows] == index, scores

    def select(self, name: str, indices, ordered: bool = False) -> None:
        self.state.set_selection(Selection.of(name, indices, ordered=ordered))

    def select_class(self, index: int) -> None:
        """The samples of a class (multilabel: carrying the label)."""
        ds = self.dataset
        members = ds.tags[:, index] > 0 if self.multilabel() else ds.targets == index
        self.select(f"label = {ds.classes[index]}", np.flatnonzero(members))

    def select_hardest(self, index: int) -> None:
        """The samples of a class, highest loss first (ranked in the background: losses may import torch)."""
        self.rank_job.submit(_hardest, self.dataset, self.predictions, index)


def _hardest(dataset, predictions, index: int) -> tuple[str, np.ndarray, bool]:
    from core.evaluation.ranking import hardest

    return f"hardest of {dataset.classes[index]} (by loss)", hardest(dataset, predictions, index), True
