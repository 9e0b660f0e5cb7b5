"""A zoomable image with an overlay layer: wheel to zoom, drag to pan, pixels stay sharp.

pyqtgraph's ViewBox does the zoom and pan; two ImageItems hold the image and an RGBA overlay
(a mask, its outlines, an error map), drawn without smoothing so that at 20x a pixel is a
crisp square. View coordinates are image pixels: pixel (x, y) covers [x, x+1) x [y, y+1).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QLineF, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QSizePolicy, QStackedLayout, QWidget

MARK_COLOR = QColor(255, 220, 0)
MIN_VISIBLE_PIXELS = 4  # the deepest zoom still shows this many pixels across


class PixelImageItem(pg.ImageItem):
    """Nearest-neighbour when enlarged (a pixel is a crisp square), smooth when shrunk (no aliasing)."""

    def paint(self, painter: QPainter, *args) -> None:
        scale = abs(painter.transform().map(QLineF(0, 0, 1, 0)).length())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1)
        super().paint(painter, *args)


class ImageCanvas(QWidget):
    """Shows one RGB image (fit to view on load) with an optional RGBA overlay, boxes and points."""

    hovered = Signal(int, int)  # image pixel under the cursor; (-1, -1) when off the image

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: np.ndarray | None = None  # H x W x 3 uint8 shown, None while there is none
        self.text = ""  # the message shown instead of an image ("loading…", "⚠ …")
        self.overlay: np.ndarray | None = None
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.view = pg.GraphicsView(self, background=None)
        self.box = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False, defaultPadding=0.02)
        self.view.setCentralItem(self.box)
        # autoDownsample: shrunk images are averaged down first (no moiré), enlarged ones are not.
        self.base = PixelImageItem(axisOrder="row-major", autoDownsample=True)
        self.layer = PixelImageItem(axisOrder="row-major", autoDownsample=True)
        self.layer.setZValue(1)
        self.points = pg.ScatterPlotItem(
            symbol="+", size=12, pen=pg.mkPen(MARK_COLOR, width=2), brush=None, pxMode=True
        )
        self.points.setZValue(3)
        for item in (self.base, self.layer, self.points):
            self.box.addItem(item)
        self._boxes: list[QGraphicsRectItem] = []
        self._objects: list = []  # the object tasks' boxes and labels (set_objects)
        #: The boxes drawn by :meth:`set_objects` (gui.browser.boxes.DrawnBox), for tests and tooltips.
        self.objects: list = []
        self._zoomed_to: tuple[int, int] | None = None  # the highlighted object the view was zoomed onto
        # Hover from the viewport's own events: the scene's sigMouseMoved is rate-limited and can
        # drop the last move, leaving the hover line on a pixel the cursor already left.
        self.view.viewport().installEventFilter(self)
        self.view.scene().sigMouseClicked.connect(self._on_click)

        self.message = QLabel(self)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.stack = QStackedLayout(self)
        self.stack.setContentsMargins(0, 0, 0, 0)
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.view)
        self.view.setToolTip("Wheel: zoom · drag: pan · double-click: fit the image to the view")
        self.show_image(None)

    # -- what the sample view calls ----------------------------------------------------
    def show_image(self, image: np.ndarray | None, text: str = "") -> None:
        """Show ``image`` fit to the view (or ``text`` in its place); clears overlay and marks."""
        self.image, self.text = image, text
        self.set_overlay(None)
        self.set_marks()
        self.set_objects([])
        self._zoomed_to = None
        if image is None:
            self.base.clear()
            color = "#da3633" if text.startswith("⚠") else self.palette().placeholderText().color().name()
            self.message.setStyleSheet(f"color: {color}")
            self.message.setText(text)
            self.stack.setCurrentWidget(self.message)
            return
        self.base.setImage(np.ascontiguousarray(image), autoLevels=False, levels=(0, 255))
        h, w = image.shape[:2]
        self.box.setLimits(
            minXRange=MIN_VISIBLE_PIXELS, minYRange=MIN_VISIBLE_PIXELS, maxXRange=4 * max(w, h), maxYRange=4 * max(w, h)
        )
        self.stack.setCurrentWidget(self.view)
        self.fit()

    def set_overlay(self, rgba: np.ndarray | None, opacity: float = 1.0) -> None:
        """Lay an H x W x 4 RGBA array over the image at ``opacity`` (None removes it)."""
        self.overlay = rgba
        if rgba is None or self.image is None:
            self.layer.clear()
            self.layer.setVisible(False)
            return
        if rgba.shape[:2] != self.image.shape[:2]:
            raise ValueError(f"overlay of {rgba.shape[:2]} for an image of {self.image.shape[:2]}")
        self.layer.setImage(np.ascontiguousarray(rgba), autoLevels=False, levels=(0, 255))
        self.layer.setOpacity(float(opacity))
        self.layer.setVisible(True)

    def set_marks(self, boxes: list[tuple[float, float, float, float]] = (), points: list[tuple[float, float]] = ()):
        """Draw rectangles (x, y, width, height) and points (x, y) in image pixel coordinates."""
        for item in self._boxes:
            self.box.removeItem(item)
        self._boxes = []
        for x, y, w, h in boxes:
            item = QGraphicsRectItem(QRectF(x, y, w, h))
            pen = QPen(MARK_COLOR, 2)
            pen.setCosmetic(True)  # two screen pixels wide at every zoom
            item.setPen(pen)
            item.setZValue(2)
            self.box.addItem(item)
            self._boxes.append(item)
        self.points.setData(pos=[(x + 0.5, y + 0.5) for x, y in points])

    def set_objects(self, drawn: list, highlight: tuple[int, int] | None = None) -> None:
        """Draw the object tasks' boxes (``gui.browser.boxes.DrawnBox``), each in its kind's colour and line
        style with its class (and score) on a tag; ``highlight`` (source, object): that one thicker, on a white
        halo, the view zoomed onto it."""
        from core.evaluation.selection import TRUTH
        from gui.browser.boxes import BOX_STYLES, PAINT_ORDER, object_pen

        for item in self._objects:
            self.box.removeItem(item)
        self._objects, self.objects = [], list(drawn)
        for z, box in enumerate(sorted(drawn, key=lambda b: PAINT_ORDER.index(b.kind))):
            x0, y0, x1, y1 = box.box
            big = highlight is not None and (box.source, box.object) == highlight
            width = 4 if big else 2
            halo = QPen(QColor(255, 255, 255) if big else QColor(0, 0, 0, 150), width + 2)
            halo.setCosmetic(True)
            for pen, depth in ((halo, 0.0), (object_pen(box.kind, width, cosmetic=True), 0.5)):
                item = QGraphicsRectItem(QRectF(x0, y0, x1 - x0, y1 - y0))
                item.setPen(pen)
                item.setZValue(4 + z + depth + (100 if big else 0))
                self.box.addItem(item)
                self._objects.append(item)
            color = BOX_STYLES[box.kind][0]
            text_color = (0, 0, 0) if color.lightness() > 110 else (255, 255, 255)
            # Detections' tags above their boxes, objects' below: a missed object's name and a false detection's
            # near it do not cover each other.
            below = box.source == TRUTH
            label = pg.TextItem(box.text, color=text_color, fill=pg.mkBrush(color), anchor=(0, 0 if below else 1))
            label.setPos(x0, y1 if below else y0)
            label.setZValue(300 + z)
            self.box.addItem(label)
            self._objects.append(label)
        chosen = [b for b in drawn if highlight is not None and (b.source, b.object) == highlight]
        if chosen and self.image is not None and highlight != self._zoomed_to:  # once: the user may zoom away
            self._zoomed_to = highlight
            x0, y0, x1, y1 = chosen[0].box
            margin = max(x1 - x0, y1 - y0, 16) / 2  # the object and half as much again on each side
            self.box.setRange(QRectF(x0 - margin, y0 - margin, x1 - x0 + 2 * margin, y1 - y0 + 2 * margin))

    def fit(self) -> None:
        """Zoom so the whole image fills the view."""
        if self.image is not None:
            h, w = self.image.shape[:2]
            self.box.setRange(QRectF(0, 0, w, h), padding=0.02)

    def zoom(self, factor: float, center: tuple[float, float] | None = None) -> None:
        """Zoom in (``factor`` > 1) or out around ``center`` (image pixels; the view's centre by default)."""
        point = QPointF(*center) if center is not None else None
        self.box.scaleBy(s=(1 / factor, 1 / factor), center=point)

    def visible_rect(self) -> QRectF:
        """The part of the image plane on screen, in image pixels."""
        (x0, x1), (y0, y1) = self.box.viewRange()
        return QRectF(x0, y0, x1 - x0, y1 - y0)

    def widget_pos(self, x: float, y: float) -> QPointF:
        """Where image point (x, y) is, in the coordinates of :attr:`view`'s viewport."""
        return self.view.mapFromScene(self.box.mapViewToScene(QPointF(x, y))).toPointF()

    def pixel_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """The image pixel at a scene position, None off the image."""
        if self.image is None:
            return None
        point = self.box.mapSceneToView(scene_pos)
        x, y = math.floor(point.x()), math.floor(point.y())
        h, w = self.image.shape[:2]
        return (x, y) if 0 <= x < w and 0 <= y < h else None

    # -- mouse ---------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.MouseMove:
            pixel = self.pixel_at(self.view.mapToScene(event.position().toPoint()))
            self.hovered.emit(*(pixel or (-1, -1)))
        return super().eventFilter(watched, event)

    def _on_click(self, event) -> None:
        if event.double():
            self.fit()

    def leaveEvent(self, event) -> None:
        self.hovered.emit(-1, -1)
        super().leaveEvent(event)
