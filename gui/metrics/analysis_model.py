"""The analysis of the shown run, for the metrics pane's Analysis tab: label issues, duplicates, outliers, map.

:class:`AnalysisModel` builds a :class:`core.analysis.session.RunAnalysis` from the AppState (the open
split's edited labels, the run's predictions and embeddings) and runs it in a worker thread, stage by
stage: ``found(stage)`` is emitted as each part is known, so the label issues show in seconds while the map
is still being laid out. Only the latest request counts: a new run, another dataset or Cancel forgets the
running analysis (its thread stops at the next step). Row ``i`` of the analysis is sample ``i`` of the open
dataset.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker

from core import tasks
from core.analysis import Cancelled
from core.analysis.report import AnalysisInput
from core.analysis.session import RunAnalysis, StageProgress
from gui.state import AppState

#: Whether the model was trained on the open split: as its card says, or as the user says.
TRAINED_AUTO, TRAINED_YES, TRAINED_NO = "auto", "yes", "no"


class _Relay(QObject):
    """Carries a worker's progress and findings to the GUI thread (queued across threads)."""

    progress = Signal(int, object)  # generation, StageProgress
    found = Signal(int, str)  # generation, stage


class AnalysisModel(QObject):
    #: A new analysis started, or the last one was dropped (another run, another dataset): views clear.
    reset = Signal()
    #: A stage's findings are ready on ``analysis`` ("label issues", "duplicates", "map").
    found = Signal(str)
    progress = Signal(object)  # StageProgress
    finished = Signal()  # the analysis ended with every stage
    failed = Signal(str)  # it could not be made, in words
    cancelled = Signal()
    #: The analysis can start now (True) or not (False, with the reason in ``unavailable_reason()``).
    availability_changed = Signal(bool)
    #: The near-duplicate threshold moved: ``analysis.duplicates`` holds the new pairs.
    duplicates_changed = Signal()

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.analysis: RunAnalysis | None = None
        self._predictions = None  # the run ``analysis`` is of
        self.trained = TRAINED_AUTO
        self._generation = 0
        self._stop: threading.Event | None = None
        self._running = False
        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_progress)
        self._relay.found.connect(self._on_found)
        state.dataset_changed.connect(lambda _d: self._drop())
        state.predictions_changed.connect(self._on_predictions)

    # -- what can be analysed -----------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    def unavailable_reason(self) -> str:
        """Why no analysis can start now ("" when one can)."""
        state, preds = self.state, self.state.predictions
        if state.dataset is None:
            return "Open a dataset and run a model on it."
        if preds is None:
            return "Run a classifier with Embeddings ticked in the runner to analyse why it fails."
        kind = tasks.of(preds)
        if kind.per_pixel:
            return "The Analysis tab works on classifiers; a segmenter's masks are scored in its Label quality tab."
        if not preds.complete:
            return "The run is not complete: let it finish (or resume it) to analyse it."
        if state.embeddings is None:
            return "This run has no embeddings: tick Embeddings in the runner and run the model again."
        if len(state.embeddings) != len(preds):
            return "The embeddings do not belong to this run (their rows differ); run the model again."
        return ""

    def trained_split(self) -> str | None:
        """The split the run's model was trained on, as far as its card or the user says (None: unknown)."""
        dataset = self.state.dataset
        split = dataset.split if dataset is not None else None
        if self.trained == TRAINED_YES:
            return split
        if self.trained == TRAINED_NO:
            return None
        card = _card_of(self.state.predictions)
        return None if card is None or dataset is None else _card_trained_split(card, dataset)

    def set_trained(self, trained: str) -> None:
        """Say whether the model saw the open split in training (TRAINED_AUTO / _YES / _NO); restarts nothing."""
        self.trained = trained

    # -- running ------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Analyse the shown run in the background; False (and ``failed``) when it cannot be analysed."""
        reason = self.unavailable_reason()
        if reason:
            self.failed.emit(reason)
            return False
        self._drop()
        state = self.state
        dataset = state.metrics_dataset() or state.dataset
        analysis = RunAnalysis(self._input(dataset))
        self._predictions = state.predictions
        self.analysis = analysis
        self._generation += 1
        self._stop = stop = threading.Event()
        self._running = True
        self.reset.emit()
        generation, relay = self._generation, self._relay
        images = state.dataset

        def read_image(row: int):
            try:
                return images.load_image(row)
            except Exception:  # an unreadable image has no exact twin; the rest goes on
                return None

        def work() -> None:
            analysis.run(
                read_image=read_image,
                progress=lambda p: relay.progress.emit(generation, p),
                stop=stop.is_set,
                found=lambda stage: relay.found.emit(generation, stage),
            )

        worker = create_worker(work, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda _r, g=generation: self._on_returned(g))
        worker.errored.connect(lambda exc, g=generation: self._on_errored(g, exc))
        worker.start()
        return True

    def cancel(self) -> None:
        """Stop the running analysis at its next step; what it found so far stays shown."""
        if self._stop is not None:
            self._stop.set()
        if self._running:
            self._running = False
            self._generation += 1
            self.cancelled.emit()

    def set_max_distance(self, max_distance: float) -> None:
        """Re-find the duplicates at another cosine-distance threshold (the neighbours are kept)."""
        analysis = self.analysis
        if analysis is None or analysis.neighbours is None:
            return
        analysis.near_duplicates(max_distance)
        self.duplicates_changed.emit()

    def _input(self, dataset) -> AnalysisInput:
        state, preds = self.state, self.state.predictions
        kind = tasks.of(preds)
        n = len(preds)
        split = dataset.split or ""
        if kind.multilabel:
            labels = None if dataset.tags is None else np.asarray(dataset.tags)
        else:
            labels = None if dataset.targets is None else np.asarray(dataset.targets, dtype=np.int64)
        if labels is not None and not kind.has_labels(dataset):
            labels = None
        trained = self.trained_split()
        return AnalysisInput(
            sample_ids=list(preds.sample_ids),
            splits=np.full(n, split, dtype=object).astype(str),
            classes=list(preds.classes),
            embeddings=state.embeddings,
            probabilities=preds.scores,
            predicted=preds.done.copy(),
            labels=labels,
            trained=np.full(n, trained is not None and trained == split),
        )

    # -- the worker's news --------------------------------------------------------------------------
    def _on_progress(self, generation: int, progress: StageProgress) -> None:
        if generation == self._generation and self._running:
            self.progress.emit(progress)

    def _on_found(self, generation: int, stage: str) -> None:
        if generation == self._generation:
            self.found.emit(stage)

    def _on_returned(self, generation: int) -> None:
        if generation == self._generation and self._running:
            self._running = False
            self.finished.emit()

    def _on_errored(self, generation: int, exc: Exception) -> None:
        if generation != self._generation or not self._running:
            return
        self._running = False
        if isinstance(exc, Cancelled):
            self.cancelled.emit()
        else:
            self.failed.emit(str(exc) or type(exc).__name__)

    def _on_predictions(self, predictions) -> None:
        """Another run (or one still filling) is shown: an analysis of the earlier one is dropped."""
        if self.analysis is not None and predictions is not self._predictions:
            self._drop()
        self.availability_changed.emit(not self.unavailable_reason())

    def _drop(self) -> None:
        """Forget the analysis (a new run or dataset): a running one stops at its next step."""
        if self._stop is not None:
            self._stop.set()
        self._generation += 1
        was = self.analysis is not None or self._running
        self._running = False
        self.analysis = None
        if was:
            self.reset.emit()


def _card_of(predictions):
    """The model card the run's model name resolves to, or None (a model of a session long gone)."""
    if predictions is None or not predictions.model:
        return None
    from core.models import ModelError
    from core.models.loading import resolve_model

    try:
        return resolve_model(predictions.model)
    except (ModelError, OSError, ValueError):
        return None


def _card_trained_split(card, dataset) -> str | None:
    """The split the card says its model was trained on; "train" when the card names this dataset as its own."""
    if card.training.get("split"):
        return str(card.training["split"])
    if card.dataset and "train" in dataset.splits:
        own = Path(card.dataset)
        if not own.is_absolute():
            own = Path(__file__).resolve().parents[2] / own
        if own.resolve() == Path(dataset.root).resolve():
            return "train"
    return None
