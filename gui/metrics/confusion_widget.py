"""The confusion-matrix heatmap: counts in the cells, class names on the axes, clickable cells.

One widget draws the classification and the pixel matrices, from 2 to 1,000 classes. A count is
written in its cell only when it fits there at the current zoom (hovering tells it always); every
class is named on both axes while the classes are a line of text apart (the predicted classes
rotated, long names abbreviated), else as many as fit, and hovering an axis names the class under
the cursor. Only the cells and names in view are visited, so a 1,000-class matrix stays fast.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QTransform
from PySide6.QtWidgets import QToolTip

#: Longer class names are abbreviated on the axes, in the middle ("a long…name 12"); hovering names them whole.
MAX_LABEL_PX = 110
#: Room around a count inside its cell, in pixels.
CELL_PADDING = 4
#: A matrix larger than this is zoomed onto a cell chosen elsewhere (its cells are too small to read whole).
READABLE_CLASSES = 40


DIAGONAL = np.array([8, 48, 107], dtype=np.float64)  # right: blue
OFF_DIAGONAL = np.array([165, 15, 21], dtype=np.float64)  # confusions: red
MIN_VISIBLE = 0.15  # a single confusion among thousands must still be seen


def compact(count: int, exact_below: int = 10_000) -> str:
    """A count short enough for a cell or a bar's foot: written out below ``exact_below``, then 12.3k, 123k,
    4.1M (pixel matrices count millions)."""
    if count < exact_below:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k" if count < 10 * exact_below else f"{count // 1000}k"
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
    a = intensity.astype(np.float32)[:, :, None]
    rgb = 255.0 - (255.0 - OFF_DIAGONAL.astype(np.float32)) * a  # float32: a 1,000-class matrix in ~20 ms
    diagonal = np.arange(len(intensity))
    rgb[diagonal, diagonal] = 255.0 - (255.0 - DIAGONAL) * a[diagonal, diagonal]
    return (rgb + 0.5).astype(np.uint8)


def cell_text(value: float, normalized: bool) -> str:
    """What a cell says: a rate with two decimals, or a compact count; nothing for zero or undefined."""
    if np.isnan(value) or value == 0:
        return ""
    return f"{value:.2f}" if normalized else compact(int(value))


class ClassAxis(pg.AxisItem):
    """An axis of class names: one per class while they are a line apart, else every n-th; the bottom
    axis writes them rotated (a name needs one line of width, whatever its length)."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self.classes: list[str] = []
        self.name_font = QFont()
        self.name_font.setPointSize(8)  # one point below the default: a name per class down to ~14 px a class
        self.name_metrics = QFontMetrics(self.name_font)
        self.setStyle(showValues=False)  # the names are drawn here, not by pyqtgraph's tick text
        self.enableAutoSIPrefix(False)
        self.set_classes([])

    def set_classes(self, classes: list[str]) -> None:
        self.classes = list(classes)
        self._abbreviated: dict[int, str] = {}
        # The names longest in characters are the longest on screen, give or take: 1,000 names measured in a few ms.
        longest_names = sorted(self.classes, key=len)[-20:]
        widths = [self.name_metrics.horizontalAdvance(name) for name in longest_names]
        self.longest = min(MAX_LABEL_PX, max(widths, default=0))
        self.rotated = None
        if self.orientation == "left":
            self.setWidth(self.longest + self.name_metrics.height() + 2 * self.style["tickTextOffset"][0])
        self._fit_height()

    def _fit_height(self) -> None:
        """The bottom axis writes its names across while each fits between its neighbours, else rotated."""
        if self.orientation != "bottom":
            return
        rotated = self.longest + 2 * self.style["tickTextOffset"][0] > self.spacing()
        if rotated != self.rotated:
            self.rotated = rotated
            text = self.longest if rotated else self.name_metrics.height()
            self.setHeight(text + self.name_metrics.height() + 2 * self.style["tickTextOffset"][0])

    def name_of(self, index: int) -> str:
        """Class ``index``'s name as the axis writes it (abbreviated past MAX_LABEL_PX)."""
        if index not in self._abbreviated:
            self._abbreviated[index] = self.name_metrics.elidedText(self.classes[index], Qt.ElideMiddle, MAX_LABEL_PX)
        return self._abbreviated[index]

    def _along(self, value: float) -> QPointF:
        """Axis coordinates of class coordinate ``value``."""
        return self.mapFromScene(self.linkedView().mapViewToScene(QPointF(value, value)))

    def spacing(self) -> float:
        """Pixels from one class to the next along this axis."""
        if self.linkedView() is None or not self.classes:
            return 0.0
        a, b = self._along(0.0), self._along(1.0)
        return abs(b.x() - a.x()) if self.orientation == "bottom" else abs(b.y() - a.y())

    def shown(self) -> list[tuple[int, str]]:
        """(class, name as written) of the classes named now: all in view when they are a line of text
        apart, else every n-th (the same ones while panning)."""
        view, n = self.linkedView(), len(self.classes)
        if view is None or n == 0:
            return []
        (x0, x1), (y0, y1) = view.viewRange()
        lo, hi = (x0, x1) if self.orientation == "bottom" else (y0, y1)
        first, last = max(0, int(np.floor(lo))), min(n, int(np.ceil(hi)))
        spacing = self.spacing()
        step = n if spacing <= 0 else max(1, int(np.ceil(self.name_metrics.height() / spacing)))
        start = first - first % step
        return [(i, self.name_of(i)) for i in range(start, last, step) if i >= first]

    def class_at(self, scene_pos: QPointF) -> int | None:
        """The class whose name is at ``scene_pos`` on this axis (named or thinned away), or None."""
        view = self.linkedView()
        if view is None or not self.sceneBoundingRect().contains(scene_pos):
            return None
        point = view.mapSceneToView(scene_pos)
        i = int(np.floor(point.x() if self.orientation == "bottom" else point.y()))
        return i if 0 <= i < len(self.classes) else None

    def update_ticks(self) -> None:
        """A tick per named class (pyqtgraph draws the ticks, :meth:`drawPicture` the names)."""
        self._fit_height()
        self.setTicks([[(i + 0.5, name) for i, name in self.shown()]])

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs) -> None:
        super().drawPicture(p, axisSpec, tickSpecs, [])
        p.setFont(self.name_font)
        p.setPen(self.textPen())
        bounds = self.mapRectFromParent(self.geometry())
        line = self.name_metrics.height()
        gap = self.style["tickTextOffset"][0]
        for i, name in self.shown():
            at = self._along(i + 0.5)
            if self.orientation == "bottom" and not self.rotated:
                rect = QRectF(at.x() - MAX_LABEL_PX / 2, bounds.top() + gap, MAX_LABEL_PX, line)
                p.drawText(rect, Qt.AlignHCenter | Qt.AlignTop, name)
            elif self.orientation == "bottom":  # rotated: read upwards, ending at the axis
                p.save()
                p.translate(at.x(), bounds.top() + gap)
                p.rotate(-90)
                p.drawText(QRectF(-MAX_LABEL_PX, -line / 2, MAX_LABEL_PX, line), Qt.AlignRight | Qt.AlignVCenter, name)
                p.restore()
            else:
                rect = QRectF(bounds.right() - gap - MAX_LABEL_PX, at.y() - line / 2, MAX_LABEL_PX, line)
                p.drawText(rect, Qt.AlignRight | Qt.AlignVCenter, name)


