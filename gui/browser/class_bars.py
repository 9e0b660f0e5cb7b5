"""The class chart's plot (pyqtgraph): horizontal bars, one per class, the count after each, the active one
highlighted. :class:`gui.browser.class_chart.ClassChartWidget` makes it when the chart is first shown."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QWidget

BAR_COLOR = (90, 120, 200)
ACTIVE_COLOR = (240, 160, 40)
MAX_NAMED_TICKS = 40


class ClassBarsPlot(pg.PlotWidget):
    """Draws what it is given (``draw``); the chart widget keeps the counts and answers the clicks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=None)
        self._count_texts: list[pg.TextItem] = []
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getViewBox().invertY(True)  # first class on top, as in the class filter
        self.setLabel("bottom", "samples")
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.8, width=[])
        self.addItem(self.bars)

    def draw(self, classes: list[str], counts: np.ndarray, title: str, unit: str) -> None:
        """The bars of ``counts`` (one per class, in order) with their names and counts, under ``title``."""
        self.setTitle(title, size="9pt")
        self.setLabel("bottom", unit)
        n = len(classes)
        axis = self.getAxis("left")
        axis.setTicks([list(enumerate(classes))] if n <= MAX_NAMED_TICKS else None)
        for text in self._count_texts:
            self.removeItem(text)
        self._count_texts = []
        if n <= MAX_NAMED_TICKS:
            for i, count in enumerate(counts):
                text = pg.TextItem(f"{count:,}", color=(60, 60, 60), anchor=(0, 0.5))
                text.setPos(float(count), i)
                self.addItem(text)
                self._count_texts.append(text)
        self.setYRange(-0.6, max(n, 1) - 0.4, padding=0)
        # Room on the right for the count printed after the longest bar.
        self.setXRange(0, max(1, int(counts.max(initial=0))) * 1.15, padding=0)

    def highlight(self, counts: np.ndarray, active: int | None) -> None:
        """The bars again, ``active`` (a class index, or None) in the highlight colour."""
        n = len(counts)
        brushes = [pg.mkBrush(ACTIVE_COLOR if i == active else BAR_COLOR) for i in range(n)]
        self.bars.setOpts(x0=np.zeros(n), y=np.arange(n), height=0.8, width=counts, brushes=brushes)

    def row_at(self, scene_pos: QPointF, rows: int) -> int | None:
        """The class whose bar row is at ``scene_pos`` (None: outside the plot or past the last class)."""
        view_box = self.getViewBox()
        if not view_box.sceneBoundingRect().contains(scene_pos):
            return None
        row = round(view_box.mapSceneToView(scene_pos).y())
        return row if 0 <= row < rows else None
