"""The pyqtgraph part of :class:`gui.browser.image_canvas.ImageCanvas`: its view, ViewBox and image items.

In a module of its own so that the canvas (on screen from the browser's first paint) imports pyqtgraph only
when it makes them.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QLineF
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QWidget

from gui.browser.image_canvas import MARK_COLOR


class PixelImageItem(pg.ImageItem):
    """Nearest-neighbour when enlarged (a pixel is a crisp square), smooth when shrunk (no aliasing)."""

    def paint(self, painter: QPainter, *args) -> None:
        scale = abs(painter.transform().map(QLineF(0, 0, 1, 0)).length())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1)
        super().paint(painter, *args)


class CanvasView:
    """The view (a GraphicsView in ``parent``), its ViewBox, and the image, overlay and points items in it."""

    def __init__(self, parent: QWidget) -> None:
        self.view = pg.GraphicsView(parent, background=None)
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
        self.view.setToolTip("Wheel: zoom · drag: pan · double-click: fit the image to the view")