class CellTexts(pg.GraphicsObject):
    """The numbers in the cells, each drawn only where it fits its cell at the current zoom."""

    def __init__(self) -> None:
        super().__init__()
        self.values = np.zeros((0, 0))
        self.intensity = np.zeros((0, 0))
        self.normalized = False
        self.text_font = QFont()
        self.text_font.setPointSize(8)
        self.text_metrics = QFontMetrics(self.text_font)
        # Numbers have no descenders: their ink's height, not the line's, must fit a cell.
        self.text_height = self.text_metrics.tightBoundingRect("0123456789.kM").height() + 2

    def set_cells(self, values: np.ndarray, intensity: np.ndarray, normalized: bool) -> None:
        self.prepareGeometryChange()
        self.values, self.intensity, self.normalized = values, intensity, normalized
        self.update()

    def boundingRect(self) -> QRectF:
        n = len(self.values)
        return QRectF(0, 0, n, n)

    def fitting(self, transform: QTransform | None = None) -> list[tuple[int, int, str]]:
        """(true, predicted, text) of the cells in view whose text fits them under ``transform``
        (cell to device pixels; default: as shown now)."""
        view, widget = self.getViewBox(), self.getViewWidget()
        if view is None or widget is None or not len(self.values):
            return []
        if transform is None:
            transform = self.sceneTransform() * widget.viewportTransform()
        cell = transform.mapRect(QRectF(0, 0, 1, 1))
        if cell.height() < self.text_height:
            return []
        n = len(self.values)
        (x0, x1), (y0, y1) = view.viewRange()
        rows = range(max(0, int(np.floor(y0))), min(n, int(np.ceil(y1))))
        columns = range(max(0, int(np.floor(x0))), min(n, int(np.ceil(x1))))
        room = cell.width() - CELL_PADDING
        found = []
        for t in rows:
            for c in columns:
                text = cell_text(self.values[t, c], self.normalized)
                if text and self.text_metrics.horizontalAdvance(text) <= room:
                    found.append((t, c, text))
        return found

    def paint(self, p, *_args) -> None:
        transform = p.transform()
        cells = self.fitting(transform)
        if not cells:
            return
        p.save()
        p.resetTransform()  # text in pixels, not in (stretched) cell units
        p.setFont(self.text_font)
        for t, c, text in cells:
            p.setPen(QColor("white" if self.intensity[t, c] > 0.55 else "#202020"))
            p.drawText(transform.mapRect(QRectF(c, t, 1, 1)), Qt.AlignCenter, text)
        p.restore()


