"""The confusion-matrix heatmap: counts in the cells, class names on the axes, clickable cells."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QToolTip

#: Above this many classes the cells are too small for text; hovering still tells the value.
MAX_CLASSES_WITH_TEXT = 25
#: At most this many names per axis (fewer when they would overlap): every n-th class is named.
MAX_TICKS = 40


DIAGONAL = np.array([8, 48, 107], dtype=np.float64)  # right: blue
OFF_DIAGONAL = np.array([165, 15, 21], dtype=np.float64)  # confusions: red
MIN_VISIBLE = 0.15  # a single confusion among thousands must still be seen


def compact(count: int) -> str:
    """A count short enough for a cell: 948, 12.3k, 4.1M (pixel matrices count millions)."""
    if count < 10_000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k" if count < 100_000 else f"{count // 1000}k"
    return f"{count / 1e6:.1f}M"


def cell_intensity(values: np.ndarray) -> np.ndarray:
    """0..1 per cell: the diagonal scaled by its own maximum, the confusions by theirs.

    Scaling the two apart keeps a handful of errors visible next to a diagonal of thousands,
    which is what error analysis needs to see first.
    """
    n = len(values)
    diagonal = np.eye(n, dtype=bool)
    out = np.zeros_like(values, dtype=np.float64)
    for part in (diagonal, ~diagonal):
        top = values[part].max() if part.any() else 0.0
        if top > 0:
            out[part] = values[part] / top
    nonzero_errors = ~diagonal & (values > 0)
    out[nonzero_errors] = np.maximum(out[nonzero_errors], MIN_VISIBLE)
    return out


def cell_colours(intensity: np.ndarray) -> np.ndarray:
    """RGB image of the matrix: white to blue on the diagonal, white to red elsewhere."""
    n = len(intensity)
    base = np.where(np.eye(n, dtype=bool)[:, :, None], DIAGONAL, OFF_DIAGONAL)
    a = intensity[:, :, None]
    return (255.0 * (1.0 - a) + base * a).round().astype(np.uint8)


class ConfusionMatrixWidget(pg.PlotWidget):
    """Rows = true class (top to bottom), columns = predicted class (left to right)."""

    cell_clicked = Signal(int, int)  # true class, predicted class

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMenuEnabled(False)
        self.hideButtons()
        plot = self.getPlotItem()
        plot.invertY(True)
        plot.setAspectLocked(False)
        plot.setLabel("left", "True class")
        plot.setLabel("bottom", "Predicted class")
        for side in ("left", "bottom"):  # class axes: never "(x0.001)" units on an empty matrix
            plot.getAxis(side).enableAutoSIPrefix(False)
        view = plot.getViewBox()
        view.setMouseEnabled(x=True, y=True)  # wheel zooms, drag pans: a 1,000-class matrix stays usable
        view.sigRangeChanged.connect(self._update_ticks)
        view.sigResized.connect(self._update_ticks)
        self.image = pg.ImageItem(axisOrder="row-major")
        plot.addItem(self.image)
        self._texts: list[pg.TextItem] = []
        self.counts = np.zeros((0, 0), dtype=np.int64)
        self.values = np.zeros((0, 0))
        self.intensity = np.zeros((0, 0))
        self.classes: list[str] = []
        self.normalized = False
        self.scene().sigMouseClicked.connect(self._on_click)
        self.scene().sigMouseMoved.connect(self._on_hover)

    def set_matrix(self, counts: np.ndarray, classes: list[str], values: np.ndarray | None = None) -> None:
        """Show ``counts``; ``values`` (e.g. row-normalised rates) colour and label the cells instead."""
        refit = list(classes) != self.classes  # keep the user's zoom while only the numbers change
        self.counts = np.asarray(counts)
        self.classes = list(classes)
        self.normalized = values is not None
        self.values = np.asarray(values if values is not None else counts, dtype=np.float64)
        n = len(self.classes)
        shown = np.nan_to_num(self.values, nan=0.0)
        self.intensity = cell_intensity(shown)
        if n == 0:
            self.image.clear()
        else:
            self.image.setImage(cell_colours(self.intensity), autoLevels=False, levels=(0, 255))
            self.image.setRect(0, 0, n, n)
        self._set_texts()
        view = self.getPlotItem().getViewBox()
        size = max(n, 1)
        view.setLimits(xMin=-0.5, xMax=size + 0.5, yMin=-0.5, yMax=size + 0.5, minXRange=1, minYRange=1)
        if refit:
            self.fit()

    def fit(self) -> None:
        """Show the whole matrix."""
        size = max(len(self.classes), 1)
        self.getPlotItem().getViewBox().setRange(xRange=(0, size), yRange=(0, size), padding=0.02)
        self._update_ticks()

    def focus_cell(self, true_class: int, pred_class: int, span: int = 20) -> None:
        """Zoom onto a cell and its neighbours when the matrix is too large to read whole."""
        if len(self.classes) <= MAX_TICKS:
            return
        half = span / 2
        self.getPlotItem().getViewBox().setRange(
            xRange=(pred_class + 0.5 - half, pred_class + 0.5 + half),
            yRange=(true_class + 0.5 - half, true_class + 0.5 + half),
            padding=0,
        )

    def _update_ticks(self, *_args) -> None:
        """Name the visible classes, as many as fit without overlapping (thinned evenly, at most MAX_TICKS)."""
        plot = self.getPlotItem()
        view = plot.getViewBox()
        (x0, x1), (y0, y1) = view.viewRange()
        metrics = QFontMetrics(plot.getAxis("bottom").style.get("tickFont") or QFont())
        longest = max((metrics.horizontalAdvance(name) for name in self.classes), default=0)
        size = view.size()
        across = max(1, int(size.width() // (longest + 12))) if longest else MAX_TICKS
        down = max(1, int(size.height() // (metrics.height() + 2)))
        plot.getAxis("bottom").setTicks([self._ticks(x0, x1, min(across, MAX_TICKS))])
        plot.getAxis("left").setTicks([self._ticks(y0, y1, min(down, MAX_TICKS))])

    def _ticks(self, lo: float, hi: float, most: int) -> list[tuple[float, str]]:
        n = len(self.classes)
        first, last = max(0, int(np.floor(lo))), min(n, int(np.ceil(hi)))
        step = max(1, int(np.ceil((last - first) / most)))
        start = first - first % step  # keep the same names while panning
        return [(i + 0.5, self.classes[i]) for i in range(start, last, step) if i >= first]

    def _set_texts(self) -> None:
        plot = self.getPlotItem()
        for item in self._texts:
            plot.removeItem(item)
        self._texts = []
        n = len(self.classes)
        if n == 0 or n > MAX_CLASSES_WITH_TEXT:
            return
        font = QFont()
        font.setPointSize(8 if n > 12 else 9)
        for t in range(n):
            for p in range(n):
                value = self.values[t, p]
                if self.normalized:
                    text = "" if np.isnan(value) or value == 0 else f"{value:.2f}"
                else:
                    text = "" if value == 0 else compact(int(value))
                if not text:
                    continue
                dark = self.intensity[t, p] > 0.55
                item = pg.TextItem(text, color=QColor("white" if dark else "#202020"), anchor=(0.5, 0.5))
                item.setFont(font)
                item.setPos(p + 0.5, t + 0.5)
                plot.addItem(item)
                self._texts.append(item)

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """The (true, predicted) cell under a scene position, or None outside the matrix."""
        point = self.getPlotItem().getViewBox().mapSceneToView(scene_pos)
        p, t = int(np.floor(point.x())), int(np.floor(point.y()))
        n = len(self.classes)
        if 0 <= t < n and 0 <= p < n:
            return t, p
        return None

    def cell_center(self, true_class: int, pred_class: int) -> QPoint:
        """Widget coordinates of a cell's centre (for tests and keyboard use)."""
        view = self.getPlotItem().getViewBox()
        scene = view.mapViewToScene(QPointF(pred_class + 0.5, true_class + 0.5))
        return self.mapFromScene(scene)

    def _on_click(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            self.cell_clicked.emit(*cell)

    def hover_text(self, scene_pos: QPointF) -> str | None:
        """What hovering at ``scene_pos`` tells: the two class names, the count and its share of the row."""
        cell = self.cell_at(scene_pos)
        if cell is None:
            return None
        t, p = cell
        count = int(self.counts[t, p])
        row = int(self.counts[t].sum())
        share = f" ({count / row:.1%} of {self.classes[t]})" if row else ""
        names = f"true <b>{self.classes[t]}</b> → predicted <b>{self.classes[p]}</b>"
        return f"{names}: {count:,}{share}<br>click to see them"

    def _on_hover(self, scene_pos: QPointF) -> None:
        text = self.hover_text(scene_pos)
        if text is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(self.mapToGlobal(self.mapFromScene(scene_pos)), text, self)
