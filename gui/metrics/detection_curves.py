"""The "PR curves" tab: precision against recall at IoU 0.5, per class, several classes overlaid.

Each curve has a point per distinct detection score (``pr_curves`` of the run's metrics.json); the star marks the
class's best F1, the circle the point at the current score threshold. Hovering reads the nearest point (score
threshold, precision, recall); a click makes that point's score the score threshold of every view.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from gui.glossary_tips import text_tooltip
from gui.metrics.curve_plot import NEAR_PX

#: Classes whose curves are drawn when a run is first shown (the most objects first).
SHOWN_AT_FIRST = 3
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
HINT = "hover: read a point · click: use its score as the threshold"


def _floats(values) -> np.ndarray:
    """A list from JSON (None for NaN) as float64."""
    return np.array([np.nan if v is None else v for v in values or ()], dtype=np.float64)


def curve_arrays(curve: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(recall, precision, scores) of one class's ``pr_curves`` entry."""
    return _floats(curve.get("recall")), _floats(curve.get("precision")), _floats(curve.get("scores"))


def point_at(scores: np.ndarray, threshold: float) -> int | None:
    """The curve point of a score threshold: the last (lowest) score still kept; None when no detection is."""
    kept = np.flatnonzero(scores >= threshold)
    return int(kept[-1]) if len(kept) else None


