"""The analysis of the shown run, for the metrics pane's Analysis tab: label issues, duplicates, outliers, map.

:class:`AnalysisModel` builds a :class:`core.analysis.session.RunAnalysis` from the AppState (the open
split's edited labels, the run's predictions and embeddings) and runs it in a worker thread, stage by
stage: ``found(stage)`` is emitted as each part is known, so the label issues show in seconds while the map
is still being laid out. Only the latest request counts: a new run, another dataset or Cancel forgets the
running analysis (its thread stops at the next step). Row ``i`` of the analysis is sample ``i`` of the open
dataset.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QObject, Signal

from core.analysis.projection import pick_method
from core.analysis.rows import AnalysisRows
from core.analysis.session import STAGES, RunAnalysis, StageProgress
from core.labels import StoreError
from core.labels.analysis_runs import analysis_rows
from core.models.cards import trained_split
from gui.metrics.jobs import StoppableRun
from gui.state import AppState

#: Whether the model was trained on the open split: as its card says, or as the user says.
TRAINED_AUTO, TRAINED_YES, TRAINED_NO = "auto", "yes", "no"


class _Relay(QObject):
    """Carries a worker's progress and findings to the GUI thread (queued across threads)."""

    created = Signal(int, object, bool)  # generation, RunAnalysis (before its first finding), its map was kept
    progress = Signal(int, object)  # generation, StageProgress
    found = Signal(int, str)  # generation, stage


class AnalysisModel(StoppableRun):
    """The analysis of the shown run (``reset``: a new analysis started, or the last one was dropped with its
    run or dataset; ``finished`` / ``failed`` / ``cancelled`` as StoppableRun says)."""

    #: The analysis exists (its rows are known, nothing found yet): ``analysis`` is set.
    created = Signal()
    #: A stage's findings are ready on ``analysis`` ("label issues", "duplicates", "map").
    found = Signal(str)
    progress = Signal(object)  # StageProgress
    #: The analysis can start now (True) or not (False, with the reason in ``unavailable_reason()``).
    availability_changed = Signal(bool)
    #: The near-duplicate threshold moved: ``analysis.duplicates`` holds the new pairs.
    duplicates_changed = Signal()

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.analysis: RunAnalysis | None = None
        self._rows: AnalysisRows | None = None
        self._predictions = None  # the run ``analysis`` is of
        self.trained = TRAINED_AUTO
        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_progress)
        self._relay.found.connect(self._on_found)
        self._relay.created.connect(self._on_created)
        state.dataset_changed.connect(lambda _d: self._drop())
        state.predictions_changed.connect(self._on_predictions)

    # -- what can be analysed -----------------------------------------------------------------
    @property
    def rows(self) -> AnalysisRows | None:
        """Where each row of ``analysis`` lies (the open split, or another split read by id): one for every view,
        so another split is opened once."""
        analysis = self.analysis
        if analysis is None:
            return None
        if self._rows is None or self._rows.input is not analysis.input:
            self._rows = AnalysisRows(self.state.dataset, analysis.input)
        return self._rows

    def unavailable_reason(self) -> str:
        """Why no analysis can start now ("" when one can)."""
        state, preds = self.state, self.state.predictions
        if state.dataset is None:
            return "Open a dataset and run a model on it."
        if preds is None:
            return "Run a model with Embeddings ticked in the runner to analyse why it fails."
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
        return None if card is None or dataset is None else trained_split(card, dataset)

    def set_trained(self, trained: str) -> None:
        """Say whether the model saw the open split in training (TRAINED_AUTO / _YES / _NO); restarts nothing."""
        self.trained = trained

    # -- running ------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Analyse the shown run in the background; False (and ``failed``) when it cannot be analysed.

        The worker first gathers the rows (the kept runs of the same model on the other splits, read from the
        project store) and a kept map of the shown run; ``created`` then carries the analysis to the GUI
        thread before its first finding."""
        reason = self.unavailable_reason()
        if reason:
            self.failed.emit(reason)
            return False
        state = self.state
        project, dataset, predictions, embeddings = state.project, state.dataset, state.predictions, state.embeddings
        run, trained = state.saved_run, self.trained_split()
        generation, stop = self._begin()
        self._predictions = predictions
        self.reset.emit()
        relay = self._relay

        def work() -> None:
            rows = analysis_rows(project, dataset, predictions, embeddings, run=run, trained=trained)
            analysis = RunAnalysis(rows.input)
            analysis.notes += [f"no leaks checked against {m}" for m in rows.missing]
            kept = _kept_map(project, run, analysis)
            relay.created.emit(generation, analysis, kept is not None)
            stages = STAGES if kept is None else STAGES[:-1]
            analysis.run(
                read_image=rows.read_image,
                progress=lambda p: relay.progress.emit(generation, p),
                stop=stop.is_set,
                found=lambda stage: relay.found.emit(generation, stage),
                stages=stages,
            )
            if kept is None and analysis.map_final:
                _keep_map(project, run, analysis)

        self._launch(work, generation)
        return True

    def set_max_distance(self, max_distance: float) -> None:
        """Re-find the duplicates at another cosine-distance threshold (the neighbours are kept)."""
        analysis = self.analysis
        if analysis is None or analysis.neighbours is None:
            return
        analysis.near_duplicates(max_distance)
        self.duplicates_changed.emit()

    # -- the worker's news --------------------------------------------------------------------------
    def _on_progress(self, generation: int, progress: StageProgress) -> None:
        if self._current(generation):
            self.progress.emit(progress)

    def _on_created(self, generation: int, analysis: RunAnalysis, kept_map: bool) -> None:
        if generation == self._generation:
            self.analysis = analysis
            self.created.emit()
            # the run's kept map, shown at once (not ``analysis.coords``: by the time this queued call runs,
            # the worker may have laid out a map of its own, which comes with its own ``found``)
            if kept_map:
                self.found.emit("map")

    def _on_found(self, generation: int, stage: str) -> None:
        if generation == self._generation:
            self.found.emit(stage)

    def _on_predictions(self, predictions) -> None:
        """Another run (or one still filling) is shown: an analysis of the earlier one is dropped."""
        if self.analysis is not None and predictions is not self._predictions:
            self._drop()
        self.availability_changed.emit(not self.unavailable_reason())

    def _found_anything(self) -> bool:
        return self.analysis is not None

    def _forget(self) -> None:
        self.analysis = None


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


def _kept_map(project, run, analysis: RunAnalysis) -> tuple | None:
    """The shown run's kept map, set on ``analysis`` when it covers its rows (other splits' rows: none kept)."""
    if project is None or run is None or not _one_split(analysis):
        return None  # the map of several splits is not one run's
    try:
        kept = project.load_run_map(run, pick_method(analysis.map_method))
    except (StoreError, OSError, ValueError):
        return None
    if kept is None or len(kept[0]) != len(analysis):
        return None
    analysis.set_coords(kept[0], kept[1], final=True)
    return kept


def _keep_map(project, run, analysis: RunAnalysis) -> None:
    """Keep the map made for the shown run alone (a cache: a read-only store or a full disk just skip it)."""
    if project is None or run is None or not _one_split(analysis):
        return
    with contextlib.suppress(StoreError, OSError, ValueError):
        project.save_run_map(run, analysis.coords, analysis.coords_method)


def _one_split(analysis: RunAnalysis) -> bool:
    splits = analysis.input.splits
    return len(splits) > 0 and bool((splits == splits[0]).all())
