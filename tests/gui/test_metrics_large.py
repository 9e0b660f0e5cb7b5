"""Sizes that matter: a 1,000-class confusion matrix stays usable; a dragged threshold over 100,000 samples follows."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QToolTip

from core.datasets.base import Dataset
from core.evaluation.decisions import predicted_classes
from core.metrics import cell_indices, confusion_matrix
from gui.metrics.confusion_widget import ConfusionMatrixWidget
from tests.gui.test_metrics_data import labelled, load, predictions_for, shown_pane

IMAGENET_CLASSES = [f"n{i:08d} class {i}" for i in range(1000)]


@pytest.fixture
def pane(qtbot, app_state):
    yield from shown_pane(qtbot, app_state)


def imagenet_counts(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 1000, 50_000)
    y_pred = np.where(rng.random(50_000) < 0.75, y_true, rng.integers(0, 1000, 50_000))
    return confusion_matrix(y_true, y_pred, 1000)


def test_a_1000_class_matrix_renders_in_under_a_second_and_names_classes_on_hover(qtbot):
    widget = ConfusionMatrixWidget()
    qtbot.addWidget(widget)
    widget.resize(600, 600)
    widget.show()
    qtbot.waitExposed(widget)
    counts = imagenet_counts()
    start = time.perf_counter()
    widget.set_matrix(counts, IMAGENET_CLASSES)
    widget.repaint()
    assert time.perf_counter() - start < 1.0
    assert widget.cell_texts.fitting() == []  # one image; no count fits a cell under a pixel wide
    pos = widget.cell_center(417, 523)
    # cells half a pixel wide: the mouse's whole pixel may lie in a neighbour of the cell aimed at
    t, p = widget.cell_at(widget.mapToScene(pos))
    assert abs(t - 417) <= 1 and abs(p - 523) <= 1
    text = widget.hover_text(widget.mapToScene(pos))
    assert IMAGENET_CLASSES[t] in text and IMAGENET_CLASSES[p] in text and f": {counts[t, p]:,}" in text
    qtbot.mouseMove(widget.viewport(), pos)
    qtbot.waitUntil(lambda: IMAGENET_CLASSES[p] in QToolTip.text())
    for side in ("bottom", "left"):
        shown = widget.labels_shown(side)
        assert 10 < len(shown) < 100  # thinned evenly to what fits
        assert len({i % (shown[1][0] - shown[0][0]) for i, _name in shown}) == 1


def test_the_wheel_zooms_and_the_ticks_name_the_classes_in_view(qtbot):
    widget = ConfusionMatrixWidget()
    qtbot.addWidget(widget)
    widget.resize(600, 600)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_matrix(imagenet_counts(), IMAGENET_CLASSES)
    view = widget.getPlotItem().getViewBox()
    center = widget.cell_center(500, 500)
    for _ in range(12):
        event = QWheelEvent(QPointF(center), QPointF(widget.mapToGlobal(center)), QPoint(), QPoint(0, 120),
                            Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)  # fmt: skip
        QApplication.sendEvent(widget.viewport(), event)
    (x0, x1), _ = view.viewRange()
    assert x1 - x0 < 200 and x0 < 500 < x1
    shown = widget.labels_shown("bottom")
    assert shown and all(x0 - 1 <= i + 0.5 <= x1 + 1 for i, _name in shown)
    widget.fit()
    assert view.viewRange()[0][1] - view.viewRange()[0][0] >= 1000


def test_confused_pairs_of_1000_classes_select_and_zoom(qtbot, pane):
    dataset, preds = labelled("multiclass", 3000, 1000, skill=4.0)
    load(qtbot, pane, dataset, preds, scores=False)  # AP and AUC of 1,000 classes take seconds
    view = pane.show_tab("Confused pairs")
    t, p, count = view.table.pairs[0]
    assert count == max(c for _t, _p, c in view.table.pairs)
    view.table.cellClicked.emit(0, 0)
    np.testing.assert_array_equal(pane.state.selection.indices, cell_indices(dataset.targets, preds.predicted, t, p))
    (x0, x1), (y0, y1) = pane.matrix.getPlotItem().getViewBox().viewRange()
    assert x1 - x0 < 50 and x0 < p + 0.5 < x1 and y0 < t + 0.5 < y1
    computing = pane.is_busy()  # AP and AUC of 1,000 classes take seconds
    pane.shutdown(timeout_ms=60_000)  # closing the window waits for them, dropping the result
    assert not pane.is_busy()
    assert pane.model.scores is None or not computing


def test_a_threshold_over_100000_samples_is_followed(qtbot, pane):
    rng = np.random.default_rng(0)
    n = 100_000
    targets = rng.integers(0, 2, n)
    dataset = Dataset("/tmp/big", task="binary", classes=["cat", "dog"], splits=[], split=None,
                      sample_ids=[f"{i}" for i in range(n)], targets=targets)  # fmt: skip
    p1 = np.clip(0.3 * targets + 0.7 * rng.random(n), 0, 1)
    preds = predictions_for(dataset, np.stack([1 - p1, p1], axis=1).astype(np.float32))
    load(qtbot, pane, dataset, preds)
    pane.show_tab("Curves")  # the curve's marker follows too
    timings = []
    for threshold in np.linspace(0.2, 0.8, 13):
        start = time.perf_counter()
        pane.model.set_threshold(threshold)  # what the debounced slider calls
        timings.append(time.perf_counter() - start)
        expected = confusion_matrix(targets, predicted_classes(preds, pane.state.threshold), 2)
        np.testing.assert_array_equal(pane.counts, expected)
    assert np.median(timings) < 0.1, timings  # target 30 ms; shared CI machines get slack
