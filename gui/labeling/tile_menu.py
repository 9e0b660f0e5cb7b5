"""The right-click menu of the browser's tiles: label, tags, review marks, note, undo, for the selected tiles."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QInputDialog, QMenu, QWidget

from core.labels import IGNORE, STATUS_CODES, UNLABELED
from gui.labeling.actions import NUMBER_KEYS, key_class
from gui.labeling.controller import LabelingController
from gui.labeling.search_menu import SearchMenu

MARKS = (("reviewed", "Mark Reviewed", "R"), ("flagged", "Flag", "F"), ("excluded", "Exclude", "X"))


def tile_menu(controller: LabelingController, indices: np.ndarray, parent: QWidget) -> QMenu:
    """A menu acting on the dataset samples ``indices``."""
    c, state = controller, controller.state
    indices = np.asarray(indices, dtype=np.int64)
    classes = c.classes()
    what = state.dataset.sample_ids[int(indices[0])] if len(indices) == 1 else f"{len(indices):,} samples"
    menu = QMenu(parent)
    menu.addSection(what)
    hints = {key_class(classes, k): key for k, key in enumerate(NUMBER_KEYS) if key_class(classes, k) is not None}
    if c.has_classes():
        menu.addMenu(SearchMenu("Label as", classes, lambda k: c.assign(k, indices, False), menu, hints=hints))
        menu.addAction("Unlabeled\tU", lambda: c.assign(UNLABELED, indices, False))
        menu.addAction("Ignore (leave out of metrics)\tI", lambda: c.assign(IGNORE, indices, False))
    if c.multilabel():
        have = {int(k) for k in np.flatnonzero(state.dataset.tags[indices].all(axis=0))}
        tags = SearchMenu("Tags", classes, lambda k: c.toggle_tag(k, indices, False), menu, checked=have, hints=hints)
        menu.addMenu(tags)
    if not c.has_objects():  # an image's predicted boxes are accepted one by one in the box editor
        take = menu.addAction("Take the Model's Prediction\tP", lambda: c.take_prediction(indices))
        take.setEnabled(state.predictions is not None)
    menu.addSeparator()
    status = state.project.status()[indices] if state.project is not None else np.zeros(0)
    for name, text, key in MARKS:
        action = menu.addAction(f"{text}\t{key}", lambda n=name: c.mark(n, indices))
        action.setCheckable(True)
        action.setChecked(bool(len(status)) and bool((status == STATUS_CODES[name]).all()))
    menu.addAction("Clear Mark", lambda: c.mark(None, indices))
    menu.addAction("Note…\tN", lambda: ask_note(c, indices, parent))
    menu.addSeparator()
    undo = c.undo_text()
    menu.addAction(f"Undo {undo}" if undo else "Undo", c.undo).setEnabled(undo is not None)
    return menu


def ask_note(controller: LabelingController, indices: np.ndarray, parent: QWidget) -> None:
    """A note for one or many samples (the current note of the first one to start from)."""
    project = controller.state.project
    start = project.note(int(indices[0])) if project is not None and len(indices) else ""
    label = "Note on this sample:" if len(indices) == 1 else f"Note on these {len(indices):,} samples:"
    text, ok = QInputDialog.getMultiLineText(parent, "Note", label, start)
    if ok:
        controller.set_note(text.strip(), indices)
