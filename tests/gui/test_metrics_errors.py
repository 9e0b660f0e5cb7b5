"""Error analysis in the metrics view: the histogram of a per-sample score selects exactly its samples."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from core.evaluation import ranking
from core.metrics import losses
from tests.gui.test_metrics_data import drag, faces, labelled, load, multilabel, shown_pane


@pytest.fixture
def pane(qtbot, app_state):
    yield from shown_pane(qtbot, app_state)


def errors_tab(qtbot, pane, score: str | None = None):
    view = pane.show_tab("Errors")
    if score is not None:
        view.score_combo.setCurrentText(score)
    qtbot.waitUntil(lambda: view.values is not None and view.name == view.score_combo.currentText(), timeout=30_000)
    QApplication.processEvents()  # the plot's final geometry, before aiming at a bar
    return view


def test_clicking_a_bar_selects_exactly_its_samples(qtbot, pane):
    dataset, preds = labelled("multiclass", 500, 5, skill=1.5)
    load(qtbot, pane, dataset, preds)
    view = errors_tab(qtbot, pane)
    assert view.name == "cross-entropy"
    values = ranking.sample_scores("cross-entropy", dataset, preds)
    np.testing.assert_array_equal(view.values, values)
    counts, edges = ranking.histogram(values, 30)
    np.testing.assert_array_equal(view.plot.counts, counts)
    b = int(np.argmax(counts))
    qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, pos=view.plot.bar_center(b))
    qtbot.waitUntil(lambda: pane.state.selection is not None)
    expected = np.flatnonzero((values >= edges[b]) & (values < edges[b + 1]))
    np.testing.assert_array_equal(pane.state.selection.indices, expected)
    assert len(expected) == counts[b]


def test_dragging_the_range_selects_the_samples_inside(qtbot, pane):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    view = errors_tab(qtbot, pane, "binary cross-entropy")
    region, plot = view.plot.region, view.plot
    lo, hi = region.getRegion()
    middle, shift = (lo + hi) / 2, -(hi - lo) * 1.5
    box = plot.getPlotItem().getViewBox()
    height = box.viewRange()[1][1] / 2

    def at(x: float):
        return plot.mapFromScene(box.mapViewToScene(QPointF(x, height)))

    drag(plot.viewport(), at(middle), at(middle + shift))
    qtbot.waitUntil(lambda: pane.state.selection is not None)
    new_lo, new_hi = region.getRegion()
    assert new_hi < hi and new_lo < lo  # it moved left, the way the mouse went
    expected = np.flatnonzero((view.values >= new_lo) & (view.values <= new_hi))
    assert 0 < len(expected) < np.count_nonzero(~np.isnan(view.values))
    np.testing.assert_array_equal(pane.state.selection.indices, expected)
    assert pane.state.selection.name.startswith("binary cross-entropy")


def test_worst_first_orders_all_predicted_samples_by_loss(qtbot, pane):
    dataset, preds = labelled("multiclass", 200, 4)
    dataset.targets[7] = -1  # unlabelled: no loss, not ranked
    load(qtbot, pane, dataset, preds)
    view = errors_tab(qtbot, pane, "cross-entropy")
    view.worst_button.click()
    selection = pane.state.selection
    assert selection.ordered and 7 not in selection.indices
    loss = losses.categorical_cross_entropy(dataset.targets, preds.scores)
    expected = np.argsort(-np.where(dataset.targets >= 0, loss, -np.inf), kind="stable")[: len(selection)]
    np.testing.assert_array_equal(selection.indices, expected)
    # lowest confidence first when the score is the confidence
    view = errors_tab(qtbot, pane, "confidence")
    view.worst_button.click()
    confidence = preds.scores.max(axis=1)
    assert np.all(np.diff(confidence[pane.state.selection.indices]) >= 0)
    assert len(pane.state.selection) == len(dataset)  # confidence needs no label


def test_multilabel_scores_use_the_sigmoid_cross_entropy(qtbot, pane):
    dataset, preds = multilabel()
    load(qtbot, pane, dataset, preds)
    view = errors_tab(qtbot, pane)
    assert view.name == "sigmoid cross-entropy"
    done = preds.done
    np.testing.assert_allclose(view.values[done], losses.sigmoid_cross_entropy(dataset.tags[done], preds.scores[done]))
    assert np.isnan(view.values[~done]).all()


def test_the_worst_first_order_is_sorted_on_the_worker_with_the_scores(qtbot, pane):
    """ "Worst first" over a million samples must not sort on the GUI thread: the order arrives with the values."""
    dataset, preds = labelled("multiclass", 300, 4)
    load(qtbot, pane, dataset, preds)
    view = errors_tab(qtbot, pane, "margin")
    np.testing.assert_array_equal(view.order, ranking.worst_first(view.values, higher_is_worse=False))
    view.worst_button.click()
    assert pane.state.selection.indices is view.order or np.array_equal(pane.state.selection.indices, view.order)
    view = errors_tab(qtbot, pane, "cross-entropy")  # another score: its own order
    np.testing.assert_array_equal(view.order, ranking.worst_first(view.values, higher_is_worse=True))