class ConfusionMatrixWidget(pg.PlotWidget):
    """Rows = true class (top to bottom), columns = predicted class (left to right)."""

    cell_clicked = Signal(int, int)  # true class, predicted class
    #: A right-click on a cell: true class, predicted class, where (global) a menu of its actions may open.
    cell_menu_requested = Signal(int, int, QPoint)

    def __init__(self, parent=None) -> None:
        axes = {"bottom": ClassAxis("bottom"), "left": ClassAxis("left")}
        super().__init__(parent, axisItems=axes)
        self.axes = axes
        self.setBackground("w")
        self.setMenuEnabled(False)
        self.hideButtons()
        plot = self.getPlotItem()
        plot.invertY(True)
        plot.setAspectLocked(False)
        plot.setLabel("left", "True class")
        plot.setLabel("bottom", "Predicted class")
        view = plot.getViewBox()
        view.setMouseEnabled(x=True, y=True)  # wheel zooms, drag pans: a 1,000-class matrix stays usable
        view.sigRangeChanged.connect(self._update_ticks)
        view.sigResized.connect(self._update_ticks)
        self.image = pg.ImageItem(axisOrder="row-major")
        plot.addItem(self.image)
        self.cell_texts = CellTexts()
        plot.addItem(self.cell_texts)
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
        self.cell_texts.set_cells(self.values, self.intensity, self.normalized)
        if refit:
            for axis in self.axes.values():
                axis.set_classes(self.classes)
            self.getPlotItem().layout.activate()  # the axes' new room now: cells are where cell_center says
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
        if len(self.classes) <= READABLE_CLASSES:
            return
        half = span / 2
        self.getPlotItem().getViewBox().setRange(
            xRange=(pred_class + 0.5 - half, pred_class + 0.5 + half),
            yRange=(true_class + 0.5 - half, true_class + 0.5 + half),
            padding=0,
        )

    def labels_shown(self, side: str) -> list[tuple[int, str]]:
        """(class, name as written) on the "bottom" (predicted) or "left" (true) axis, as shown now."""
        return self.axes[side].shown()

    def _update_ticks(self, *_args) -> None:
        for axis in self.axes.values():
            axis.update_ticks()

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
        if event.button() not in (Qt.LeftButton, Qt.RightButton):
            return
        cell = self.cell_at(event.scenePos())
        if cell is None:
            return
        if event.button() == Qt.LeftButton:
            self.cell_clicked.emit(*cell)
        else:
            self.cell_menu_requested.emit(*cell, self.mapToGlobal(self.mapFromScene(event.scenePos())))

    def hover_text(self, scene_pos: QPointF) -> str | None:
        """What hovering at ``scene_pos`` tells: over a cell the two class names, the count and its share
        of the row; over an axis the whole name of the class there."""
        for side, what in (("bottom", "predicted"), ("left", "true")):
            index = self.axes[side].class_at(scene_pos)
            if index is not None:
                return f"{what} class {index}: <b>{self.classes[index]}</b>"
        cell = self.cell_at(scene_pos)
        if cell is None:
            return None
        t, p = cell
        count = int(self.counts[t, p])
        row = int(self.counts[t].sum())
        share = f" ({count / row:.1%} of {self.classes[t]})" if row else ""
        names = f"true <b>{self.classes[t]}</b> → predicted <b>{self.classes[p]}</b>"
        rate = f", rate {self.values[t, p]:.3f}" if self.normalized and not np.isnan(self.values[t, p]) else ""
        return f"{names}: {count:,}{share}{rate}<br>click to see them"

    def _on_hover(self, scene_pos: QPointF) -> None:
        text = self.hover_text(scene_pos)
        if text is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(self.mapToGlobal(self.mapFromScene(scene_pos)), text, self)
