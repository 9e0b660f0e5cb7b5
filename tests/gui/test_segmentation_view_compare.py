"""Truth against prediction in the sample view: two linked canvases side by side, or a swipe on one."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent

from core.masks.overlays import OverlayStyle, blend, colourise, outline_colours
from gui.browser import BrowserPane
from gui.browser.compare import OVERLAY, SIDE_BY_SIDE, SWIPE
from gui.browser.image_canvas import ImageCanvas
from gui.state import AppState
from tests.fake_datasets import tiny_segmentation_run
from tests.gui.helpers import qimage_array
from tests.gui.test_browser_canvas import mouse

INDEX = 1
LABEL_ROWS = 1  # the swipe handle's label covers the top row of this tiny image


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_segmentation_run(tmp_path_factory.mktemp("seg_compare"), sharpen=True)


@pytest.fixture
def view(qtbot, run):
    """The sample view of sample INDEX with the run's prediction, masks fully opaque."""
    dataset, preds = run
    state = AppState()
    pane = BrowserPane(state)
    qtbot.addWidget(pane)
    pane.resize(1200, 700)
    pane.show()
    qtbot.waitExposed(pane)
    state.set_dataset(dataset)
    state.set_predictions(preds)
    pane.set_overlay_style(OverlayStyle(visible=True, opacity=1.0))
    state.select_sample(INDEX)
    sample_view = pane.sample_view
    qtbot.waitUntil(lambda: sample_view.masks.masks.predicted is not None)
    yield sample_view
    pane.shutdown()


def expected_colours(view, run) -> tuple[np.ndarray, np.ndarray]:
    """The image with the true mask and with the predicted mask at opacity 1, as RGB."""
    dataset, preds = run
    image = dataset.load_image(INDEX)
    palette, clear = view.masks.palette, view.masks.transparent
    masks = (view.masks.masks.truth, preds.mask(INDEX))
    return tuple(blend(image, colourise(m, palette, transparent=clear), 1.0) for m in masks)


def shows(canvas: ImageCanvas, expected: np.ndarray, first_row: int = 0) -> bool:
    """The canvas draws ``expected`` (H x W x 3) at the centre of every image pixel on screen (within 2 levels)
    from ``first_row`` down."""
    grabbed = qimage_array(canvas.view.grab().toImage()).astype(int)
    seen = 0
    for y in range(first_row, expected.shape[0]):
        for x in range(expected.shape[1]):
            pos = canvas.widget_pos(x + 0.5, y + 0.5)
            row, col = int(pos.y()), int(pos.x())
            if 0 <= row < grabbed.shape[0] and 0 <= col < grabbed.shape[1]:
                seen += 1
                if np.abs(grabbed[row, col] - expected[y, x]).max() > 2:
                    return False
    return seen > 0


def test_side_by_side_shows_truth_left_prediction_right_and_they_zoom_together(qtbot, view, run):
    truth, predicted = expected_colours(view, run)
    assert (truth != predicted).any()  # the random U-Net is wrong somewhere: the test can tell them apart
    view.masks.set_compare_mode(SIDE_BY_SIDE)
    left, right = view.canvases.canvas, view.canvases.second
    qtbot.waitUntil(lambda: right.isVisible() and right.overlay is not None)
    qtbot.waitUntil(lambda: shows(left, truth) and shows(right, predicted))
    assert not view.masks.mode.isVisible()  # the single-mask choice belongs to the overlay mode

    left.zoom(3.0, center=(4.0, 5.0))
    qtbot.waitUntil(lambda: rects_match(left, right))
    assert left.visible_rect().width() < 6
    right.box.translateBy(x=2.0, y=1.0)  # a pan on the right moves the left too
    qtbot.waitUntil(lambda: rects_match(left, right))
    assert shows(right, predicted) and shows(left, truth)

    view.masks.set_compare_mode(OVERLAY)
    assert not right.isVisible() and left.overlay is not None


def rects_match(a: ImageCanvas, b: ImageCanvas) -> bool:
    ra, rb = a.visible_rect(), b.visible_rect()
    return all(abs(u - v) < 0.05 for u, v in zip(ra.getRect(), rb.getRect()))


def test_swipe_shows_truth_left_of_the_handle_and_prediction_right_of_it(qtbot, view, run):
    truth, predicted = expected_colours(view, run)
    view.masks.set_compare_mode(SWIPE)
    canvas, swipe = view.canvas, view.canvases.swipe
    qtbot.waitUntil(lambda: swipe.line.isVisible())
    assert view.canvas.overlay is None and not view.canvases.second.isVisible()
    for split in (5, 9):
        swipe.set_split(split)
        expected = np.concatenate([truth[:, :split], predicted[:, split:]], axis=1)
        qtbot.waitUntil(lambda expected=expected: shows(canvas, expected, LABEL_ROWS))

    # Dragging the handle moves the split.
    start, end = canvas.widget_pos(9, 5), canvas.widget_pos(3, 5)
    mouse(canvas, QMouseEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    for k in range(1, 6):
        point = QPointF(start.x() + (end.x() - start.x()) * k / 5, start.y())
        mouse(canvas, QMouseEvent.Type.MouseMove, point, Qt.MouseButton.LeftButton)
    mouse(canvas, QMouseEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)
    assert swipe.split == pytest.approx(3, abs=0.2)
    expected = np.concatenate([truth[:, :3], predicted[:, 3:]], axis=1)
    qtbot.waitUntil(lambda: shows(canvas, expected, LABEL_ROWS))


def test_opacity_and_outlines_apply_to_both_sides(qtbot, view, run):
    _, preds = run
    pane = view.parent()
    while not isinstance(pane, BrowserPane):
        pane = pane.parent()
    view.masks.set_compare_mode(SIDE_BY_SIDE)
    pane.set_overlay_style(OverlayStyle(visible=True, opacity=0.3, outlines=True))
    left, right = view.canvases.canvas, view.canvases.second
    assert left.layer.opacity() == pytest.approx(0.3) and right.layer.opacity() == pytest.approx(0.3)
    palette, clear = view.masks.palette, view.masks.transparent
    np.testing.assert_array_equal(left.overlay, outline_colours(view.masks.masks.truth, palette, transparent=clear))
    np.testing.assert_array_equal(right.overlay, outline_colours(preds.mask(INDEX), palette, transparent=clear))

    view.masks.set_compare_mode(SWIPE)
    pane.set_overlay_style(OverlayStyle(visible=True, opacity=0.7, outlines=True))
    swipe = view.canvases.swipe
    assert all(item.opacity() == pytest.approx(0.7) for item in swipe._items)
    np.testing.assert_array_equal(swipe.overlays[1], outline_colours(preds.mask(INDEX), palette, transparent=clear))
    pane.set_overlay_style(OverlayStyle(visible=False))  # masks off: neither side draws one
    assert swipe.overlays == (None, None) and not swipe.line.isVisible()
