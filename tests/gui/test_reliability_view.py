"""The reliability diagram shows how many samples each bin holds, and a click on any bin selects them."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from core.evaluation import classification
from core.metrics import calibration_bin, confidence_and_correct
from gui.metrics.reliability_view import CHOSEN, short_count
from tests.gui.test_metrics_data import labelled, load, multilabel, shown_pane


@pytest.fixture
def pane(qtbot, app_state):
    yield from shown_pane(qtbot, app_state)


def calibration_tab(qtbot, pane):
    view = pane.show_tab("Calibration")
    qtbot.waitUntil(lambda: pane.model.scores is not None, timeout=120_000)
    QApplication.processEvents()
    return view


def shown_counts(view) -> dict[float, str]:
    """The count labels on the plot, by the x of the bar they stand under."""
    return {round(label.pos().x(), 6): label.toPlainText() for label in view.plot.count_labels}


def at(view, x: float, y: float):
    box = view.plot.getPlotItem().getViewBox()
    return view.plot.mapFromScene(box.mapViewToScene(QPointF(x, y)))


def test_each_bin_shows_its_count(qtbot, pane):
    dataset, preds = labelled("multiclass", 3000, 5, skill=1.5)
    load(qtbot, pane, dataset, preds, scores=False)
    view = calibration_tab(qtbot, pane)
    rows = np.flatnonzero(preds.done)
    confidence, _ = confidence_and_correct(dataset.targets[rows], preds.scores[rows])
    counts = np.bincount(calibration_bin(confidence), minlength=15)
    edges = view.plot.edges
    expected = {round((edges[b] + edges[b + 1]) / 2, 6): short_count(int(counts[b])) for b in np.flatnonzero(counts)}
    assert shown_counts(view) == expected
    assert any(text.endswith("k") for text in expected.values()) or counts.max() < 1000
    assert "samples" in view.plot.getPlotItem().titleLabel.text  # the numbers are explained


def test_short_counts_fit_under_a_bar():
    assert [short_count(n) for n in (7, 999, 1234, 34_567, 1_500_000)] == ["7", "999", "1.2k", "34k", "1.5M"]


def test_a_click_anywhere_on_a_bin_selects_its_samples_and_marks_it(qtbot, pane):
    dataset, preds = labelled("multiclass", 600, 5, skill=1.5)
    load(qtbot, pane, dataset, preds, scores=False)
    view = calibration_tab(qtbot, pane)
    rows, confidence, _ = classification.calibration_inputs(dataset, preds)
    bins = calibration_bin(confidence)
    counts = np.bincount(bins, minlength=15)
    edges = view.plot.edges
    # the smallest non-empty bin, clicked on its count label, on its mean-confidence dot and above its bar
    b = int(np.flatnonzero(counts)[np.argmin(counts[counts > 0])])
    middle = (edges[b] + edges[b + 1]) / 2
    accuracy = view.bins["accuracy"][b]
    for y in (0.02, accuracy, min(accuracy + 0.05, 0.98)):
        pane.state.set_selection(None)
        qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, pos=at(view, middle, y))
        qtbot.waitUntil(lambda: pane.state.selection is not None)
        np.testing.assert_array_equal(pane.state.selection.indices, rows[bins == b])
    assert view.plot.chosen == b
    assert view.plot.bars.opts["brushes"][b] == CHOSEN
    assert f"{counts[b]:,} samples" in view.info.text()


def test_multilabel_bins_select_by_the_chosen_label(qtbot, pane):
    dataset, preds = multilabel(400)
    load(qtbot, pane, dataset, preds, scores=False)
    view = calibration_tab(qtbot, pane)
    view.label_combo.setCurrentIndex(2)
    rows, confidence, _ = classification.calibration_inputs(dataset, preds, 2)
    bins = calibration_bin(confidence)
    b = int(np.bincount(bins).argmax())
    qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, pos=view.plot.bin_center(b))
    qtbot.waitUntil(lambda: pane.state.selection is not None)
    np.testing.assert_array_equal(pane.state.selection.indices, rows[bins == b])
    assert short_count(int(np.sum(bins == b))) in shown_counts(view).values()