class DetectionCurves(QWidget):
    """A checkable class list beside the plot."""

    threshold_clicked = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.curves: dict[str, dict] = {}
        self.threshold = float("nan")
        self.points: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []  # class, recall, precision, scores
        self.classes: list[str] = []
        self.class_list = QListWidget(toolTip="Tick the classes whose curves are drawn")
        self.class_list.itemChanged.connect(lambda _item: self._draw())
        self.none_button = QPushButton("None", toolTip="Untick every class")
        self.none_button.clicked.connect(lambda: self.set_checked([]))
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.setLabel("bottom", "Recall")
        item.setLabel("left", "Precision")
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setRange(xRange=(0, 1), yRange=(0, 1.02), padding=0.02)
        item.getViewBox().setMouseEnabled(x=False, y=False)
        self.legend = item.addLegend(offset=(-10, -10))
        self.hover_dot = pg.ScatterPlotItem(symbol="o", size=9, brush=None, pen=pg.mkPen("k", width=1.5))
        self.readout = ""
        self.plot.scene().sigMouseMoved.connect(self._on_hover)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        side = QVBoxLayout()
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(QLabel("Classes"))
        side.addWidget(self.class_list, 1)
        side.addWidget(self.none_button)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(side)
        layout.addWidget(self.plot, 1)
        self.class_list.setMaximumWidth(160)

    # -- data ------------------------------------------------------------------------
    def show_summary(self, summary: dict | None) -> None:
        """The curves of a metrics.json dict; the classes ticked stay ticked while the classes stay the same."""
        classes = [] if summary is None else list(summary["classes"])
        self.curves = {} if summary is None else summary.get("pr_curves", {})
        self.threshold = float("nan") if summary is None else float(summary["score_threshold"])
        if classes != self.classes:
            self.classes = classes
            self._fill_list(summary)
        self._draw()

    def _fill_list(self, summary: dict | None) -> None:
        objects = {name: (summary or {}).get("per_class", {}).get(name, {}).get("objects", 0) for name in self.classes}
        first = sorted(range(len(self.classes)), key=lambda c: -(objects[self.classes[c]] or 0))[:SHOWN_AT_FIRST]
        self.class_list.blockSignals(True)
        self.class_list.clear()
        for c, name in enumerate(self.classes):
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if c in first else Qt.Unchecked)
            self.class_list.addItem(item)
        self.class_list.blockSignals(False)

    def checked(self) -> list[int]:
        return [c for c in range(self.class_list.count()) if self.class_list.item(c).checkState() == Qt.Checked]

    def set_checked(self, classes: list[int]) -> None:
        self.class_list.blockSignals(True)
        for c in range(self.class_list.count()):
            self.class_list.item(c).setCheckState(Qt.Checked if c in classes else Qt.Unchecked)
        self.class_list.blockSignals(False)
        self._draw()

    # -- drawing ---------------------------------------------------------------------
    def _draw(self) -> None:
        item = self.plot.getPlotItem()
        item.clear()
        self.legend.clear()
        self.points = []
        for c in self.checked():
            self._draw_class(c)
        item.addItem(self.hover_dot)
        self.hover_dot.setData([], [])
        self.set_title(HINT if self.points else "tick a class to draw its precision-recall curve")

    def _draw_class(self, c: int) -> None:
        name, item = self.classes[c], self.plot.getPlotItem()
        curve = self.curves.get(name) or {}
        recall, precision, scores = curve_arrays(curve)
        colour = COLOURS[c % len(COLOURS)]
        line = item.plot(recall, precision, pen=pg.mkPen(colour, width=2), name=name, connect="finite")
        line.setDownsampling(auto=True, method="peak")
        self.points.append((c, recall, precision, scores))
        best = curve.get("best_f1") or {}
        if best.get("recall") is not None and best.get("precision") is not None:
            star = pg.ScatterPlotItem([best["recall"]], [best["precision"]], symbol="star", size=16, brush=colour)
            star.setPen(pg.mkPen("w"))
            item.addItem(star)
        at = point_at(scores, self.threshold) if np.isfinite(self.threshold) else None
        if at is not None and np.isfinite(recall[at]) and np.isfinite(precision[at]):
            dot = pg.ScatterPlotItem([recall[at]], [precision[at]], symbol="o", size=11, brush=colour)
            dot.setPen(pg.mkPen("k", width=1.5))
            item.addItem(dot)

    def set_title(self, text: str) -> None:
        self.readout = text
        self.plot.getPlotItem().setTitle(text, size="9pt", color="#333")
        self.plot.setToolTip(text_tooltip(text))

    # -- reading and clicking ----------------------------------------------------------
    def nearest(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """(class, point) of the curve point nearest to a scene position, within NEAR_PX pixels."""
        view = self.plot.getPlotItem().getViewBox()
        where = view.mapSceneToView(scene_pos)
        px, py = view.viewPixelSize()
        best, found = NEAR_PX**2, None
        for c, recall, precision, _scores in self.points:
            if not len(recall):
                continue
            distance = np.nan_to_num(((recall - where.x()) / px) ** 2 + ((precision - where.y()) / py) ** 2, nan=np.inf)
            k = int(np.argmin(distance))
            if distance[k] <= best:
                best, found = distance[k], (c, k)
        return found

    def describe(self, c: int, k: int) -> str:
        _c, recall, precision, scores = next(p for p in self.points if p[0] == c)
        return f"{self.classes[c]} · score ≥ {scores[k]:.3f} · precision {precision[k]:.3f} · recall {recall[k]:.3f}"

    def point_position(self, c: int, k: int) -> QPoint:
        """Widget coordinates of point ``k`` of class ``c``'s curve (for tests and keyboard use)."""
        _c, recall, precision, _s = next(p for p in self.points if p[0] == c)
        view = self.plot.getPlotItem().getViewBox()
        return self.plot.mapFromScene(view.mapViewToScene(QPointF(recall[k], precision[k])))

    def _on_hover(self, scene_pos: QPointF) -> None:
        found = self.nearest(scene_pos)
        if found is None:
            self.hover_dot.setData([], [])
            return
        c, k = found
        _c, recall, precision, _s = next(p for p in self.points if p[0] == c)
        self.hover_dot.setData([recall[k]], [precision[k]])
        self.set_title(self.describe(c, k))

    def _on_click(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        found = self.nearest(event.scenePos())
        if found is not None:
            c, k = found
            scores = next(p for p in self.points if p[0] == c)[3]
            if np.isfinite(scores[k]):
                self.threshold_clicked.emit(float(scores[k]))

    def csv_rows(self) -> list[list]:
        """Every point of the curves drawn."""
        rows = [["class", "score", "precision", "recall"]]
        for c, recall, precision, scores in self.points:
            rows += [[self.classes[c], s, p, r] for s, p, r in zip(scores, precision, recall)]
        return rows
