"""The mask editor's saving side: versions in the project store, the output folder, undo of a save,
and what the Save / Discard / Cancel prompt (``gui/labeling/unsaved.py``) says of unsaved strokes (a mixin
of :class:`MaskEditorWidget`).

Saving keeps the mask as a new version in the project store (``core.labels.masks``: earlier saves
stay, with who and when) and also writes it in the dataset's own format into an output folder.
With no stroke left to undo, Ctrl+Z takes back the latest save of the sample shown (after a
restart too: the undo stack lives in the store). Strokes are never dropped silently.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from core.datasets import SampleError
from core.labels import Project, Step, StoreError
from core.labels.masks import next_step_saves
from core.masks.writers import MASK_FOLDER, MaskExistsError, MaskWriteError, newest_mask, save_mask
from gui.labeling.unsaved import ConfirmsUnsaved, UnsavedPrompt


class MaskSaving(ConfirmsUnsaved):
    """Saving, store undo/redo and the unsaved-strokes prompt; reads the editor widget's attributes."""

    def _store_step(self, redo: bool) -> bool:
        """Whether the store's next undo (redo) is a save of this very sample's mask."""
        project = self.project
        if project is None or project.read_only:
            return False
        return next_step_saves(project.store, project.split, self.dataset.sample_ids[self.index], redo=redo)

    def _run_store(self, action, done: str) -> None:
        try:
            action()  # the store's listeners (this editor too) reload the mask
        except StoreError as exc:
            self.status.setText(f"<span style='color:#b00020'>{exc}</span>")
            return
        self.status.setText(f"{done}: {self.origin.text()}")

    def _follow_store(self, project: Project | None) -> None:
        if project is not None and self._listening is not project.store:
            project.store.subscribe(self._on_store_step)  # held weakly
            self._listening = project.store

    def _on_store_step(self, step: Step) -> None:
        """An undo or redo (here or in the main window) changed this sample's saved mask: show the mask now saved."""
        project, dataset = self.project, self.dataset
        if step.kind == "edit" or project is None or dataset is None or self.index < 0:
            return
        sample_id = dataset.sample_ids[self.index]
        if not any(c.field == "mask" and c.split == project.split and c.sample_id == sample_id for c in step.changes):
            return
        if self.editor is not None and self.editor.modified:
            self.status.setText("The saved mask changed (undo/redo); your unsaved strokes are kept.")
            return
        self._reload()

    def _reload(self) -> None:
        """Show the sample's newest saved mask again, with no unsaved strokes."""
        if self.editor is not None:
            self.editor.mark_saved()  # nothing to ask: the strokes are being thrown away on purpose
        prediction = self.prediction
        self.open_sample(self.dataset, self.index, prediction, self.out_root, self.project)

    def choose_folder(self) -> None:
        start = str(self.out_root or Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Folder for saved masks", start)
        if folder:
            self.out_root = Path(folder)
            self.status.setText(f"saving to {self.out_root}")
            if self.project is not None:  # the next session writes there too
                with contextlib.suppress(StoreError):
                    self.project.store.set_view(MASK_FOLDER, str(self.out_root))

    def save(self, confirm_overwrite=None, confirm_replace=None) -> Path | None:
        """Keep the mask as a new saved version in the project store and write it into the output folder;
        asks before writing over the dataset's own files, or over a file there that CV Lens did not write.
        The path written, None when nothing was saved."""
        if self.editor is None or self.dataset is None:
            return None
        overwrite = False
        if self.out_root is not None and self.out_root.resolve() == self.dataset.root.resolve():
            ask = confirm_overwrite or self._confirm_overwrite
            if not ask():
                return None
            overwrite = True
        kept = self._keep_version()
        if kept is False:
            return None
        try:
            path = self._write(overwrite, confirm_replace or self._confirm_replace)
            note = f"saved {path}"
        except MaskWriteError as exc:
            if kept is None:  # no store either: nothing was saved at all
                self.status.setText(f"<span style='color:#b00020'>Not saved: {exc}</span>")
                return None
            path, note = kept, f"saved in the project store; not written to the output folder: {exc}"
        self.editor.mark_saved()
        self._update_buttons()
        self.origin.setText(f"<b>{self.dataset.sample_ids[self.index]}</b>: editing {self._source()}")
        self.status.setText(note)
        self.saved.emit(self.index, str(path))
        return path

    def _keep_version(self) -> Path | bool | None:
        """The new version's file in the project store; None without a store; False when the store refused."""
        project = self.project
        if project is None:
            return None
        try:
            project.save_mask(self.index, self.editor.mask)
            return project.store.folder / project.saved_mask(self.index).file
        except StoreError as exc:
            self.status.setText(f"<span style='color:#b00020'>Not saved: {exc}</span>")
            return False

    def _source(self) -> str:
        try:
            return newest_mask(self.dataset, self.index, self.project, self.out_root)[1]
        except SampleError as exc:
            return str(exc)

    # -- unsaved strokes (the prompt: gui/labeling/unsaved.py) ---------------------------
    def _unsaved_prompt(self) -> UnsavedPrompt | None:
        if self.editor is None or not self.editor.modified:
            return None
        return UnsavedPrompt(
            "unsaved_mask",
            "Unsaved mask",
            f"The mask of {self.dataset.sample_ids[self.index]} has strokes that are not saved.",
            "Save them as the sample's newest mask, or discard them?",
        )

    def _save_unsaved(self) -> bool:
        return self.save() is not None

    def _discard_unsaved(self) -> None:
        self.editor.mark_saved()

    def _write(self, overwrite: bool, confirm_replace) -> Path:
        args = (self.dataset, self.index, self.editor.mask, self.out_root)
        written = self.__dict__.setdefault("_written_here", set())  # files this editor wrote (no store to ask)
        try:
            path = save_mask(*args, overwrite_originals=overwrite, project=self.project)
        except MaskExistsError as exc:
            if exc.path not in written and not confirm_replace(str(exc)):
                raise MaskWriteError("the file there was kept, as you chose") from None
            path = save_mask(*args, overwrite_originals=overwrite, project=self.project, replace=True)
        written.add(path)
        return path

    def _confirm_replace(self, question: str) -> bool:
        answer = QMessageBox.question(self, "Replace a file in the output folder?", question)
        return answer == QMessageBox.StandardButton.Yes

    def _confirm_overwrite(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Overwrite the original mask?",
            "The output folder is the dataset itself: saving replaces the original mask file. Continue?",
        )
        return answer == QMessageBox.StandardButton.Yes
