"""One threshold curve (precision-recall or ROC): hover reads a point, a click picks its threshold."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, Signal

from gui.glossary_tips import metric_tooltip

#: A hover or click further than this from the curve (in pixels) finds no point.
NEAR_PX = 25
AXES = {"pr": ("Recall", "Precision"), "roc": ("False positive rate", "True positive rate")}
GLOSSARY_NAME = {"pr": "Precision–recall curve", "roc": "ROC curve"}
CURVE_PEN = pg.mkPen("#1f77b4", width=2)


class CurvePlot(pg.PlotWidget):
    """x, y and the threshold of every point; the current operating point and the best F-beta point marked."""

    point_clicked = Signal(float)  # the threshold of the clicked point

    def __init__(self, kind: str, parent=None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setBackground("w")
        self.setMenuEnabled(False)
        self.hideButtons()
        plot = self.getPlotItem()
        x_name, y_name = AXES[kind]
        plot.setLabel("bottom", x_name)
        plot.setLabel("left", y_name)
        plot.showGrid(x=True, y=True, alpha=0.2)
        self.setToolTip(metric_tooltip(GLOSSARY_NAME[kind]))
        plot.setRange(xRange=(0, 1), yRange=(0, 1.02), padding=0.02)
        plot.getViewBox().setMouseEnabled(x=False, y=False)
        self.legend = plot.addLegend(offset=(-10, -10) if kind == "pr" else (-10, 10))
        if kind == "roc":
            plot.plot([0, 1], [0, 1], pen=pg.mkPen("#999", style=Qt.DashLine))
        self.curve = plot.plot([], [], pen=CURVE_PEN, name=" ")
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self.best = pg.ScatterPlotItem(symbol="star", size=16, brush="#2ca02c", pen="w", name="best")
        self.marker = pg.ScatterPlotItem(symbol="o", size=12, brush="#d62728", pen="w")
        self.hover_dot = pg.ScatterPlotItem(symbol="o", size=8, brush=None, pen=pg.mkPen("k", width=1.5))
        for item in (self.best, self.marker, self.hover_dot):
            plot.addItem(item)
        self.x = self.y = self.thresholds = np.zeros(0)
        self.readout = ""
        self.scene().sigMouseMoved.connect(self._on_hover)
        self.scene().sigMouseClicked.connect(self._on_click)

    def set_curve(self, x: np.ndarray, y: np.ndarray, thresholds: np.ndarray, name: str) -> None:
        """``thresholds[i]`` is the threshold of point i (NaN or inf where there is none)."""
        self.x, self.y, self.thresholds = (np.asarray(a, dtype=np.float64) for a in (x, y, thresholds))
        shown = ~(np.isnan(self.x) | np.isnan(self.y))
        self.curve.setData(self.x[shown], self.y[shown])
        self.legend.getLabel(self.curve).setText(name)
        self.hover_dot.setData([], [])
        self.set_title("hover the curve to read it; click a point to use its threshold")

    def set_marker(self, x: float, y: float, best: tuple[float, float] | None = None) -> None:
        """The current operating point (and the best F-beta point, if any)."""
        ok = not (np.isnan(x) or np.isnan(y))
        self.marker.setData([x] if ok else [], [y] if ok else [])
        self.best.setData([best[0]] if best else [], [best[1]] if best else [])

    def set_title(self, text: str) -> None:
        self.readout = text
        self.getPlotItem().setTitle(text, size="9pt", color="#333")

    def nearest(self, scene_pos: QPointF) -> int | None:
        """Index of the curve point nearest to a scene position, within NEAR_PX pixels."""
        if self.x.size == 0:
            return None
        view = self.getPlotItem().getViewBox()
        point = view.mapSceneToView(scene_pos)
        px, py = view.viewPixelSize()
        dist = ((self.x - point.x()) / px) ** 2 + ((self.y - point.y()) / py) ** 2
        best = int(np.nanargmin(dist)) if not np.isnan(dist).all() else None
        return best if best is not None and dist[best] <= NEAR_PX**2 else None

    def point_position(self, index: int) -> QPoint:
        """Widget coordinates of curve point ``index`` (for tests and keyboard use)."""
        view = self.getPlotItem().getViewBox()
        return self.mapFromScene(view.mapViewToScene(QPointF(self.x[index], self.y[index])))

    def describe(self, index: int) -> str:
        t = self.thresholds[index]
        threshold = f"threshold {t:.4f}" if np.isfinite(t) else "no threshold (nothing predicted)"
        names = ("recall", "precision") if self.kind == "pr" else ("FPR", "TPR")
        return f"{threshold} · {names[1]} {self.y[index]:.3f} · {names[0]} {self.x[index]:.3f}"

    def _on_hover(self, scene_pos: QPointF) -> None:
        index = self.nearest(scene_pos)
        if index is None:
            self.hover_dot.setData([], [])
            return
        self.hover_dot.setData([self.x[index]], [self.y[index]])
        self.set_title(self.describe(index))

    def _on_click(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        index = self.nearest(event.scenePos())
        if index is not None and np.isfinite(self.thresholds[index]):
            self.point_clicked.emit(float(self.thresholds[index]))
