"""The metrics view of a multilabel task: per-label table, thresholds (common and per label), 2 x 2 matrices."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from core.evaluation import classification
from core.metrics import multilabel_cell_indices, multilabel_report
from tests.gui.test_metrics_data import CELEBA_LABELS, load, multilabel, shown_pane


@pytest.fixture
def pane(qtbot, app_state):
    yield from shown_pane(qtbot, app_state)


def expected_report(dataset, preds, threshold):
    done = preds.done
    return multilabel_report(dataset.tags[done], preds.scores[done], classification.snap_threshold(threshold))


def shown_column(table, column: int) -> np.ndarray:
    values = table.values(column)
    return np.array([values[j] for j in range(len(values))])


def assert_table_shows(table, report) -> None:
    for column, key in enumerate(("precision", "recall", "fbeta", "support", "average_precision"), start=1):
        np.testing.assert_array_equal(shown_column(table, column), report[key].astype(np.float64))


def test_the_label_table_equals_multilabel_report(qtbot, pane):
    dataset, preds = multilabel()
    load(qtbot, pane, dataset, preds)
    view = pane.show_tab("Labels")
    table = view.table
    assert [table.horizontalHeaderItem(c).text() for c in range(8)] == [
        "Label", "Precision", "Recall", "F1", "Support", "AP", "AUC", "Threshold"
    ]  # fmt: skip
    assert sorted(table.item(r, 0).text() for r in range(table.rowCount())) == sorted(CELEBA_LABELS)
    report = expected_report(dataset, preds, 0.5)
    assert_table_shows(table, report)
    for row, name in enumerate(("micro", "macro", "weighted", "samples")):
        assert view.averages.item(row, 0).text() == name
        assert view.averages.item(row, 3).value == pytest.approx(report[name]["fbeta"], nan_ok=True)
    assert f"{report['hamming_loss']:.4f}" in view.extra.text()
    assert f"{report['subset_accuracy']:.2%}" in pane.summary.text()


def test_the_common_threshold_and_a_label_override_recompute_the_table(qtbot, pane):
    dataset, preds = multilabel()
    load(qtbot, pane, dataset, preds)
    table = pane.show_tab("Labels").table
    pane.threshold.spin.setValue(0.62)
    qtbot.waitUntil(lambda: pane.state.threshold == classification.snap_threshold(0.62))
    assert_table_shows(table, expected_report(dataset, preds, 0.62))
    # a per-label threshold typed into the table
    row = next(r for r in range(table.rowCount()) if table.class_at(r) == 2)
    table.item(row, table.threshold_column).setText("0.3")
    qtbot.waitUntil(lambda: np.ndim(pane.state.threshold) == 1)
    expected = np.full(5, classification.snap_threshold(0.62))
    expected[2] = classification.snap_threshold(0.3)
    np.testing.assert_array_equal(pane.state.threshold, expected)
    qtbot.waitUntil(lambda: table.values(table.threshold_column)[2] == expected[2])
    assert_table_shows(table, expected_report(dataset, preds, expected))
    # moving the common threshold keeps the override
    pane.threshold.spin.setValue(0.4)
    qtbot.waitUntil(lambda: np.ndim(pane.state.threshold) == 1 and pane.state.threshold[0] == np.float32(0.4))
    assert pane.state.threshold[2] == expected[2]
    # clearing the cell goes back to the common threshold
    row = next(r for r in range(table.rowCount()) if table.class_at(r) == 2)
    table.item(row, table.threshold_column).setText("")
    qtbot.waitUntil(lambda: np.ndim(pane.state.threshold) == 0)
    assert_table_shows(table, expected_report(dataset, preds, 0.4))


def test_a_label_row_shows_its_2x2_matrix_whose_cells_select_samples(qtbot, pane):
    dataset, preds = multilabel()
    load(qtbot, pane, dataset, preds)
    view = pane.show_tab("Labels")
    pane.threshold.spin.setValue(0.45)
    qtbot.waitUntil(lambda: pane.state.threshold == classification.snap_threshold(0.45))
    row = next(r for r in range(view.table.rowCount()) if view.table.class_at(r) == 3)
    view.table.cellClicked.emit(row, 0)
    report = expected_report(dataset, preds, 0.45)
    np.testing.assert_array_equal(view.matrix.counts, report["confusion"][3])
    assert CELEBA_LABELS[3] in view.matrix_title.text()
    assert pane.state.selection.name == f"label = {CELEBA_LABELS[3]}"
    QApplication.processEvents()
    qtbot.mouseClick(view.matrix.viewport(), Qt.LeftButton, pos=view.matrix.cell_center(1, 0))  # missed
    qtbot.waitUntil(lambda: "predicted absent" in pane.state.selection.name)
    done = np.flatnonzero(preds.done)
    threshold = classification.snap_threshold(0.45)
    expected = done[multilabel_cell_indices(dataset.tags[done], preds.scores[done], 3, True, False, threshold)]
    np.testing.assert_array_equal(pane.state.selection.indices, expected)
    assert len(expected) == report["confusion"][3][1, 0]


def test_a_label_curve_click_sets_that_label_threshold(qtbot, pane):
    dataset, preds = multilabel()
    load(qtbot, pane, dataset, preds)
    curves = pane.show_tab("Curves")
    curves.class_combo.setCurrentIndex(1)
    qtbot.waitUntil(lambda: curves.pr.x.size > 0 and curves._key is not None and curves._key[2] == 1)
    curves.best_button.click()
    qtbot.waitUntil(lambda: np.ndim(pane.state.threshold) == 1)
    assert pane.state.threshold[1] == classification.snap_threshold(curves.best.threshold)
    assert pane.state.threshold[0] == 0.5
    view = pane.show_tab("Labels")
    assert view.table.values(view.table.threshold_column)[1] == pane.state.threshold[1]
