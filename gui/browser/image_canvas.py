"""A zoomable image with an overlay layer: wheel to zoom, drag to pan, pixels stay sharp.

pyqtgraph's ViewBox does the zoom and pan; two ImageItems hold the image and an RGBA overlay
(a mask, its outlines, an error map), drawn without smoothing so that at 20x a pixel is a
crisp square. View coordinates are image pixels: pixel (x, y) covers [x, x+1) x [y, y+1).

Start-up: the canvas is on screen from the browser's first paint, with a message and no image. Its pyqtgraph
view (:mod:`gui.browser.canvas_view`: pyqtgraph's import is a third of a second) is made when the first image
comes or when code asks for it (:attr:`ImageCanvas.view`, :attr:`ImageCanvas.box`...); what draws on it
waits for that with :meth:`ImageCanvas.when_view_made`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QSizePolicy, QStackedLayout, QWidget

if TYPE_CHECKING:
    from gui.browser.canvas_view import CanvasView

MARK_COLOR = QColor(255, 220, 0)
MIN_VISIBLE_PIXELS = 4  # the deepest zoom still shows this many pixels across


class ImageCanvas(QWidget):
    """Shows one RGB image (fit to view on load) with an optional RGBA overlay, boxes and points."""

    hovered = Signal(int, int)  # image pixel under the cursor; (-1, -1) when off the image
    view_made = Signal()  # the pyqtgraph view was just made: what draws on it can add its items

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: np.ndarray | None = None  # H x W x 3 uint8 shown, None while there is none
        self.text = ""  # the message shown instead of an image ("loading…", "⚠ …")
        self.overlay: np.ndarray | None = None
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self._parts: CanvasView | None = None  # the pyqtgraph view and its items, made on first need
        self._boxes: list[QGraphicsRectItem] = []
        self._objects: list = []  # the object tasks' boxes and labels (set_objects)
        #: The boxes drawn by :meth:`set_objects` (gui.browser.boxes.DrawnBox), for tests and tooltips.
        self.objects: list = []
        self._zoomed_to: tuple[int, int] | None = None  # the highlighted object the view was zoomed onto
        self.message = QLabel(self)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.stack = QStackedLayout(self)
        self.stack.setContentsMargins(0, 0, 0, 0)
        self.stack.addWidget(self.message)
        self.show_image(None)

    # -- the pyqtgraph view, made on first need -----------------------------------------
    def _made(self) -> CanvasView:
        if self._parts is None:
            from gui.browser.canvas_view import CanvasView

            self._parts = CanvasView(self)
            # Hover from the viewport's own events: the scene's sigMouseMoved is rate-limited and can
            # drop the last move, leaving the hover line on a pixel the cursor already left.
            self._parts.view.viewport().installEventFilter(self)
            self._parts.view.scene().sigMouseClicked.connect(self._on_click)
            self.stack.addWidget(self._parts.view)
            self.view_made.emit()
        return self._parts

    @property
    def is_made(self) -> bool:
        """Whether the pyqtgraph view exists (it is made with the first image, or on first use)."""
        return self._parts is not None

    def when_view_made(self, callback) -> None:
        """``callback()`` once the view exists: now if it does."""
        if self._parts is not None:
            callback()
        else:
            self.view_made.connect(callback)

    @property
    def view(self):
        """The pyqtgraph GraphicsView (made now if it was not)."""
        return self._made().view

    @property
    def box(self):
        """The ViewBox: view coordinates are image pixels."""
        return self._made().box

    @property
    def base(self):
        """The image's item."""
        return self._made().base

    @property
    def layer(self):
        """The overlay's item."""
        return self._made().layer

    @property
    def points(self):
        """The marked points' scatter item."""
        return self._made().points

    # -- what the sample view calls ----------------------------------------------------
    def show_image(self, image: np.ndarray | None, text: str = "") -> None:
        """Show ``image`` fit to the view (or ``text`` in its place); clears overlay and marks."""
        self.image, self.text = image, text
        self.set_overlay(None)
        self.set_marks()
        self.set_objects([])
        self._zoomed_to = None
        if image is None:
            if self.is_made:
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
            if self.is_made:
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
        if not self.is_made and not boxes and not points:
            return  # nothing drawn yet, nothing to draw
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
        if not self.is_made and not drawn:
            self._objects, self.objects = [], []
            return
        import pyqtgraph as pg  # with the view: imported by now

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

    def set_overlay_opacity(self, opacity: float) -> None:
        """Fade the overlay already drawn (none before the view is made)."""
        if self.is_made:
            self.layer.setOpacity(opacity)

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
