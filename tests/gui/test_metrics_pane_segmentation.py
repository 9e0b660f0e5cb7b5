"""The segmentation metrics: pixel matrix, per-class IoU/Dice, per-image ranking, clicks back to images."""

import numpy as np
import pytest

from gui.metrics import MetricsPane
from gui.state import AppState


@pytest.fixture
def pane(qtbot, segmentation_run):
    dataset, preds = segmentation_run
    state = AppState()
    widget = MetricsPane(state)
    qtbot.addWidget(widget)
    widget.resize(700, 650)
    widget.show()
    state.set_dataset(dataset)
    state.set_predictions(preds)
    qtbot.waitUntil(lambda: "mean IoU" in widget.summary.text())
    return widget, state


def test_summary_matrix_and_table_equal_the_runs_report(pane, segmentation_run):
    widget, _ = pane
    _, preds = segmentation_run
    report = preds.report()
    assert f"mean IoU {report['mean_iou']:.3f}" in widget.summary.text()
    view = widget.show_tab("Pixels")
    assert np.array_equal(view.counts, preds.confusion())
    assert view.table.rowCount() == 21
    for row in range(21):
        shown = view.table.item(row, 1).text()
        value = report["iou"][row]
        assert shown == ("—" if np.isnan(value) else f"{value:.3f}")
        assert ("absent" in view.table.item(row, 0).text()) == (not report["present"][row])


def test_a_pixel_cell_selects_the_images_with_most_of_that_confusion_first(pane, segmentation_run):
    widget, state = pane
    _, preds = segmentation_run
    cm = preds.confusion()
    off = np.argwhere(~np.eye(21, dtype=bool) & (cm > 0))
    t, p = map(int, off[np.argmax(cm[tuple(off.T)])])
    widget.show_tab("Pixels").select_cell(t, p)
    images, _ = preds.images_in_cell(t, p)
    assert state.selection.ordered and np.array_equal(state.selection.indices, images)
    per_image = preds.per_image(images)[:, t, p]
    assert np.all(np.diff(per_image) <= 0) and per_image.sum() == cm[t, p]


def test_worst_first_orders_images_by_mean_iou(pane, segmentation_run):
    widget, state = pane
    _, preds = segmentation_run
    view = widget.show_tab("Images")
    view.worst_first()
    scores = preds.per_image_scores()["mean_iou"]
    chosen = state.selection.indices
    assert len(chosen) == np.isfinite(scores).sum()
    assert np.all(np.diff(scores[chosen]) >= 0)


def test_worst_first_by_a_segmentation_loss_orders_by_that_loss(qtbot, pane, segmentation_run):
    from core.evaluation.segmentation_ranking import run_losses

    widget, state = pane
    dataset, preds = segmentation_run
    view = widget.show_tab("Images")
    view.score_combo.setCurrentText("Dice loss")
    qtbot.waitUntil(lambda: view.losses is not None, timeout=30_000)
    view.worst_first()
    expected = run_losses(preds, dataset)["Dice loss"]
    chosen = state.selection.indices
    assert len(chosen) == np.isfinite(expected).sum()
    assert np.all(np.diff(expected[chosen]) <= 1e-12)  # highest loss first
