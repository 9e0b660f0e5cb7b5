"""Every labeling action of the GUI as one call: which samples, which edit, one undo step, errors shown.

The samples are the browser's selected tiles (the current sample when one tile is selected).
After a key labels a single sample the browser moves on to the next one (``advance``), so a user
can label at the pace of a few samples per second; the grid repaints from ``labels_changed``.
A store that cannot be written (read-only, disk full) refuses the edit with a message in the window.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QSettings, Signal

from core.evaluation.decisions import predicted_classes, predicted_tags
from core.labels import STATUS_CODES, Project, Step, StoreError
from core.labels.marks import class_text
from gui.labeling.actions import key_class
from gui.labeling.browsing import Browser
from gui.state import AppState

ADVANCE_KEY = "labeling/advance"


#: Why an object dataset's image takes no class or tag key: its classes are those of its objects.
OBJECT_CLASSES = "The classes of an image with objects are its objects' classes: edit its boxes (B) to change them."


class LabelingController(QObject):
    history_changed = Signal()  # an edit, undo or redo happened (the Undo/Redo texts change)

    def __init__(self, state: AppState, browser: Browser, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.browser = state, browser
        self.settings = QSettings()
        state.labels_changed.connect(lambda _i: self.history_changed.emit())
        state.project_changed.connect(lambda _p: self.history_changed.emit())

    # -- settings ----------------------------------------------------------------------
    @property
    def advance(self) -> bool:
        """Go to the next sample after a key labeled one (the default)."""
        return self.settings.value(ADVANCE_KEY, True, type=bool)

    def set_advance(self, on: bool) -> None:
        self.settings.setValue(ADVANCE_KEY, bool(on))

    # -- what there is -----------------------------------------------------------------
    @property
    def project(self) -> Project | None:
        return self.state.project

    def classes(self) -> list[str]:
        return list(self.state.dataset.classes) if self.state.dataset is not None else []

    def multilabel(self) -> bool:
        """Whether the samples' tags are labels of their own (an object dataset's are the classes of its objects)."""
        dataset = self.state.dataset
        return dataset is not None and dataset.tags is not None and not dataset.has_boxes

    def has_objects(self) -> bool:
        return self.state.dataset is not None and self.state.dataset.has_boxes

    def has_classes(self) -> bool:
        return self.state.dataset is not None and self.state.dataset.targets is not None

    def targets(self) -> np.ndarray:
        return self.browser.selected_indices()

    # -- edits -------------------------------------------------------------------------
    def number_key(self, k: int) -> bool:
        """The k-th number key (1-9, then 0): its class (``key_class``), or its tag in a multilabel dataset."""
        c = key_class(self.classes(), k)
        if c is None:
            return False
        if self.has_objects():
            return self._refuse(OBJECT_CLASSES)
        return self.toggle_tag(c) if self.multilabel() else self.assign(c)

    def assign(self, label: int, indices: np.ndarray | None = None, advance: bool = True) -> bool:
        """Give the samples a class index, UNLABELED or IGNORE (then, if ``advance``, go to the next sample)."""
        if not self.has_classes():
            return self._refuse("This dataset has no class labels to set.")
        idx = self.targets() if indices is None else indices
        name = class_text(self.classes(), label) or "unlabeled"
        return self._edit(idx, lambda p: p.set_label(idx, label, self._say(f"label {{}} as {name}", idx)), advance)

    def toggle_tag(self, tag: int, indices: np.ndarray | None = None, advance: bool = True) -> bool:
        """Switch a tag on for every sample (off when all have it)."""
        if self.has_objects():
            return self._refuse(OBJECT_CLASSES)
        if not self.multilabel():
            return self._refuse("This dataset has no tags (it is not multilabel).")
        idx = self.targets() if indices is None else indices
        on = not bool(self.state.dataset.tags[idx, tag].all()) if len(idx) else True
        words = f"tag {{}} {'with' if on else 'without'} {self.classes()[tag]}"
        return self._edit(idx, lambda p: p.set_tag(idx, tag, on, self._say(words, idx)), advance)

    def mark(self, status: str | None, indices: np.ndarray | None = None, toggle: bool = True) -> bool:
        """Mark the samples "reviewed", "flagged" or "excluded"; a mark every one has already is removed."""
        idx = self.targets() if indices is None else indices
        project = self.project
        if project is not None and toggle and status and len(idx) and (project.status()[idx] == _code(status)).all():
            status = None
        words = f"mark {{}} {status}" if status else "clear the mark of {}"
        return self._edit(idx, lambda p: p.set_status(idx, status, self._say(words, idx)), advance=False)

    def set_note(self, text: str, indices: np.ndarray | None = None) -> bool:
        idx = self.targets() if indices is None else indices
        words = "note on {}" if text else "remove the note of {}"
        return self._edit(idx, lambda p: p.set_note(idx, text, self._say(words, idx)), advance=False)

    def accept(self, index: int) -> bool:
        """Review mode: the label is right."""
        return self._edit([index], lambda p: p.set_status(index, "reviewed", self._say("accept {}", [index])), False)

    def take_prediction(self, indices: np.ndarray | None = None, review: bool = False) -> bool:
        """Give the samples the model's predicted class (multilabel: its predicted tags)."""
        idx = np.asarray(self.targets() if indices is None else indices, dtype=np.int64)
        preds = self.state.predictions
        if self.has_objects():
            return self._refuse("Accept a model's boxes one by one in the box editor (B, then A or Enter on a box).")
        if preds is None or len(preds) != len(self.state.dataset or []):
            return self._refuse("Run a model (or pick a run in the Runs menu) to take its predictions.")
        idx = idx[preds.done[idx]]
        if not len(idx):
            return self._refuse("The model has no prediction for this sample yet.")
        status = "reviewed" if review else None
        if self.multilabel():
            rows = predicted_tags(preds, self.state.threshold)[idx]
            return self._take_tags(idx, rows, status)
        labels = predicted_classes(preds, self.state.threshold)[idx]
        words = self._say("take the model's label for {}", idx)
        keep = {} if status is None else {"status": status}
        return self._edit(idx, lambda p: p.edit(idx, label=labels, description=words, **keep), advance=False)

    def _take_tags(self, idx: np.ndarray, rows: np.ndarray, status: str | None) -> bool:
        # Project.edit takes one tag set for all samples: one step per sample (review mode has one).
        ok = True
        for i, row in zip(idx.tolist(), rows):
            tags = [int(t) for t in np.flatnonzero(row)]
            keep = {} if status is None else {"status": status}
            words = self._say("take the model's tags for {}", [i])
            ok &= self._edit([i], lambda p, i=i, t=tags, k=keep, w=words: p.edit(i, tags=t, description=w, **k), False)
        return ok

    def undo(self) -> bool:
        return self._history(lambda p: p.undo(), "Undid")

    def redo(self) -> bool:
        return self._history(lambda p: p.redo(), "Redid")

    def undo_text(self) -> str | None:
        return self._read(lambda p: p.store.undo_description)

    def redo_text(self) -> str | None:
        return self._read(lambda p: p.store.redo_description)

    # -- plumbing ----------------------------------------------------------------------
    def _edit(self, indices, edit: Callable[[Project], Step | None], advance: bool = True) -> bool:
        project = self.project
        if project is None:
            return self._refuse("Open a dataset first: its labels are kept in its project store.")
        if not len(indices):
            return False
        try:
            edit(project)
        except (StoreError, ValueError) as exc:
            self.state.error.emit("The labels were not changed", str(exc))
            return False
        if advance and self.advance and len(indices) == 1:
            self.browser.step(1)
        return True

    def _history(self, action: Callable[[Project], Step | None], verb: str) -> bool:
        if self.project is None:
            return False
        try:
            step = action(self.project)
        except StoreError as exc:
            self.state.error.emit(f"{verb[:-1]} failed", str(exc))
            return False
        if step is None:
            return False
        self.state.message.emit(f"{verb}: {step.description}")
        return True

    def _read(self, read: Callable[[Project], str | None]) -> str | None:
        try:
            return read(self.project) if self.project is not None else None
        except StoreError:
            return None

    def _refuse(self, text: str) -> bool:
        self.state.message.emit(text)
        return False

    def _say(self, template: str, indices) -> str:
        """A step's description: "label 3 samples as cat", "label test/cat/001.png as cat"."""
        n = len(indices)
        what = self.state.dataset.sample_ids[int(indices[0])] if n == 1 else f"{n:,} samples"
        return template.format(what)


def _code(status: str) -> int:
    return STATUS_CODES[status]
