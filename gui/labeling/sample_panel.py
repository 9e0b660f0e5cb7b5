"""The sample view's labeling panel: the original label of an edited sample, review marks, tags to
click (multilabel), a free-text note and the sample's edit history (who, when, from, to).

A note being typed is saved with Ctrl+Enter, the Save button, or when another sample is shown.
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.labels import STATUSES, HistoryEntry, StoreError
from core.labels.marks import class_text, tag_changes_text
from gui.flow_layout import FlowLayout
from gui.labeling.controller import LabelingController
from gui.state import AppState

MARKS = (("reviewed", "Reviewed", "R"), ("flagged", "Flag", "F"), ("excluded", "Exclude", "X"))
HISTORY_ROWS = 8
KEYS_HELP = (
    "Keys in the grid and here: 1-9, 0 label as the first ten classes (switch tags) · L or / search the classes"
    " · U unlabeled · I ignore · P the model's prediction · R reviewed · F flag · X exclude · N note"
    " · Ctrl+R review in the grid's order · Ctrl+Z / Ctrl+Shift+Z undo / redo · right-click a tile for more"
)


def history_line(entry: HistoryEntry) -> str:
    """ "05-02 14:03 · alice · label: dog → cat" (undos and redos say so)."""
    when = time.strftime("%m-%d %H:%M", time.localtime(entry.time))
    kind = "" if entry.kind == "edit" else f" ({entry.kind})"
    if isinstance(entry.old, list) and isinstance(entry.new, list):  # tags: what changed, not 40 names twice
        change = " ".join(
            [f"+{t}" for t in entry.new if t not in entry.old] + [f"−{t}" for t in entry.old if t not in entry.new]
        )
        return f"{when} · {entry.user} · tags: {change or 'unchanged'}{kind}"
    return f"{when} · {entry.user} · {entry.field}: {_value(entry.old)} → {_value(entry.new)}{kind}"


def _value(value) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "no tags"
    if value in (-1, None, ""):
        return "none"
    return "ignore" if value == -2 else str(value)


class SamplePanel(QGroupBox):
    def __init__(self, state: AppState, controller: LabelingController, parent: QWidget | None = None) -> None:
        super().__init__("Your labels", parent)
        self.setToolTip(KEYS_HELP)
        self.state, self.controller = state, controller
        self.index: int | None = None
        self._shown_note = ""
        self.edited = QLabel(self)
        self.edited.setStyleSheet("color: #b06000")
        self.edited.setWordWrap(True)
        self.buttons = {status: self._mark_button(status, text, key) for status, text, key in MARKS}
        self.tags = QListWidget(self)
        self.tags.setToolTip("Click a tag to switch it for this sample (the number keys switch the first ten)")
        self.tags.setMaximumHeight(160)
        self.tags.itemChanged.connect(self._on_tag_clicked)
        self.note = QPlainTextEdit(self)
        self.note.setPlaceholderText("A note on this sample (N to type, Ctrl+Enter to save)")
        self.note.setMaximumHeight(56)
        self.save_note = QToolButton(self)
        self.save_note.setText("Save")
        self.save_note.setToolTip("Save the note below (Ctrl+Enter); it is also saved when you go to another sample")
        self.save_note.clicked.connect(self.commit_note)
        QShortcut(QKeySequence("Ctrl+Return"), self.note, self.commit_note, context=Qt.ShortcutContext.WidgetShortcut)
        self.history = QLabel(self)
        self.history.setWordWrap(True)
        self.history.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.history.setStyleSheet("color: gray")
        self._lay_out()
        state.sample_selected.connect(self.show_sample)
        state.labels_changed.connect(self._on_labels_changed)
        state.project_changed.connect(lambda _p: self.show_sample(None))
        self.show_sample(None)

    def _lay_out(self) -> None:
        row = QWidget(self)  # wraps in a narrow sample view instead of cutting the last button off
        marks = FlowLayout(row, spacing=2)
        marks.setContentsMargins(0, 0, 0, 0)
        for button in self.buttons.values():
            marks.addWidget(button)
        marks.addWidget(self.save_note)  # the note's button, on the row above it: the pane is narrow
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addWidget(self.edited)
        layout.addWidget(row)
        layout.addWidget(self.tags)
        layout.addWidget(self.note)
        layout.addWidget(self.history)

    def _mark_button(self, status: str, text: str, key: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setCheckable(True)
        button.setToolTip(f"Mark this sample {status} ({key}; again to remove the mark)")
        button.clicked.connect(lambda _=False, s=status: self._on_mark(s))
        return button

    # -- showing -------------------------------------------------------------------------
    def show_sample(self, index: int | None) -> None:
        if self.index is not None and index != self.index:
            self.commit_note()  # a note typed for the sample we leave is not lost
        project, dataset = self.state.project, self.state.dataset
        self.index = index if project is not None and dataset is not None and index is not None else None
        self.setVisible(project is not None)
        if self.index is None:
            return
        i = self.index
        edited = bool(project.edited()[i]) if dataset.targets is not None or dataset.tags is not None else False
        self.edited.setVisible(edited)
        if edited:
            self.edited.setText(f"✎ Edited; {self._original(i)}")
        status = STATUSES[int(project.status()[i])]
        for name, button in self.buttons.items():
            button.setChecked(name == status)
        self._show_tags(i)
        self._shown_note = project.note(i)
        self.note.setPlainText(self._shown_note)
        self._show_history(i)

    def _original(self, i: int) -> str:
        """What the dataset says, or (multilabel) which tags the user changed."""
        dataset = self.state.dataset
        classes, tags = list(dataset.classes), self.state.original_tags()
        if tags is not None:
            return tag_changes_text(classes, tags[i], dataset.tags[i])
        return f"the dataset says: {class_text(classes, int(self.state.original_targets()[i])) or '(unlabeled)'}"

    def _show_tags(self, i: int) -> None:
        dataset = self.state.dataset
        self.tags.setVisible(dataset.tags is not None)
        if dataset.tags is None:
            return
        self.tags.blockSignals(True)
        self.tags.clear()
        for k, name in enumerate(dataset.classes):
            item = QListWidgetItem(f"{k + 1 if k < 9 else 0 if k == 9 else ' '}  {name}")
            item.setData(Qt.ItemDataRole.UserRole, k)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if dataset.tags[i, k] else Qt.CheckState.Unchecked)
            self.tags.addItem(item)
        self.tags.blockSignals(False)

    def _show_history(self, i: int) -> None:
        try:
            entries = self.state.project.history(i)
        except StoreError as exc:
            self.history.setText(f"History unavailable: {html.escape(str(exc))}")
            return
        if not entries:
            self.history.setText("No edits yet.")
            return
        lines = [html.escape(history_line(e)) for e in entries[-HISTORY_ROWS:]]
        more = len(entries) - HISTORY_ROWS
        count = f"{len(entries)} change{'s' if len(entries) != 1 else ''}"
        head = f"<b>History</b> ({count}{f', the latest {HISTORY_ROWS}' if more > 0 else ''}):"
        self.history.setText("<br>".join([head, *lines]))

    # -- edits ---------------------------------------------------------------------------
    def commit_note(self) -> None:
        text = self.note.toPlainText().strip()
        if self.index is None or text == self._shown_note.strip():
            return
        self._shown_note = text
        self.controller.set_note(text, [self.index])

    def _on_mark(self, status: str) -> None:
        if self.index is not None:
            self.controller.mark(status, [self.index])
            self.show_sample(self.index)  # a refused edit leaves the buttons as the store has them

    def _on_tag_clicked(self, item: QListWidgetItem) -> None:
        if self.index is not None:
            self.controller.toggle_tag(item.data(Qt.ItemDataRole.UserRole), [self.index], advance=False)
            self.show_sample(self.index)

    def _on_labels_changed(self, indices) -> None:
        if self.index is not None and self.index in indices:
            note = self.note.toPlainText()
            dirty = note.strip() != self._shown_note.strip()
            self.show_sample(self.index)
            if dirty:  # keep what is being typed
                self.note.setPlainText(note)
