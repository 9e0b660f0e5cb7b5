"""The points of the embedding map, drawn fast enough for 100,000 of them, and the lasso / box drags.

pyqtgraph's ScatterPlotItem computes a Python key per point whenever its brushes change: 1.6 to 2.8 s
for 100,000 points at every change of "Colour by" on a shared 2-CPU machine (benchmarks/bench_map_view.py).
Its drawing is fine: every symbol is stamped from a pre-rendered atlas in one ``drawPixmapFragments`` call.
:class:`MapPointsItem` keeps that drawing and replaces the bookkeeping with numpy: each point carries the
index of its cell in a small atlas (colour x look: dimmed, normal, selected), and a paint maps the
coordinates with the painter's transform, drops the points outside the painted area and those hidden
under a later dot at the same pixel, and stamps the rest, the emphasised looks last.

Pans, the most frequent repaint, are cheaper still: the item is cached in device coordinates, so Qt
scrolls its picture and has only the newly exposed strips painted.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

#: The looks of a point, in drawing order (a later look is drawn over an earlier one).
DIM, NORMAL, SELECTED = 0, 1, 2
LOOKS = 3
#: Lasso vertices closer than this to the previous one (in pixels) are dropped: the outline stays as
#: drawn, and a long lasso keeps a few hundred vertices.
LASSO_STEP_PX = 3.0


def dot_size(count: int) -> int:
    """The diameter of a dot in pixels: smaller as the map gets crowded."""
    return 8 if count <= 2_000 else 6 if count <= 30_000 else 5


class MapPointsItem(pg.GraphicsObject):
    """Points at fixed pixel size, coloured from a table, each in one of three looks (see LOOKS)."""

    def __init__(self) -> None:
        super().__init__()
        # Panning moves the item without scaling it: Qt then scrolls a cached picture of it and paints the
        # newly exposed strips only (the painter is clipped to them), instead of a full repaint at every
        # mouse move. A zoom repaints in full.
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self._xy = np.zeros((0, 2))  # finite points, in drawing order
        self._given_xy: np.ndarray | None = None  # the layout as given (its bounds are computed once)
        self._cells = np.zeros(0, np.int64)  # atlas cell of each, in drawing order
        self._bounds: np.ndarray | None = None  # [[xmin, ymin], [xmax, ymax]] of the finite points
        self._table = np.zeros((0, 3), np.uint8)
        self.size = 6
        self._atlas: QPixmap | None = None
        self._atlas_dpr = 0.0
        self._fragments = internals.PrimitiveArray(QPainter.PixmapFragment, 10)
        self._sources: np.ndarray | None = None  # per point (drawing order): its cell's corner in the atlas
        self._columns = 32

    # -- what is drawn -----------------------------------------------------------------
    def set_points(self, xy: np.ndarray, colour: np.ndarray, look: np.ndarray, table: np.ndarray) -> None:
        """``xy`` (F x 2, finite), each point's row of ``table`` (T x 3 uint8) and its look (DIM, NORMAL,
        SELECTED). Points are drawn dimmed first, selected last; in their given order within a look."""
        self.prepareGeometryChange()
        look = np.asarray(look)
        if xy is not self._given_xy:  # a new layout, not new looks or colours of the same one
            self._given_xy = xy
            self._bounds = np.array([xy.min(axis=0), xy.max(axis=0)], np.float64) if len(xy) else None
        if len(look) and look.min() == look.max():
            self._xy = np.asarray(xy, dtype=np.float64)
            self._cells = np.asarray(colour, np.int64) * LOOKS + look.astype(np.int64)
        else:
            order = np.concatenate([np.flatnonzero(look == k) for k in range(LOOKS)])  # a stable sort by look, O(N)
            self._xy = np.asarray(xy, dtype=np.float64)[order]
            self._cells = np.asarray(colour, np.int64)[order] * LOOKS + look[order].astype(np.int64)
        new_size = dot_size(len(self._xy))
        if new_size != self.size or not np.array_equal(table, self._table):
            self.size, self._table = new_size, np.asarray(table, np.uint8).copy()
            self._atlas = None
        self._sources = None  # the cells' places in the atlas, computed with the atlas
        self.update()

    @property
    def cell(self) -> int:
        """The side of an atlas cell: a selected dot with its outline, and a pixel to spare."""
        return self.size + 5

    def colour_of(self, look: int, colour: int) -> QColor:
        """The fill of a dot of this colour row and look (for tests and the legend)."""
        r, g, b = (int(v) for v in self._table[colour])
        if look == DIM:  # faded toward white: the emphasised points stand out
            return QColor(int(r + (255 - r) * 0.75), int(g + (255 - g) * 0.75), int(b + (255 - b) * 0.75))
        return QColor(r, g, b)

    def _build_atlas(self, dpr: float) -> None:
        cell, columns = self.cell, 32
        rows = -(-len(self._table) * LOOKS // columns)
        atlas = QPixmap(int(cell * columns * dpr), int(cell * max(rows, 1) * dpr))
        atlas.setDevicePixelRatio(dpr)
        atlas.fill(Qt.transparent)
        painter = QPainter(atlas)
        painter.setRenderHint(QPainter.Antialiasing)
        for colour in range(len(self._table)):
            for look in range(LOOKS):
                k = colour * LOOKS + look
                self._draw_dot(painter, look, colour, (k % columns) * cell, (k // columns) * cell)
        painter.end()
        self._atlas, self._atlas_dpr, self._columns = atlas, dpr, columns

    def _draw_dot(self, painter: QPainter, look: int, colour: int, left: float, top: float) -> None:
        fill = self.colour_of(look, colour)
        diameter = self.size + (2 if look == SELECTED else 0)
        if look == SELECTED:
            painter.setPen(QPen(QColor(20, 20, 20), 1.5))
        elif look == NORMAL:
            painter.setPen(QPen(fill.darker(140), 0.8))
        else:
            painter.setPen(Qt.NoPen)
        painter.setBrush(fill)
        offset = (self.cell - diameter) / 2
        painter.drawEllipse(QRectF(left + offset, top + offset, diameter, diameter))

    # -- painting ----------------------------------------------------------------------
    def paint(self, painter: QPainter, option, widget=None) -> None:
        if not len(self._xy):
            return
        dpr = painter.device().devicePixelRatioF()  # the screen's, or the cache pixmap's
        if self._atlas is None or dpr != self._atlas_dpr:
            self._build_atlas(dpr)
        if self._sources is None:
            cell = self.cell * dpr
            self._sources = np.stack([self._cells % self._columns * cell, self._cells // self._columns * cell], 1)
        to_device = painter.transform()
        painter.resetTransform()  # from here on, the painter's coordinates are the device's pixels
        x, y, shown = self._on_screen(to_device, _painted_areas(painter))
        if not len(shown):
            return
        self._fragments.resize(len(shown))
        frags = self._fragments.ndarray()
        frags[:, 0], frags[:, 1] = x, y
        frags[:, 2:4] = self._sources[shown]
        # source width, height; scale x, scale y (the atlas is drawn at the screen's pixel ratio); rotation, opacity
        frags[:, 4:10] = (self.cell * dpr, self.cell * dpr, 1 / dpr, 1 / dpr, 0.0, 1.0)
        painter.drawPixmapFragments(*self._fragments.drawargs(), self._atlas)

    def _on_screen(self, t: QTransform, areas: list[QRect]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Device positions (whole pixels) and indices of the points that show: within the areas being
        painted (plus a dot's margin), and not under a later point at the same pixel.

        The second part is what keeps a zoomed-out map of 100,000 points fast: in its dense clusters most
        points land on a pixel that a later one (drawn over it, the same size or larger) covers entirely.
        The dots are opaque, so dropping the covered ones changes nothing but the time.
        """
        if not areas:
            return np.zeros(0), np.zeros(0), np.zeros(0, np.int64)
        px, py = self._xy[:, 0], self._xy[:, 1]
        x = np.rint(px * t.m11() + py * t.m21() + t.dx())
        y = np.rint(px * t.m12() + py * t.m22() + t.dy())
        m = self.cell
        inside = np.zeros(len(x), bool)
        for area in areas:
            inside |= (x > area.left() - m) & (x < area.right() + m) & (y > area.top() - m) & (y < area.bottom() + m)
        keep = np.flatnonzero(inside)
        span = areas[0]
        for area in areas[1:]:
            span = span.united(area)
        left, top = span.left() - m, span.top() - m
        width, height = span.width() + 2 * m, span.height() + 2 * m
        pixel = (y[keep] - top).astype(np.int64) * width + (x[keep] - left).astype(np.int64)
        last = np.full(width * height, -1, np.int64)
        order = np.arange(len(keep))
        np.maximum.at(last, pixel, order)  # per pixel, the last point drawn there
        keep = keep[last[pixel] == order]
        return x[keep], y[keep], keep

    # -- geometry, for the view's auto-range and repaints -----------------------------
    def boundingRect(self) -> QRectF:
        if self._bounds is None:
            return QRectF()
        (x0, y0), (x1, y1) = self._bounds
        pad_x = pad_y = 0.0
        vectors = self.pixelVectors()
        if vectors is not None and vectors[0] is not None:
            pad_x = self.cell * abs(vectors[0].x()) + self.cell * abs(vectors[1].x())
            pad_y = self.cell * abs(vectors[0].y()) + self.cell * abs(vectors[1].y())
        return QRectF(x0 - pad_x, y0 - pad_y, x1 - x0 + 2 * pad_x, y1 - y0 + 2 * pad_y)

    def viewTransformChanged(self) -> None:
        self.prepareGeometryChange()  # the padding in data units follows the zoom

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        if self._bounds is None:
            return None, None
        return float(self._bounds[0, ax]), float(self._bounds[1, ax])

    def pixelPadding(self) -> float:
        return self.cell / 2


