"""Swipe comparison on one canvas: the true mask left of a draggable vertical line, the predicted mask right of it.

Each mask is an image item inside a clipping rectangle; dragging the line only moves the two
rectangles' edges, so the swipe follows the mouse without re-uploading megapixel overlays.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

from gui.browser.canvas_view import PixelImageItem
from gui.browser.image_canvas import ImageCanvas

HANDLE_COLOR = QColor(255, 255, 255)
HANDLE_HOVER = QColor(255, 220, 0)


class SwipeLayers(QObject):
    """Two overlays on ``canvas`` split at an image column the user drags (:attr:`split`)."""

    moved = Signal(float)  # the split, in image pixels from the left edge

    def __init__(self, canvas: ImageCanvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.overlays: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
        self._size = (0, 0)  # (height, width) of the image the layers belong to
        self._fraction = 0.5  # where the line stays, as a share of the width, across samples
        self._clips: list[QGraphicsRectItem] = []
        self._items: list[PixelImageItem] = []
        for _ in range(2):
            clip = QGraphicsRectItem()
            clip.setPen(QPen(Qt.PenStyle.NoPen))  # a pen, even clear, would widen the clip by half its width
            clip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
            clip.setZValue(1)
            canvas.box.addItem(clip)
            item = PixelImageItem(axisOrder="row-major", autoDownsample=True)
            item.setParentItem(clip)
            self._clips.append(clip)
            self._items.append(item)
        self.line = pg.InfiniteLine(
            angle=90,
            movable=True,
            pen=pg.mkPen(HANDLE_COLOR, width=2),
            hoverPen=pg.mkPen(HANDLE_HOVER, width=3),
            label="◂ truth · prediction ▸",
            labelOpts={"position": 0.04, "color": (20, 20, 20), "fill": (255, 255, 255, 200), "movable": False},
        )
        self.line.setZValue(4)
        self.line.setToolTip("Drag: truth to the left of the line, prediction to the right")
        self.line.sigPositionChanged.connect(self._on_moved)
        canvas.box.addItem(self.line)
        self.hide()

    @property
    def split(self) -> float:
        """The line's position: image columns left of it show the truth."""
        return float(self.line.value())

    def set_split(self, x: float) -> None:
        self.line.setValue(float(np.clip(x, 0, self._size[1])))

    def set_layers(self, left: np.ndarray | None, right: np.ndarray | None, opacity: float) -> None:
        """Show ``left`` (truth) and ``right`` (prediction), H x W x 4 RGBA of the canvas's image, at ``opacity``."""
        image = self.canvas.image
        if image is None or (left is None and right is None):  # masks off: no line to drag either
            self.hide()
            return
        size = image.shape[:2]
        if size != self._size:
            self._size = size
            self.line.setBounds((0, size[1]))
        self.overlays = (left, right)
        for item, rgba in zip(self._items, self.overlays):
            if rgba is None:
                item.clear()
            else:
                item.setImage(np.ascontiguousarray(rgba), autoLevels=False, levels=(0, 255))
            item.setVisible(rgba is not None)
        for clip in self._clips:
            clip.setVisible(True)
        self.line.setVisible(True)
        self.set_opacity(opacity)
        self.set_split(self._fraction * size[1])
        self._clip()

    def set_opacity(self, opacity: float) -> None:
        for item in self._items:
            item.setOpacity(float(opacity))

    def hide(self) -> None:
        self.overlays = (None, None)
        for item in (*self._clips, self.line):
            item.setVisible(False)

    def _on_moved(self) -> None:
        if self._size[1]:
            self._fraction = self.split / self._size[1]
        self._clip()
        self.moved.emit(self.split)

    def _clip(self) -> None:
        height, width = self._size
        split = self.split
        self._clips[0].setRect(QRectF(0, 0, split, height))
        self._clips[1].setRect(QRectF(split, 0, width - split, height))
