"""A submenu of names with a search field on top: ImageNet's 1,000 classes in a right-click menu.

Without text it lists the first ``MAX_SHOWN`` names; typing narrows with the class picker's ranking.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLineEdit, QMenu, QWidget, QWidgetAction

from gui.labeling.class_picker import rank_names

MAX_SHOWN = 30


class SearchMenu(QMenu):
    """Entries ``names[i]`` calling ``chosen(i)``; ``checked`` marks some of them (tags a sample has)."""

    def __init__(
        self,
        title: str,
        names: list[str],
        chosen: Callable[[int], None],
        parent: QWidget | None = None,
        checked: set[int] | None = None,
        hints: dict[int, str] | None = None,
    ) -> None:
        """``checked`` None: plain entries; a set: checkable entries, those in it checked."""
        super().__init__(title, parent)
        self.names, self.chosen, self.checked, self.hints = names, chosen, checked, hints or {}
        self.search: QLineEdit | None = None
        self._entries: list[QAction] = []
        if len(names) > MAX_SHOWN:
            self.search = QLineEdit(self)
            self.search.setPlaceholderText(f"Search {len(names):,} names…")
            self.search.textChanged.connect(self.fill)
            field = QWidgetAction(self)
            field.setDefaultWidget(self.search)
            self.addAction(field)
            self.aboutToShow.connect(lambda: QTimer.singleShot(0, self.search.setFocus))
        self.fill("")

    def fill(self, text: str) -> None:
        for action in self._entries:
            self.removeAction(action)
            action.deleteLater()
        found = rank_names(self.names, text)
        self._entries = [self._entry(i) for i in found[:MAX_SHOWN]]
        if len(found) > MAX_SHOWN:
            more = QAction(f"… {len(found) - MAX_SHOWN:,} more: type to narrow", self)
            more.setEnabled(False)
            self._entries.append(more)
        self.addActions(self._entries)

    def entry_texts(self) -> list[str]:
        return [a.text() for a in self._entries]

    def _entry(self, i: int) -> QAction:
        text = self.names[i].replace("&", "&&")
        if i in self.hints:
            text += f"\t{self.hints[i]}"  # the key, shown as menus show shortcuts (the browser handles it)
        action = QAction(text, self)
        if self.checked is not None:
            action.setCheckable(True)
            action.setChecked(i in self.checked)
        action.triggered.connect(lambda _=False, i=i: self.chosen(i))
        return action