def _painted_areas(painter: QPainter) -> list[QRect]:
    """The device rectangles being painted (the painter's transform reset): the viewport (or the item's
    cache), or the strips of it the painter is clipped to (a pan exposes a strip or two of the cache)."""
    area = painter.viewport()
    if not painter.hasClipping():
        return [area]
    rects = [area.intersected(rect) for rect in painter.clipRegion()]
    return [rect for rect in rects if not rect.isEmpty()]


class MapViewBox(pg.ViewBox):
    """A ViewBox whose left drag draws a lasso or a box in those modes (and pans in "pan" mode).

    The right drag zooms and the wheel zooms in every mode. A finished lasso reports its vertices in data
    coordinates, a box its two corners; both with the keyboard modifiers held at the release.
    """

    lasso_drawn = Signal(object, object)  # (M x 2 vertices in data coordinates, Qt.KeyboardModifiers)
    box_drawn = Signal(object, object)  # (2 x 2: two opposite corners, Qt.KeyboardModifiers)

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.mode = "pan"
        self.dragging = False  # a drag of any button is under way
        self._trail: list[QPointF] = []
        self.outline = QGraphicsPathItem()
        pen = QPen(QColor(30, 30, 30), 1.5, Qt.DashLine)
        pen.setCosmetic(True)
        self.outline.setPen(pen)
        self.outline.setBrush(QColor(255, 200, 0, 40))
        self.outline.setZValue(1e6)
        self.outline.hide()
        self.addItem(self.outline, ignoreBounds=True)

    def mouseDragEvent(self, ev, axis=None) -> None:
        self.dragging = not ev.isFinish()
        if ev.button() != Qt.LeftButton or self.mode == "pan" or axis is not None:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        if ev.isStart():
            self._trail = [ev.buttonDownScenePos()]
        scene = ev.scenePos()
        if (scene - self._trail[-1]).manhattanLength() >= LASSO_STEP_PX or self.mode == "box":
            self._trail.append(scene)
        self._show_outline()
        if ev.isFinish():
            self.outline.hide()
            self._finish(ev.modifiers())

    def _data(self, points: list[QPointF]) -> np.ndarray:
        mapped = [self.mapSceneToView(p) for p in points]
        return np.array([(p.x(), p.y()) for p in mapped], dtype=np.float64).reshape(-1, 2)

    def _show_outline(self) -> None:
        corners = self._data(self._trail if self.mode == "lasso" else [self._trail[0], self._trail[-1]])
        path = QPainterPath()
        if self.mode == "box":
            (x0, y0), (x1, y1) = corners
            path.addRect(QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized())
        else:
            path.moveTo(*corners[0])
            for x, y in corners[1:]:
                path.lineTo(x, y)
            path.closeSubpath()
        self.outline.setPath(path)
        self.outline.show()

    def _finish(self, modifiers) -> None:
        if self.mode == "box":
            self.box_drawn.emit(self._data([self._trail[0], self._trail[-1]]), modifiers)
        else:
            self.lasso_drawn.emit(self._data(self._trail), modifiers)
        self._trail = []
