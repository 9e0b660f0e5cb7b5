"""After a drill-down the sample view shows a sample of the new selection, or nothing; never one left out.

Seen before: a click on a confusion cell (or a histogram bar, or a pixel-matrix cell) changed the grid,
and the sample view went on showing the sample looked at before, which the grid no longer held.
The browser and the metrics view share one AppState, as in the window.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from core.evaluation import classification, ranking
from core.evaluation.selection import Selection
from core.metrics import cell_indices
from gui.browser import BrowserPane
from tests.gui.test_metrics_data import faces, load, shown_pane


@pytest.fixture
def pane(qtbot, app_state):
    yield from shown_pane(qtbot, app_state)


@pytest.fixture
def browser(qtbot, app_state):
    widget = BrowserPane(app_state)
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    yield widget
    widget.shutdown()


def look_at(qtbot, browser, index: int) -> None:
    browser.state.select_sample(index)
    assert browser.sample_view.index == index


def assert_shows_first_of_grid(browser, indices) -> None:
    """The sample view shows the grid's first sample, and the grid holds exactly ``indices``."""
    state, view = browser.state, browser.sample_view
    np.testing.assert_array_equal(np.sort(browser.visible_indices()), np.sort(indices))
    assert state.current == view.index == browser.visible_indices()[0]
    assert view.title.text() == state.dataset.sample_ids[state.current]
    assert browser.view.currentIndex().row() == 0  # the tile is highlighted too


def test_a_confusion_cell_shows_one_of_its_samples(qtbot, pane, browser):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    y_true, y_pred = classification.labeled_pairs(dataset, preds, pane.state.threshold)
    wrong = cell_indices(y_true, y_pred, true_class=1, pred_class=0)
    right = cell_indices(y_true, y_pred, true_class=0, pred_class=0)
    assert len(wrong) and len(right)
    look_at(qtbot, browser, int(right[-1]))  # a sample outside the cell about to be clicked
    qtbot.mouseClick(pane.matrix.viewport(), Qt.LeftButton, pos=pane.matrix.cell_center(1, 0))
    qtbot.waitUntil(lambda: pane.state.selection is not None)
    assert_shows_first_of_grid(browser, wrong)
    # a sample of the next selection that is still in it stays where the user is
    look_at(qtbot, browser, int(wrong[-1]))
    pane.state.set_selection(Selection.of("again", wrong[::-1]))
    assert browser.sample_view.index == pane.state.current == wrong[-1]


def test_an_empty_selection_shows_no_sample(qtbot, pane, browser):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    look_at(qtbot, browser, 5)
    pane.state.set_selection(Selection.of("nothing", np.zeros(0, dtype=np.int64)))
    assert browser.model.rowCount() == 0
    assert pane.state.current is None and browser.sample_view.index is None
    assert browser.sample_view.title.text() == ""


def test_a_histogram_bar_shows_one_of_its_samples(qtbot, pane, browser):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    view = pane.show_tab("Errors")
    view.score_combo.setCurrentText("binary cross-entropy")
    qtbot.waitUntil(lambda: view.values is not None and view.name == "binary cross-entropy", timeout=30_000)
    QApplication.processEvents()
    counts, edges = view.plot.counts, view.plot.edges
    b = int(np.argmax(counts))
    inside = ranking.in_bin(view.values, edges, b)
    outside = np.setdiff1d(np.flatnonzero(preds.done), inside)
    look_at(qtbot, browser, int(outside[0]))
    qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, pos=view.plot.bar_center(b))
    qtbot.waitUntil(lambda: pane.state.selection is not None)
    assert_shows_first_of_grid(browser, inside)


def test_a_pixel_matrix_cell_shows_its_most_confused_image(qtbot, pane, browser, segmentation_run):
    dataset, preds = segmentation_run
    pane.state.set_dataset(dataset)
    pane.state.set_predictions(preds)
    qtbot.waitUntil(lambda: "mean IoU" in pane.summary.text(), timeout=30_000)
    counts = preds.confusion()
    off = np.argwhere(~np.eye(len(counts), dtype=bool) & (counts > 0))
    t, p = (int(v) for v in off[0])
    images, _pixels = preds.images_in_cell(t, p)
    others = np.setdiff1d(np.arange(len(dataset)), images)
    if len(others):
        look_at(qtbot, browser, int(others[0]))
    else:
        pane.state.select_sample(None)
    pixels = pane.show_tab("Pixels")
    pixels.select_cell(t, p)
    np.testing.assert_array_equal(browser.visible_indices(), images)  # most pixels first
    assert pane.state.current == browser.sample_view.index == images[0]
