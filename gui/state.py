"""The state the three panes share, with a signal for every change.

Panes take the AppState in their constructor and subscribe to its signals (napari's
evented-model pattern); they never talk to each other directly. The main window only wires.

Labels: when a dataset comes with its project (``core.labels``), ``state.dataset`` is a thin
copy of it whose ``targets`` / ``tags`` are the *edited* labels (-2 = "ignore", which every
metric drops like an unlabeled sample), kept in step after every edit, undo and redo; panes
read labels from ``state.dataset`` as before and repaint on ``labels_changed``. The dataset's
own labels stay reachable through :meth:`AppState.original_targets` / :meth:`original_tags`.
"""

from __future__ import annotations

import copy
import weakref
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.datasets import Dataset
from core.evaluation.selection import Selection
from core.inference import Predictions
from core.labels import Project, Step
from gui import heap

#: The score threshold of the object tasks until the user moves the slider (a run's best-F1 threshold is not known
#: before its metrics are computed; 0.5 is torchvision's and most tools' default display cut).
DEFAULT_SCORE_THRESHOLD = 0.5


@dataclass(eq=False, frozen=True)
class RunStatus:
    """What became of the latest model run, for the panes that show its results (not only the runner)."""

    model: str  # the model's name as the user knows it
    outcome: str  # "running", "finished", "failed" or "cancelled"
    message: str = ""  # why it failed, in the words of the error
    #: The run's Predictions, once the job got as far as making them (None when it failed before).
    predictions: object = None
    #: The run's model card (core.models.ModelCard): what made ``predictions`` (a checkpoint's card is found
    #: nowhere else; the sample view's saliency maps load the model from it).
    card: object = None

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


class AppState(QObject):
    dataset_changed = Signal(object)  # Dataset | None
    project_changed = Signal(object)  # core.labels.Project | None (emitted right after dataset_changed)
    #: Labels, review marks or notes changed (an edit, an undo, a redo, an import): the dataset
    #: indices touched (an int64 array, possibly empty when the step was in another split).
    labels_changed = Signal(object)
    predictions_changed = Signal(object)  # Predictions | None (also emitted while a run fills it)
    selection_changed = Signal(object)  # Selection | None (None = the whole dataset)
    sample_selected = Signal(object)  # dataset index of the sample the user is looking at; None: no sample
    threshold_changed = Signal(object)  # float | per-label array | None (binary and multilabel decisions)
    #: The object tasks' score threshold changed: detections scoring below it are hidden in every view.
    score_threshold_changed = Signal(float)
    run_status_changed = Signal(object)  # RunStatus | None: a run started, ended or failed
    #: A label-quality pass over the shown segmentation run's masks (core.analysis.mask_quality.RunLabelQuality)
    #: finished, or was dropped with its run (None).
    label_quality_changed = Signal(object)
    message = Signal(str)  # a line for the status bar
    error = Signal(str, str)  # title, text: shown in the window, never only in a terminal

    def __init__(self) -> None:
        super().__init__()
        self.dataset: Dataset | None = None
        #: The project store of the open dataset: edits, review marks, notes, runs (None: no store).
        self.project: Project | None = None
        self.predictions: Predictions | None = None
        #: The embeddings of the run behind ``predictions`` (N x D float16, read-only), when it computed them.
        self.embeddings: np.ndarray | None = None
        self.selection: Selection | None = None
        self.current: int | None = None
        #: Decision threshold for binary (score of class 1) and multilabel (per label) tasks;
        #: None = the default (argmax / 0.5). Decide through core.evaluation.decisions with it.
        self.threshold: float | np.ndarray | None = None
        #: Detections scoring below this are hidden everywhere (tiles, sample view, object grid, metrics views).
        self.score_threshold: float = DEFAULT_SCORE_THRESHOLD
        self.run_status: RunStatus | None = None
        #: The project-store run (core.labels.Run) that ``predictions`` were saved as; None: not saved.
        self.saved_run = None
        #: The label quality of ``predictions``' masks, once the metrics pane's Label quality view computed it.
        self.label_quality = None
        self._follower: _StepFollower | None = None

    def set_dataset(self, dataset: Dataset | None, project: Project | None = None) -> None:
        """Show ``dataset``; with its ``project`` the panes see the edited labels from now on."""
        self.project = project
        self._follower = _StepFollower(self, project) if project is not None else None
        self.dataset = labeled_view(dataset, project)
        self.predictions = None
        self.embeddings = None
        self.selection = None
        self.current = None
        self.threshold = None
        self.run_status = None  # a failure of a run on another dataset says nothing here
        self.saved_run = None
        self.set_label_quality(None)
        self.dataset_changed.emit(self.dataset)
        self.project_changed.emit(project)
        self.predictions_changed.emit(None)
        self.selection_changed.emit(None)
        heap.settle()  # the dataset's lists, out of the collections that scrolling would otherwise pause for

    def set_predictions(self, predictions: Predictions | None, embeddings: np.ndarray | None = None) -> None:
        """Show ``predictions``; ``embeddings``: its run's rows, when it has them (other predictions drop them)."""
        new = predictions is not self.predictions
        if new:  # the kept run and the label quality were of the run shown before
            self.saved_run = None
            self.set_label_quality(None)
        self.predictions = predictions
        self.embeddings = embeddings
        self.predictions_changed.emit(predictions)
        if new and predictions is not None:
            heap.settle()  # a run's lists (its sample ids), as for a dataset

    def set_saved_run(self, run, predictions) -> None:
        """``run`` (a core.labels.Run) keeps ``predictions``; ignored when other predictions are shown by now."""
        if run is None or predictions is self.predictions:
            self.saved_run = run

    def set_label_quality(self, quality) -> None:
        """The label quality of the shown run's masks (None: none known)."""
        if quality is None and self.label_quality is None:
            return
        self.label_quality = quality
        self.label_quality_changed.emit(quality)

    def set_run_status(self, status: RunStatus | None) -> None:
        self.run_status = status
        self.run_status_changed.emit(status)

    def set_threshold(self, threshold: float | np.ndarray | None) -> None:
        self.threshold = threshold
        self.threshold_changed.emit(threshold)

    def set_score_threshold(self, threshold: float) -> None:
        """Hide detections scoring below ``threshold`` (0..1) in every view; no signal when it is unchanged."""
        threshold = min(max(float(threshold), 0.0), 1.0)
        if threshold == self.score_threshold:
            return
        self.score_threshold = threshold
        self.score_threshold_changed.emit(threshold)

    def set_selection(self, selection: Selection | None) -> None:
        self.selection = selection
        self.selection_changed.emit(selection)

    def select_sample(self, index: int | None) -> None:
        self.current = index
        self.sample_selected.emit(index)

    # -- labels -----------------------------------------------------------------------
    def original_targets(self) -> np.ndarray | None:
        """The dataset's own class per sample, before any edit (for the metrics view's "original labels")."""
        if self.project is not None:
            return self.project.targets(original=True)
        return None if self.dataset is None or self.dataset.targets is None else self.dataset.targets.copy()

    def original_tags(self) -> np.ndarray | None:
        if self.project is not None:
            return self.project.tags(original=True)
        return None if self.dataset is None or self.dataset.tags is None else self.dataset.tags.copy()

    def metrics_dataset(self, original: bool = False) -> Dataset | None:
        """The dataset the metrics should score: edited labels with ignored and excluded samples
        unlabeled, or (``original``) the dataset's own labels."""
        if self.project is None:
            return self.dataset
        return self.project.label_dataset(original=original)

    def _follow(self, follower: _StepFollower, step: Step) -> None:
        project = follower.project
        if project is not self.project or self.dataset is None:
            return
        indices = follower.changed_indices(step)
        view = self.dataset
        fields = {c.field for c in step.changes if c.split == project.split}
        if view is not project.dataset:
            if "label" in fields and view.targets is not None:
                view.targets[:] = project.targets()
            # an object dataset's tags are the classes of its objects: a box edit changes them too
            if ("tags" in fields or (view.has_boxes and "boxes" in fields)) and view.tags is not None:
                view.tags[:] = project.tags()
        self.labels_changed.emit(indices)


