"""A tab whose view is made when it is first needed, not with the window.

The window's panes hold some twenty tabs, most of them hidden for the open dataset's task or behind the first
tab; made at once they cost a second of start-up (pyqtgraph plots, their imports). A :class:`LazyTab` is the
tab's page from the start (its title and place in the tab bar are there at once); its view is made when the
page is first shown, or when code asks for it (:meth:`LazyTab.view`: a click elsewhere that needs it, a test).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget


class LazyTab(QWidget):
    """The page of a tab; ``make()`` returns its view, called once, on the first show or ``view()``."""

    made = Signal(QWidget)  # the view, just made and placed: whoever follows it can catch it up

    def __init__(self, make: Callable[[], QWidget], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._make = make
        self._view: QWidget | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    @property
    def is_made(self) -> bool:
        return self._view is not None

    def made_view(self) -> QWidget | None:
        """The view if it was made, else None (without making it)."""
        return self._view

    def view(self) -> QWidget:
        """The view, made now if it was not."""
        if self._view is None:
            self._view = self._make()
            self.layout().addWidget(self._view)
            self.made.emit(self._view)
        return self._view

    def showEvent(self, event) -> None:  # Qt's name
        self.view()
        super().showEvent(event)


def page_view(page: QWidget) -> QWidget:
    """The view a tab's page shows: a LazyTab's (made if need be), else the page itself."""
    return page.view() if isinstance(page, LazyTab) else page
