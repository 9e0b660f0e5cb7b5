"""A confusion matrix whose pyqtgraph heatmap is made after the pane's first paint, not with it.

:class:`~gui.metrics.confusion_widget.ConfusionMatrixWidget` is a pyqtgraph plot, and pyqtgraph's import is a
third of a second that the window's panes would wait for. :class:`LazyConfusionMatrix` stands in its place in
the layout from the start: it makes the heatmap on the event-loop turn after its own first paint (a shown tab),
when a matrix is given to it (``set_matrix``), or when code asks for anything of the heatmap (attributes are
the heatmap's, made if need be). Until then it answers as an empty matrix does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QVBoxLayout, QWidget

from gui.widgets import FirstPaint

if TYPE_CHECKING:
    from gui.metrics.confusion_widget import ConfusionMatrixWidget


class LazyConfusionMatrix(QWidget):
    """The heatmap's place and signals; :meth:`widget` is the heatmap itself (made now if it was not)."""

    cell_clicked = Signal(int, int)  # true class, predicted class
    cell_menu_requested = Signal(int, int, QPoint)  # true class, predicted class, where (global)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._widget: ConfusionMatrixWidget | None = None
        self._tip = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.setAutoFillBackground(True)  # white as the heatmap's background, while it is being made
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, Qt.GlobalColor.white)
        self.setPalette(palette)
        FirstPaint(self, self.widget)

    @property
    def is_made(self) -> bool:
        return self._widget is not None

    def widget(self) -> ConfusionMatrixWidget:
        """The heatmap, made now if it was not."""
        if self._widget is None:
            from gui.metrics.confusion_widget import ConfusionMatrixWidget

            self._widget = ConfusionMatrixWidget(self)
            self._widget.cell_clicked.connect(self.cell_clicked)
            self._widget.cell_menu_requested.connect(self.cell_menu_requested)
            self._widget.setToolTip(self._tip)
            self.layout().addWidget(self._widget)
        return self._widget

    # -- what the views call; an empty matrix's answers until the heatmap is made -------------------------
    @property
    def classes(self) -> list[str]:
        return self._widget.classes if self._widget is not None else []

    @property
    def counts(self) -> np.ndarray:
        return self._widget.counts if self._widget is not None else np.zeros((0, 0), dtype=np.int64)

    @property
    def values(self) -> np.ndarray:
        return self._widget.values if self._widget is not None else np.zeros((0, 0))

    def set_matrix(self, counts: np.ndarray, classes: list[str], values: np.ndarray | None = None) -> None:
        self.widget().set_matrix(counts, classes, values)

    def fit(self) -> None:
        if self._widget is not None:  # else there is nothing to fit yet
            self._widget.fit()

    def setToolTip(self, text: str) -> None:  # Qt's name: the heatmap's tooltip
        self._tip = text
        if self._widget is not None:
            self._widget.setToolTip(text)

    def toolTip(self) -> str:  # Qt's name
        return self._tip

    def __getattr__(self, name: str):
        """Anything else is the heatmap's (focus_cell, cell_center, viewport...)."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.widget(), name)
