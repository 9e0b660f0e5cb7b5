"""The zoomable image canvas: fits on load, zooms with the wheel, pans by drag, stays sharp."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from gui.browser.image_canvas import ImageCanvas
from tests.gui.helpers import qimage_array


@pytest.fixture
def canvas(qtbot):
    widget = ImageCanvas()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def checkerboard(h: int = 10, w: int = 12) -> np.ndarray:
    image = np.zeros((h, w, 3), dtype=np.uint8)
    image[::2, ::2] = image[1::2, 1::2] = 255
    image[0, 0] = (255, 0, 0)
    return image


def grab(canvas: ImageCanvas) -> np.ndarray:
    """What the canvas shows, as H x W x 3 RGB."""
    return qimage_array(canvas.view.grab().toImage())


def wheel(canvas: ImageCanvas, pos: QPointF, steps: int) -> None:
    viewport = canvas.view.viewport()
    event = QWheelEvent(
        pos,
        viewport.mapToGlobal(pos),
        QPoint(),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, event)


def mouse(canvas: ImageCanvas, kind, pos: QPointF, buttons) -> None:
    viewport = canvas.view.viewport()
    button = Qt.MouseButton.LeftButton if kind != QMouseEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, pos, viewport.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def test_an_image_is_fit_to_the_view_on_load(canvas):
    canvas.show_image(checkerboard())
    rect = canvas.visible_rect()
    assert rect.contains(0, 0) and rect.right() >= 12 and rect.bottom() >= 10
    assert min(rect.width() - 12, rect.height() - 10) < 1  # tight on one side: no tiny image in a big view


def test_pixels_stay_sharp_when_enlarged(canvas):
    canvas.show_image(checkerboard())
    pixels = grab(canvas)
    top_left = canvas.widget_pos(0.5, 0.5).toPoint()
    assert tuple(pixels[top_left.y(), top_left.x()]) == (255, 0, 0)
    inside = canvas.widget_pos(6, 5).toPoint()
    patch = pixels[inside.y() - 40 : inside.y() + 40, inside.x() - 40 : inside.x() + 40]
    assert {tuple(p) for p in patch.reshape(-1, 3)} == {(0, 0, 0), (255, 255, 255)}  # no blurred greys


def test_wheel_zooms_around_the_cursor_and_drag_pans(qtbot, canvas):
    canvas.show_image(checkerboard())
    before = canvas.visible_rect()
    at = canvas.widget_pos(3, 3)
    wheel(canvas, at, 3)
    after = canvas.visible_rect()
    assert after.width() < before.width() * 0.8
    assert after.contains(3, 3)
    moved = canvas.widget_pos(3, 3)
    assert abs(moved.x() - at.x()) < 2 and abs(moved.y() - at.y()) < 2  # the point under the cursor stays

    start = canvas.widget_pos(6, 5)
    end = start + QPointF(60, 0)
    mouse(canvas, QMouseEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    for step in range(1, 7):
        mouse(canvas, QMouseEvent.Type.MouseMove, start + QPointF(10 * step, 0), Qt.MouseButton.LeftButton)
    mouse(canvas, QMouseEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)
    panned = canvas.visible_rect()
    assert panned.left() < after.left()  # dragged right: the view shows more of the left side
    assert abs(canvas.widget_pos(6, 5).x() - end.x()) < 3


def test_overlay_opacity_and_marks(canvas):
    canvas.show_image(np.zeros((10, 12, 3), np.uint8))
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[:, :6] = (0, 0, 255, 255)
    canvas.set_overlay(rgba, 0.5)
    pixels = grab(canvas)
    left, right = canvas.widget_pos(2.5, 5.5).toPoint(), canvas.widget_pos(9.5, 5.5).toPoint()
    assert abs(int(pixels[left.y(), left.x(), 2]) - 128) <= 2 and pixels[left.y(), left.x(), 0] == 0
    assert tuple(pixels[right.y(), right.x()]) == (0, 0, 0)
    canvas.set_marks(boxes=[(1, 1, 4, 4)], points=[(8, 2), (9, 3)])
    assert len(canvas.points.data) == 2
    with pytest.raises(ValueError):
        canvas.set_overlay(np.zeros((3, 3, 4), np.uint8))
    canvas.show_image(None, "⚠ broken.png: cannot decode")
    assert canvas.overlay is None and canvas.text.startswith("⚠")
    assert canvas.message.isVisible()


def test_a_large_image_shrunk_to_fit_is_smoothed_not_aliased(canvas):
    stripes = np.zeros((600, 800, 3), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes: nearest-neighbour shrinking would show a moiré of 0s and 255s
    canvas.show_image(stripes)
    centre = canvas.widget_pos(400, 300).toPoint()
    patch = grab(canvas)[centre.y() - 20 : centre.y() + 20, centre.x() - 20 : centre.x() + 20, 0].astype(int)
    assert np.abs(patch - 128).max() < 40


def test_the_pyqtgraph_view_is_made_with_the_first_image(canvas, qtbot):
    """Shown without an image (the browser's first paint), the canvas is a message; its view, and what draws on
    it (when_view_made), come with the first image."""
    canvas.show_image(None, "Select a sample")
    canvas.set_overlay(None)
    canvas.set_marks()
    canvas.set_objects([])
    assert not canvas.is_made and canvas.message.isVisible()
    added = []
    canvas.when_view_made(lambda: added.append(canvas.box))
    canvas.show_image(checkerboard())
    assert canvas.is_made and added == [canvas.box]
    qtbot.waitUntil(lambda: canvas.view.isVisible())
    assert grab(canvas)[..., 0].max() == 255  # the image is drawn
    canvas.when_view_made(lambda: added.append("now"))  # made already: called at once
    assert added[-1] == "now"