class _StepFollower:
    """Relays the store's steps to the state; dropped (and so unsubscribed) with the project."""

    def __init__(self, state: AppState, project: Project) -> None:
        self.state = weakref.ref(state)
        self.project = project
        self.index: dict[str, int] | None = None
        project.store.subscribe(self.on_step)  # held weakly by the store

    def on_step(self, step: Step) -> None:
        state = self.state()
        if state is not None:
            state._follow(self, step)

    def changed_indices(self, step: Step) -> np.ndarray:
        """The dataset indices of the step's changes in this split, sorted."""
        ids = {c.sample_id for c in step.changes if c.split == self.project.split}
        if not ids:
            return np.zeros(0, dtype=np.int64)
        if self.index is None:
            # The project's own id -> index map when it has one (a second one costs ~100 MB at ImageNet size).
            found = getattr(getattr(self.project, "_state", None), "index", None)
            self.index = (
                found if isinstance(found, dict) else {s: i for i, s in enumerate(self.project.dataset.sample_ids)}
            )
        return np.asarray(sorted(self.index[s] for s in ids if s in self.index), dtype=np.int64)


def labeled_view(dataset: Dataset | None, project: Project | None) -> Dataset | None:
    """A shallow copy of ``dataset`` holding the project's edited labels (its own arrays, updated in place);
    of a box dataset, one whose ``load_boxes`` reads the project's edited objects live."""
    if dataset is not None and project is not None and dataset.has_boxes:
        return project.boxes_dataset()
    if dataset is None or project is None or (dataset.targets is None and dataset.tags is None):
        return dataset
    view = copy.copy(dataset)
    view.targets = project.targets()
    view.tags = project.tags()
    return view
