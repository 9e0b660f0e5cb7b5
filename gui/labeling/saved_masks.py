"""The saved masks as labels: the project's switch, and the run's scores kept in step with the masks.

"Use saved masks as labels" is remembered in the project store (``view_state``), so it is what the
user left it at when the dataset opens again. A project starts with it off (the dataset's own masks);
its first saved mask turns it on, unless the user has set it either way, so that a fix is scored at
once, as an edited label is. Switching it swaps the dataset's true masks and keeps
the run and the sample shown. Whenever the true mask of a sample changes (a save, an undo or redo
of one, the switch), the run's stored prediction of that sample is scored again against it: the
per-image IoU/Dice and the dataset totals (a sum of per-image confusions) follow at once, and the
model is never re-run. One sample is scored on the GUI thread (one mask read, a few milliseconds);
more go to a worker.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from core.datasets import SampleError
from core.inference.rescoring import rescore
from core.labels import Project, Step, StoreError
from core.masks.writers import (
    USE_SAVED_MASKS,
    MaskWriteError,
    WithSavedMasks,
    output_folder,
    relative_mask_path,
    save_mask,
    truth_dataset,
)
from core.tasks.outcomes import segmentation_run
from gui.state import AppState
from gui.workers import create_worker

#: Up to this many samples are re-scored on the GUI thread; more in a worker.
INLINE = 8


class SavedMasks(QObject):
    rescored = Signal(object)  # the dataset indices whose scores were recomputed
    truth_changed = Signal(object)  # the dataset indices whose true mask is another one now

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._project: Project | None = None
        self._worker = None
        state.project_changed.connect(self._on_project)

    @property
    def active(self) -> bool:
        """Whether the dataset shown reads the saved masks as its labels."""
        return isinstance(self.state.dataset, WithSavedMasks)

    def set_use(self, on: bool) -> None:
        """Switch the saved masks as labels on or off for this project; the run and the sample shown stay."""
        state, project, dataset = self.state, self.state.project, self.state.dataset
        if dataset is None:
            return
        if project is not None:
            try:
                project.store.set_view(USE_SAVED_MASKS, bool(on))
            except StoreError as exc:
                state.error.emit("Saved masks", str(exc))
        if bool(on) == self.active:
            return
        preds, embeddings, current = state.predictions, state.embeddings, state.current
        state.set_dataset(truth_dataset(dataset, project, use=bool(on)), project)
        if preds is not None:
            state.set_predictions(preds, embeddings)
        if current is not None:
            state.select_sample(current)
        self.rescore(sorted(project.saved_masks()) if project is not None else [])
        state.message.emit(f"Labels: {'saved masks' if on else 'the dataset masks'} (the run is kept)")

    # -- re-scoring ---------------------------------------------------------------------
    def rescore(self, indices) -> None:
        """Score the run's predictions of ``indices`` against the true masks the dataset reads now."""
        state = self.state
        run = segmentation_run(state.dataset, state.predictions)
        indices = np.asarray(indices, dtype=np.int64)
        if run is None or not len(indices):
            return
        if len(indices) <= INLINE:
            for _ in rescore(run, state.dataset, indices):
                pass
            self._rescored(run, indices)
            return
        if self._worker is not None:
            self._worker.quit()  # its samples are in this request too, scored against the newer truth
        worker = create_worker(rescore, run, state.dataset, indices, _start_thread=False, _ignore_errors=True)
        worker.finished.connect(lambda: self._rescored(run, indices, worker))
        worker.errored.connect(lambda exc: state.error.emit("Re-scoring the run", str(exc)))
        self._worker = worker
        worker.start()

    def _rescored(self, run, indices: np.ndarray, worker=None) -> None:
        if worker is not None and worker is self._worker:
            self._worker = None
        if self.state.predictions is run:
            # the sample view, the per-image table and the totals read it again; its embeddings are unchanged
            self.state.set_predictions(run, self.state.embeddings)
        self.rescored.emit(indices)

    def busy(self) -> bool:
        return self._worker is not None

    # -- following the store ---------------------------------------------------------------
    def _on_project(self, project: Project | None) -> None:
        if project is not None and project is not self._project:
            project.store.subscribe(self._on_step)  # held weakly
        self._project = project

    def _on_step(self, step: Step) -> None:
        """A save, undo or redo of masks: the output folder follows an undo/redo; the run is re-scored."""
        project = self.state.project
        if project is None or self.state.dataset is None:
            return
        ids = {c.sample_id for c in step.changes if c.field == "mask" and c.split == project.split}
        if not ids:
            return
        index = {s: i for i, s in enumerate(self.state.dataset.sample_ids) if s in ids}
        indices = sorted(index.values())
        if step.kind != "edit":
            self._sync_output(project, indices)
        if self.active:
            self.truth_changed.emit(indices)
            self.rescore(indices)
            if self.state.current in indices:
                self.state.select_sample(self.state.current)  # the sample view reads its true mask again
        elif step.kind == "edit" and project.store.get_view(USE_SAVED_MASKS) is None:
            # The project's first save, the switch never touched: the user's fix becomes the truth the run
            # is scored against, as label edits are (Labels > Use Saved Masks as Labels takes it back).
            QTimer.singleShot(0, lambda: self._first_save(project))
        elif step.kind == "edit":
            self.state.message.emit(
                "Mask saved; the scores use the dataset's own masks (Labels > Use Saved Masks as Labels)"
            )

    def _first_save(self, project: Project) -> None:
        # after the store's notification; the app may have closed the project meanwhile (Save, then quit)
        if self.state.project is project and not project.store.closed and not self.active:
            self.set_use(True)

    def _sync_output(self, project: Project, indices: list[int]) -> None:
        """After an undo/redo, the output folder holds the mask now saved (the dataset's own after undoing the
        first save), so that it never shows a save that was taken back. Only files it already has; never the
        dataset's own files."""
        dataset = project.dataset
        folder = output_folder(dataset, project)
        if folder.resolve() == dataset.root.resolve():
            return
        for i in indices:
            if not (folder / relative_mask_path(dataset, i)).is_file():
                continue
            try:
                mask = project.load_saved_mask(i)
                save_mask(dataset, i, dataset.load_mask(i) if mask is None else mask, folder, project=project)
            except (StoreError, MaskWriteError, SampleError, OSError) as exc:
                self.state.error.emit("Saved masks", f"{folder} could not follow the undo: {exc}")
