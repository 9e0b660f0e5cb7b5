"""The painting surface of the mask editor: an image, its mask overlay, zoom and pan.

The overlay is a QImage over a numpy RGBA buffer. After a brush segment only the changed
rectangle is recoloured and only that rectangle is repainted, so strokes keep up with the
mouse on a 2048 x 1024 mask. Zoom (wheel) and pan (middle button, or space + drag) keep
pixels sharp: no smoothing at any scale.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
)

from core.masks import Rect

ZOOM_STEP = 1.25


def rgb_pixmap(image: np.ndarray) -> QPixmap:
    image = np.ascontiguousarray(image, dtype=np.uint8)
    h, w = image.shape[:2]
    qimage = QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())


class OverlayItem(QGraphicsItem):
    """The mask drawn in class colours over the image, updated rectangle by rectangle."""

    def __init__(self, lut: np.ndarray) -> None:
        super().__init__()
        self.lut = lut  # 256 x 4 uint8: class index -> RGBA (alpha 0 = not drawn)
        self.rgba = np.zeros((1, 1, 4), dtype=np.uint8)
        self.qimage = QImage()
        self.opacity_value = 0.6

    def set_mask(self, mask: np.ndarray) -> None:
        self.prepareGeometryChange()
        self.rgba = np.ascontiguousarray(self.lut[mask])
        h, w = mask.shape
        self.qimage = QImage(self.rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
        self.update()

    def refresh(self, mask: np.ndarray, rect: Rect) -> None:
        """Recolour and repaint only ``rect``."""
        if rect.empty:
            return
        self.rgba[rect.slices] = self.lut[mask[rect.slices]]
        self.update(QRectF(rect.x0, rect.y0, rect.x1 - rect.x0, rect.y1 - rect.y0))

    def set_lut(self, lut: np.ndarray, mask: np.ndarray) -> None:
        self.lut = lut
        self.set_mask(mask)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.qimage.width(), self.qimage.height())

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setOpacity(self.opacity_value)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        exposed = option.exposedRect.toAlignedRect().intersected(self.boundingRect().toRect())
        if not exposed.isEmpty():
            painter.drawImage(exposed, self.qimage, exposed)


class MaskCanvas(QGraphicsView):
    """Emits image-pixel positions of the mouse; the editor widget decides what they do."""

    pressed = Signal(float, float, object)  # x, y, Qt.MouseButton
    dragged = Signal(float, float)
    released = Signal(float, float)
    hovered = Signal(int, int)  # pixel under the cursor, (-1, -1) off the image
    double_clicked = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setBackgroundBrush(QBrush(QColor(40, 40, 40)))
        self.setMouseTracking(True)
        self.image_item = QGraphicsPixmapItem()
        self.image_item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self.overlay = OverlayItem(np.zeros((256, 4), np.uint8))
        self.overlay.setZValue(1)
        self.cursor_item = QGraphicsEllipseItem()
        self.cursor_item.setPen(QPen(QColor(255, 255, 255), 0))
        self.cursor_item.setZValue(3)
        self.polygon_item = QGraphicsPathItem()
        self.polygon_item.setPen(QPen(QColor(255, 220, 0), 0))
        self.polygon_item.setZValue(2)
        for item in (self.image_item, self.overlay, self.cursor_item, self.polygon_item):
            self.scene().addItem(item)
        self.brush_radius = 5
        self._panning: QPointF | None = None
        self.space_held = False

    # -- content ------------------------------------------------------------------
    def set_content(self, image: np.ndarray, mask: np.ndarray, lut: np.ndarray) -> None:
        self.image_item.setPixmap(rgb_pixmap(image))
        self.overlay.set_lut(lut, mask)
        self.setSceneRect(QRectF(0, 0, mask.shape[1], mask.shape[0]))
        self.fit()

    def fit(self) -> None:
        self.resetTransform()
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def set_polygon(self, points: list[tuple[float, float]]) -> None:
        path_polygon = QPolygonF([QPointF(x, y) for x, y in points])
        from PySide6.QtGui import QPainterPath

        path = QPainterPath()
        path.addPolygon(path_polygon)
        self.polygon_item.setPath(path)

    def _show_cursor(self, x: float, y: float) -> None:
        r = self.brush_radius + 0.5
        self.cursor_item.setRect(QRectF(int(x) + 0.5 - r, int(y) + 0.5 - r, 2 * r, 2 * r))

    # -- mouse --------------------------------------------------------------------
    def _pixel(self, event) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def wheelEvent(self, event) -> None:
        factor = ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP
        self.scale(factor, factor)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or self.space_held:
            self._panning = event.position()
            return
        p = self._pixel(event)
        self.pressed.emit(p.x(), p.y(), event.button())

    def mouseMoveEvent(self, event) -> None:
        if self._panning is not None:
            delta = event.position() - self._panning
            self._panning = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        p = self._pixel(event)
        self._show_cursor(p.x(), p.y())
        inside = self.sceneRect().contains(p)
        self.hovered.emit(int(p.x()) if inside else -1, int(p.y()) if inside else -1)
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.dragged.emit(p.x(), p.y())

    def mouseReleaseEvent(self, event) -> None:
        if self._panning is not None:
            self._panning = None
            return
        p = self._pixel(event)
        self.released.emit(p.x(), p.y())

    def mouseDoubleClickEvent(self, event) -> None:
        p = self._pixel(event)
        self.double_clicked.emit(p.x(), p.y())
