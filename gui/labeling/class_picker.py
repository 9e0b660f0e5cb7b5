"""Type-ahead search over class (or tag) names: a small popup, for datasets with many classes.

Press L or / in the browser, type "gold", Enter: the sample becomes "goldfish" (one of ImageNet's
1,000 classes). Names that start with the text come first, then names with a word starting
with it, then names containing it; arrows move through the list, Esc closes.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

#: Rows shown at most (typing narrows the rest).
MAX_ROWS = 200


def rank_names(names: list[str], text: str) -> list[int]:
    """Indices of ``names`` matching ``text`` (case-insensitive), best first: prefix, word start, anywhere."""
    text = text.strip().lower()
    if not text:
        return list(range(len(names)))
    word = re.compile(r"(^|[\s_,\-/(])" + re.escape(text))
    tiers: tuple[list[int], list[int], list[int]] = ([], [], [])
    for i, name in enumerate(names):
        lower = name.lower()
        if lower.startswith(text):
            tiers[0].append(i)
        elif word.search(lower):
            tiers[1].append(i)
        elif text in lower:
            tiers[2].append(i)
    return tiers[0] + tiers[1] + tiers[2]


class ClassPicker(QFrame):
    """A popup with a search field over names; ``picked`` gives the chosen entry's value."""

    picked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.names: list[str] = []
        self.values: list[object] = []
        self.title = QLabel(self)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Type to search, Enter to choose, Esc to close")
        self.search.textChanged.connect(self._fill)
        self.search.installEventFilter(self)
        self.list = QListWidget(self)
        self.list.itemActivated.connect(self._choose)
        self.list.itemClicked.connect(self._choose)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.resize(320, 360)

    def open(self, title: str, names: list[str], values: list[object], at: QPoint, extra: list[str] = ()) -> None:
        """Show ``names`` (and ``extra`` hints per name, like the key) at the global point ``at``."""
        self.title.setText(title)
        self.names, self.values = list(names), list(values)
        self._extra = list(extra) + [""] * (len(names) - len(extra))
        self.search.clear()
        self._fill("")
        self.move(at)
        self.show()
        self.search.setFocus()

    def choose_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self._choose(item)

    def _fill(self, text: str) -> None:
        self.list.clear()
        found = rank_names(self.names, text)
        for i in found[:MAX_ROWS]:
            hint = f"   (key {self._extra[i]})" if self._extra[i] else ""
            item = QListWidgetItem(self.names[i] + hint)
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.list.addItem(item)
        if len(found) > MAX_ROWS:
            more = QListWidgetItem(f"… {len(found) - MAX_ROWS:,} more: type to narrow")
            more.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(more)
        if found:
            self.list.setCurrentRow(0)

    def _choose(self, item: QListWidgetItem) -> None:
        i = item.data(Qt.ItemDataRole.UserRole)
        if i is None:
            return
        self.hide()
        self.picked.emit(self.values[i])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up/Down/PageUp/PageDown move through the list while the cursor stays in the search field."""
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.choose_current()
                return True
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
                self.list.keyPressEvent(event)
                return True
        return super().eventFilter(watched, event)
