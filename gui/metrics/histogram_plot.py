"""The histogram of a per-sample (or per-image) score whose bars and shaded range select samples.

One widget for the error analysis of classifiers and the per-image view of segmenters. The tail is
the point of such a histogram (the few samples with a huge loss), so the count axis turns
logarithmic by itself when the counts span more than two decades, and can be switched by hand.

pyqtgraph's log mode does not transform a BarGraphItem (pyqtgraph issue #2535): the axis would show
powers of ten of the linear heights. So the plot sets only the axis to log and hands the bars
log10(count) itself, from a floor of log10(0.5): a bar of one sample stays visible, an empty bin has
no bar (log 0 has no place on the axis).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtWidgets import QCheckBox

from core.evaluation import ranking

#: Counts whose largest and smallest non-zero values differ by more than this get a log axis.
LOG_SPAN = 100
#: The bottom of the bars on a log axis: half a sample, so that a bar of one sample shows.
LOG_FLOOR = float(np.log10(0.5))
HINT = "Drag the shaded range or its edges, or click a bar, to see those samples"


def wants_log(counts: np.ndarray) -> bool:
    """The counts span more than two decades: on a linear axis the tail would be invisible."""
    filled = np.asarray(counts)[np.asarray(counts) > 0]
    return filled.size > 0 and filled.max() > LOG_SPAN * filled.min()


class HistogramPlot(pg.PlotWidget):
    """Bars of counts over ``edges``, a shaded range that follows drags and clicked bars.

    ``bar_clicked(b)`` and ``range_chosen(lo, hi)`` report the user's choice; the caption above the
    plot says what the shaded range is (``describe``).
    """

    bar_clicked = Signal(int)
    range_chosen = Signal(float, float)
    log_changed = Signal(bool)

    def __init__(self, parent=None, ylabel: str = "Samples") -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMenuEnabled(False)
        self.hideButtons()
        self.ylabel = ylabel
        plot = self.getPlotItem()
        plot.setLabel("left", ylabel)
        plot.getViewBox().setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x0=[], width=[], height=[], brush="#9ecae1", pen="w")
        plot.addItem(self.bars)
        self.region = pg.LinearRegionItem(brush=(255, 127, 14, 50))
        self.region.setZValue(10)
        self.region.setToolTip("The shaded range: drag it, or its edges, to select the samples inside")
        plot.addItem(self.region)
        self.region.sigRegionChangeFinished.connect(lambda: self.range_chosen.emit(*self.region.getRegion()))
        self.scene().sigMouseClicked.connect(self._clicked)
        self.counts, self.edges = np.zeros(0, dtype=np.int64), np.linspace(0, 1, 2)
        self.log = False
        self._log_by_hand: bool | None = None  # the user's choice, which wins over the automatic one
        self.describe(HINT)

    # -- what is shown --------------------------------------------------------------
    def set_histogram(self, counts: np.ndarray, edges: np.ndarray, name: str, worst_high: bool) -> None:
        """New bars; the shaded range starts on the worst fifth (a drag from there is the common question)."""
        self.counts, self.edges = np.asarray(counts), np.asarray(edges, dtype=np.float64)
        self.getPlotItem().setLabel("bottom", name)
        span = edges[-1] - edges[0]
        lo, hi = (edges[-1] - span / 5, edges[-1]) if worst_high else (edges[0], edges[0] + span / 5)
        self.region.setBounds((edges[0], edges[-1]))
        self.show_range(lo, hi)
        self._set_log(wants_log(self.counts) if self._log_by_hand is None else self._log_by_hand)
        self.describe(HINT)

    def set_log(self, on: bool) -> None:
        """The user's choice of a log count axis (kept for the next histograms)."""
        self._log_by_hand = bool(on)
        self._set_log(bool(on))

    def show_range(self, lo: float, hi: float) -> None:
        """Move the shaded range without reporting it as the user's choice."""
        self.region.blockSignals(True)
        self.region.setRegion((lo, hi))
        self.region.blockSignals(False)

    def describe(self, text: str) -> None:
        """The caption above the plot: what the shaded range holds, or how to use it."""
        self.getPlotItem().setTitle(text, size="9pt", color="#444")

    def _set_log(self, on: bool) -> None:
        changed, self.log = on != self.log, on
        plot, counts = self.getPlotItem(), self.counts
        plot.getAxis("left").setLogMode(False, on)
        plot.setLabel("left", f"{self.ylabel} (log scale)" if on else self.ylabel)
        top = float(counts.max(initial=0))
        if on:
            filled = counts > 0
            y0 = np.full(counts.shape, LOG_FLOOR)
            y1 = np.where(filled, np.log10(np.maximum(counts, 1)), LOG_FLOOR)
            self.bars.setOpts(x0=self.edges[:-1], width=np.diff(self.edges), y0=y0, y1=y1, height=None)
            y_range = (LOG_FLOOR, max(np.log10(max(top, 1)), 0.0) + 0.15)
        else:
            self.bars.setOpts(x0=self.edges[:-1], width=np.diff(self.edges), y0=0, y1=None, height=counts)
            y_range = (0, max(top, 1))
        plot.setRange(xRange=(self.edges[0], self.edges[-1]), yRange=y_range)
        if changed:
            self.log_changed.emit(on)

    # -- where the user points --------------------------------------------------------
    def bar_at(self, scene_pos: QPointF) -> int | None:
        x = self.getPlotItem().getViewBox().mapSceneToView(scene_pos).x()
        if self.counts.size == 0 or not self.edges[0] <= x <= self.edges[-1]:
            return None
        return int(ranking.bin_of(np.array([x]), self.edges)[0])

    def bar_center(self, b: int) -> QPoint:
        """The widget position of the middle of bar ``b`` (of a stub of half a sample when it is empty)."""
        view = self.getPlotItem().getViewBox()
        count = max(int(self.counts[b]), 1)
        y = (LOG_FLOOR + np.log10(count)) / 2 if self.log else count / 2
        point = QPointF((self.edges[b] + self.edges[b + 1]) / 2, y)
        return self.mapFromScene(view.mapViewToScene(point))

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton or not self.counts.size:
            return
        b = self.bar_at(event.scenePos())
        if b is not None:
            self.show_range(self.edges[b], self.edges[b + 1])  # the shaded range follows the clicked bar
            self.bar_clicked.emit(b)


def log_check(plot: HistogramPlot) -> QCheckBox:
    """A "Log count" switch that follows the plot's automatic choice and, once clicked, overrides it."""
    check = QCheckBox("Log count", toolTip="A logarithmic count axis (on by itself when the counts span >2 decades)")
    check.clicked.connect(plot.set_log)
    plot.log_changed.connect(check.setChecked)
    return check
