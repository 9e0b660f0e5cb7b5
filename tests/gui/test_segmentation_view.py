"""A segmentation run in the browser: its masks in the sample view and on the tiles, hover probabilities,
the per-image IoU/Dice table, and the grid ordered worst first."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.masks.overlays import blend, colourise, error_colours, error_map, render, resize_mask
from core.metrics import segmentation_report
from gui.browser import BrowserPane
from gui.browser.mask_info import percent
from gui.browser.tile_layers import grey
from gui.decoding import thumbnail_array
from gui.metrics.segmentation_images import ImagesView
from gui.state import AppState
from tests.fake_datasets import tiny_segmentation_run
from tests.gui.helpers import qimage_array
from tests.gui.test_browser_segmentation import hover


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_segmentation_run(tmp_path_factory.mktemp("seg"), sharpen=True)


@pytest.fixture
def pane(qtbot, run):
    dataset, preds = run
    state = AppState()
    widget = BrowserPane(state)
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    qtbot.waitExposed(widget)
    state.set_dataset(dataset)
    state.set_predictions(preds)
    yield widget, state
    widget.shutdown()
    for pool in (widget.loader.pool, widget.sample_view.pool, widget.mask_classes.pool):
        assert pool.activeThreadCount() == 0


def shown(qtbot, widget, state, index: int):
    state.select_sample(index)
    view = widget.sample_view
    qtbot.waitUntil(lambda: view.index == index and view.masks.masks.predicted is not None)
    return view


def test_the_runs_masks_reach_the_sample_view(qtbot, pane, run):
    widget, state = pane
    dataset, preds = run
    view = shown(qtbot, widget, state, 2)
    np.testing.assert_array_equal(view.masks.masks.predicted, preds.mask(2))
    np.testing.assert_allclose(view.masks.masks.confidence, preds.confidence(2))
    np.testing.assert_array_equal(view.masks.masks.truth, dataset.load_mask(2))
    view.masks.mode.setCurrentIndex(view.masks.mode.findText("Predicted mask"))
    expected = colourise(preds.mask(2), view.masks.palette, transparent=view.masks.transparent)
    np.testing.assert_array_equal(view.canvas.overlay, expected)
    assert widget.run_bar.isVisibleTo(widget)

    state.set_predictions(None)  # the run closed: no predicted mask, no scores, no run bar
    qtbot.waitUntil(lambda: view.masks.masks.truth is not None and view.masks.masks.predicted is None)
    assert not view.scores.isVisibleTo(view) and not widget.run_bar.isVisibleTo(widget)


def test_a_sample_the_run_predicts_later_is_read_again(qtbot, pane, run):
    widget, state = pane
    _, preds = run
    partial = replace(preds, done=preds.done.copy())
    partial.done[3] = False
    state.set_predictions(partial)
    state.select_sample(3)
    view = widget.sample_view
    qtbot.waitUntil(lambda: view.canvas.image is not None and view.masks.masks.truth is not None)
    assert view.masks.masks.predicted is None
    assert view.scores.summary.text() == "Not predicted yet."
    partial.done[3] = True  # the next batch of the run
    state.set_predictions(partial)
    qtbot.waitUntil(lambda: view.masks.masks.predicted is not None)
    np.testing.assert_array_equal(view.masks.masks.predicted, preds.mask(3))
    assert "mean IoU" in view.scores.summary.text()


def test_hover_names_both_classes_and_the_top_probabilities_without_reading_files(qtbot, pane, run, monkeypatch):
    widget, state = pane
    dataset, preds = run
    view = shown(qtbot, widget, state, 1)
    truth, predicted, names = dataset.load_mask(1), preds.mask(1), dataset.classes
    expected = {}
    for y, x in [(4, 3), (9, 11)]:
        p = preds.pixel_probabilities(1, y, x)
        top = np.argsort(-p, kind="stable")[:3]
        expected[y, x] = (
            f"true: {names[truth[y, x]]}",
            f"predicted: {names[predicted[y, x]]} ({percent(float(p[predicted[y, x]]))})",
            "probabilities: " + " · ".join(f"{names[c]} {percent(float(p[c]))}" for c in top),
        )
    # What a hover needs is in memory: the run's files are never read on the GUI thread.
    for name in ("mask", "probabilities", "pixel_probabilities", "confidence"):
        monkeypatch.setattr(preds, name, lambda *a, **k: pytest.fail("the run was read on hover"))
    for (y, x), parts in expected.items():
        hover(view.canvas, x + 0.5, y + 0.5)
        text = view.masks.hover.text()
        assert f"x {x}, y {y}" in text
        for part in parts:
            assert part in text


def test_the_image_table_is_the_report_of_the_images_confusion(qtbot, pane, run):
    widget, state = pane
    dataset, preds = run
    view = shown(qtbot, widget, state, 4)
    report = segmentation_report(preds.image_confusion(4))
    present = np.flatnonzero(report["present"])
    rows = view.scores.rows()
    assert [row[0] for row in rows] == [dataset.classes[c] for c in present]
    for row, c in zip(rows, present):
        iou, dice = (("—" if np.isnan(v) else f"{v:.3f}") for v in (report["iou"][c], report["dice"][c]))
        assert row[1:] == (iou, dice, f"{report['support'][c]:,}", f"{report['predicted'][c]:,}")
    summary = view.scores.summary.text()
    assert f"mean IoU {report['mean_iou']:.3f}" in summary and f"mean Dice {report['mean_dice']:.3f}" in summary
    assert f"pixel accuracy {report['pixel_accuracy']:.1%}" in summary
    scores = preds.per_image_scores()  # the metrics view's per-image numbers
    assert report["mean_iou"] == pytest.approx(scores["mean_iou"][4])
    assert report["mean_dice"] == pytest.approx(scores["mean_dice"][4])


def test_a_sample_whose_mask_could_not_be_scored_says_why(qtbot, pane, run):
    widget, state = pane
    _, preds = run
    state.set_predictions(replace(preds, mask_errors={0: "mask is 4x4 but the image is 12x10"}))
    view = shown(qtbot, widget, state, 0)
    assert "mask is 4x4 but the image is 12x10" in view.scores.summary.text()
    assert view.scores.report is None and not view.scores.table.isVisibleTo(view)


def test_sorting_by_mean_iou_is_the_metrics_views_worst_first(qtbot, pane, run):
    widget, state = pane
    dataset, preds = run
    widget.sort_worst_first("mean IoU")
    chosen = state.selection
    scores = preds.per_image_scores()["mean_iou"]
    assert chosen.ordered and len(chosen) == np.isfinite(scores).sum() == len(dataset)
    assert np.all(np.diff(scores[chosen.indices]) >= 0)
    np.testing.assert_array_equal(widget.visible_indices(), chosen.indices)

    metrics = ImagesView(state)
    qtbot.addWidget(metrics)
    metrics.show_run(preds)
    metrics.worst_first()  # another view sets the selection: the browser's order control lets go
    np.testing.assert_array_equal(state.selection.indices, chosen.indices)
    assert widget.run_bar.order is None

    widget.sort_worst_first("pixel accuracy")
    accuracy = preds.per_image_scores()["pixel_accuracy"]
    assert np.all(np.diff(accuracy[state.selection.indices]) >= 0)
    widget.sort_worst_first(None)
    assert state.selection is None and len(widget.visible_indices()) == len(dataset)


def test_tiles_show_the_prediction_or_the_wrong_pixels(qtbot, pane, run):
    widget, _ = pane
    dataset, preds = run
    loader = widget.loader
    qtbot.waitUntil(lambda: len(loader) == len(dataset))
    palette, clear = widget.sample_view.masks.palette, widget.sample_view.masks.transparent

    def tiles_are(expected) -> bool:
        return all(np.array_equal(qimage_array(loader.thumbnail(i)), expected[i]) for i in range(len(dataset)))

    images = [thumbnail_array(dataset.load_image(i)) for i in range(len(dataset))]
    small = [resize_mask(preds.mask(i), im.shape[1], im.shape[0]) for i, im in enumerate(images)]
    widget.set_tiles_show("prediction")
    style = widget.filters.overlay_style
    qtbot.waitUntil(lambda: tiles_are([render(im, m, palette, style, clear) for im, m in zip(images, small)]))

    widget.set_tiles_show("errors")
    truth = [resize_mask(dataset.load_mask(i), im.shape[1], im.shape[0]) for i, im in enumerate(images)]
    wrong = [error_map(t, p) for t, p in zip(truth, small)]
    assert any(w.any() for w in wrong)
    qtbot.waitUntil(lambda: tiles_are([blend(grey(im), error_colours(w), 0.5) for im, w in zip(images, wrong)]))
