"""The loss / confidence histogram shows its tail (log counts), says what is shaded, and the shading follows a click.

One histogram widget serves the classifiers' error analysis and the segmenters' per-image view.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from core.evaluation import ranking
from gui.metrics.histogram_plot import LOG_FLOOR, HistogramPlot, wants_log
from tests.gui.test_metrics_data import faces, labelled, load, shown_pane


@pytest.fixture
def pane(qtbot, app_state):
    yield from shown_pane(qtbot, app_state)


def errors_tab(qtbot, pane, score: str):
    view = pane.show_tab("Errors")
    view.score_combo.setCurrentText(score)
    qtbot.waitUntil(lambda: view.values is not None and view.name == score, timeout=120_000)  # the first imports torch
    QApplication.processEvents()
    return view


def bar_tops(plot: HistogramPlot) -> np.ndarray:
    opts = plot.bars.opts
    return np.asarray(opts["y1"]) if opts.get("y1") is not None else np.asarray(opts["height"])


def test_counts_over_two_decades_want_a_log_axis():
    assert wants_log(np.array([1000, 40, 3, 0, 1]))
    assert not wants_log(np.array([100, 40, 3, 0, 1]))  # exactly two decades: linear still shows the 1
    assert not wants_log(np.zeros(5, dtype=np.int64))


def test_a_long_tail_gets_a_log_axis_and_its_single_samples_stay_clickable(qtbot, pane):
    dataset, preds = labelled("multiclass", 2000, 5, skill=4.0)
    load(qtbot, pane, dataset, preds, scores=False)
    view = errors_tab(qtbot, pane, "cross-entropy")
    counts, edges = view.plot.counts, view.plot.edges
    assert counts.max() > 100 * counts[counts > 0].min()
    assert view.plot.log and view.log_check.isChecked()
    assert view.plot.getPlotItem().getAxis("left").logMode  # the axis reads powers of ten
    filled = counts > 0
    np.testing.assert_allclose(bar_tops(view.plot)[filled], np.log10(counts[filled]))
    np.testing.assert_allclose(bar_tops(view.plot)[~filled], LOG_FLOOR)  # empty bins: no bar
    # the last bar of the tail, a single sample or two: visible, and a click on it selects exactly them
    b = int(np.flatnonzero(filled)[-1])
    assert counts[b] <= 2
    qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, pos=view.plot.bar_center(b))
    qtbot.waitUntil(lambda: pane.state.selection is not None)
    np.testing.assert_array_equal(pane.state.selection.indices, ranking.in_bin(view.values, edges, b))
    assert len(pane.state.selection) == counts[b]
    # the shaded range follows the clicked bar and the caption says what it holds
    np.testing.assert_allclose(view.plot.region.getRegion(), (edges[b], edges[b + 1]))
    caption = view.plot.getPlotItem().titleLabel.text
    assert "Shaded" in caption and f"{counts[b]:,} samples" in caption


def test_the_log_switch_is_the_users_once_clicked(qtbot, pane):
    dataset, preds = labelled("multiclass", 2000, 5, skill=4.0)
    load(qtbot, pane, dataset, preds, scores=False)
    view = errors_tab(qtbot, pane, "cross-entropy")
    assert view.log_check.isChecked()
    view.log_check.click()
    assert not view.plot.log
    np.testing.assert_array_equal(bar_tops(view.plot), view.plot.counts)
    view = errors_tab(qtbot, pane, "confidence")  # another histogram keeps the user's choice
    assert not view.plot.log and not view.log_check.isChecked()


def test_an_even_histogram_stays_linear_and_the_caption_explains_the_range(qtbot, pane):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds, scores=False)
    view = errors_tab(qtbot, pane, "binary cross-entropy")
    if wants_log(view.plot.counts):
        pytest.fail("the faces demo's losses are expected to span less than two decades")
    assert not view.plot.log and not view.log_check.isChecked()
    assert "shaded range" in view.plot.getPlotItem().titleLabel.text
    view.select_region()  # what a finished drag calls
    lo, hi = view.plot.region.getRegion()
    expected = ranking.in_range(view.values, lo, hi)
    assert f"{len(expected):,} samples" in view.plot.getPlotItem().titleLabel.text


def test_the_per_image_histogram_is_the_same_widget_and_follows_a_click(qtbot, pane, segmentation_run):
    dataset, preds = segmentation_run
    pane.state.set_dataset(dataset)
    pane.state.set_predictions(preds)
    qtbot.waitUntil(lambda: "mean IoU" in pane.summary.text(), timeout=30_000)
    view = pane.show_tab("Images")
    QApplication.processEvents()
    assert isinstance(view.plot, HistogramPlot) and type(view.plot) is type(pane.errors.plot)
    scores = preds.per_image_scores()["mean_iou"]
    counts = view.plot.counts
    assert counts.sum() == np.isfinite(scores).sum()
    b = int(np.argmax(counts))
    qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, pos=view.plot.bar_center(b))
    qtbot.waitUntil(lambda: pane.state.selection is not None)
    edges = view.plot.edges
    expected = ranking.in_bin(scores, edges, b)
    np.testing.assert_array_equal(np.sort(pane.state.selection.indices), expected)
    assert np.all(np.diff(scores[pane.state.selection.indices]) >= 0)  # worst first
    np.testing.assert_allclose(view.plot.region.getRegion(), (edges[b], edges[b + 1]))
    assert f"{len(expected):,} images" in view.plot.getPlotItem().titleLabel.text
