"""The metrics view of single-label tasks: threshold, beta, matrix, curves, calibration, back to samples."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from core.datasets.base import Dataset
from core.evaluation import classification, ranking
from core.evaluation.decisions import predicted_classes
from core.metrics import (
    best_fbeta_threshold,
    calibration_bin,
    cell_indices,
    classification_report,
    confidence_and_correct,
    confusion_matrix,
    normalize_confusion_matrix,
    precision_recall_curve,
    roc_curve,
    top_k_accuracy,
)
from tests.gui.test_metrics_data import faces, labelled, load, shown_pane


@pytest.fixture
def pane(qtbot, app_state):
    yield from shown_pane(qtbot, app_state)


def expected_counts(dataset, preds, threshold) -> np.ndarray:
    return confusion_matrix(dataset.targets, predicted_classes(preds, threshold), dataset.num_classes)


def test_moving_the_threshold_changes_the_matrix_as_core_computes_it(qtbot, pane):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    assert pane.threshold.isVisible() and "non-face" in pane.threshold.label.text()
    for threshold in (0.2, 0.5, 0.83):
        pane.threshold.spin.setValue(threshold)
        qtbot.waitUntil(lambda t=threshold: pane.state.threshold == classification.snap_threshold(t))
        np.testing.assert_array_equal(pane.counts, expected_counts(dataset, preds, threshold))
        np.testing.assert_array_equal(pane.matrix.counts, pane.counts)  # the heatmap shows it
        report = classification_report(pane.counts)
        assert pane.table.values(1)[1] == report["precision"][1]
        assert f"{report['accuracy']:.2%}" in pane.summary.text()
    # the slider moves it too, by the keyboard as by the mouse
    pane.threshold.slider.setFocus()
    qtbot.keyClick(pane.threshold.slider, Qt.Key_PageDown)
    qtbot.waitUntil(lambda: pane.state.threshold == classification.snap_threshold(pane.threshold.slider.value() / 1000))
    np.testing.assert_array_equal(pane.counts, expected_counts(dataset, preds, pane.state.threshold))


def test_beta_relabels_and_recomputes_fbeta(qtbot, pane):
    dataset, preds = labelled("multiclass", 400, 4)
    load(qtbot, pane, dataset, preds)
    pane.show_tab("Classes")
    assert pane.table.horizontalHeaderItem(3).text() == "F1"
    pane.beta.spin.setValue(2.0)
    qtbot.waitUntil(lambda: pane.table.horizontalHeaderItem(3).text() == "F2")
    report = classification_report(pane.counts, beta=2.0)
    shown = pane.table.values(3)
    np.testing.assert_allclose([shown[c] for c in range(4)], report["fbeta"])
    assert pane.averages.horizontalHeaderItem(3).text() == "F2"
    assert pane.averages.item(0, 3).value == report["macro"]["fbeta"]
    assert "macro F2" in pane.summary.text()


def test_a_clicked_cell_selects_its_samples_as_decided_at_the_threshold(qtbot, pane):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    pane.threshold.spin.setValue(0.7)
    qtbot.waitUntil(lambda: pane.state.threshold == classification.snap_threshold(0.7))
    qtbot.mouseClick(pane.matrix.viewport(), Qt.LeftButton, pos=pane.matrix.cell_center(1, 0))
    expected = cell_indices(dataset.targets, predicted_classes(preds, 0.7), true_class=1, pred_class=0)
    qtbot.waitUntil(lambda: pane.state.selection is not None)
    np.testing.assert_array_equal(pane.state.selection.indices, expected)


def test_multiclass_shows_top_k_and_one_vs_rest_curves(qtbot, pane):
    dataset, preds = labelled("multiclass", 600, 8)
    load(qtbot, pane, dataset, preds)
    rows = np.flatnonzero(preds.done)
    top5 = top_k_accuracy(dataset.targets[rows], preds.scores[rows], 5)
    qtbot.waitUntil(lambda: f"top-5 {top5:.2%}" in pane.summary.text())
    assert not pane.threshold.isVisible()
    curves = pane.show_tab("Curves")
    curves.class_combo.setCurrentIndex(3)
    precision, recall, _ = precision_recall_curve(dataset.targets == 3, preds.scores[:, 3])
    qtbot.waitUntil(lambda: np.array_equal(curves.pr.y, precision))
    np.testing.assert_array_equal(curves.pr.x, recall)
    assert "mAP" in curves.info.text() and "macro AUC" in curves.info.text()
    assert not curves.best_button.isVisible()  # no threshold to set for an argmax decision


def test_curves_hover_reads_a_point_and_a_click_or_the_best_button_sets_the_threshold(qtbot, pane):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    curves = pane.show_tab("Curves")
    rows = np.flatnonzero(preds.done)
    truth, score = dataset.targets[rows] == 1, preds.scores[rows, 1]
    qtbot.waitUntil(lambda: curves.pr.x.size > 0)
    fpr, _, _ = roc_curve(truth, score)
    curves.buttons.button(1).click()
    assert curves.current_plot() is curves.roc
    np.testing.assert_array_equal(curves.roc.x, fpr)
    curves.buttons.button(0).click()
    plot = curves.pr
    QApplication.processEvents()  # let the plot take its final size before aiming at a point
    pos = plot.point_position(len(plot.x) // 2)
    qtbot.mouseMove(plot.viewport(), pos)
    qtbot.waitUntil(lambda: plot.readout.startswith("threshold"))
    nearest = plot.nearest(plot.mapToScene(pos))
    assert plot.readout == plot.describe(nearest)
    qtbot.mouseClick(plot.viewport(), Qt.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: pane.state.threshold == classification.snap_threshold(plot.thresholds[nearest]))
    np.testing.assert_array_equal(pane.counts, expected_counts(dataset, preds, pane.state.threshold))
    best = best_fbeta_threshold(truth, score, 1.0)
    curves.best_button.click()
    qtbot.waitUntil(lambda: pane.state.threshold == classification.snap_threshold(best.threshold))
    assert f"{best.fbeta:.3f}" in curves.best_button.text()


def test_a_reliability_bar_selects_the_samples_of_its_bin(qtbot, pane):
    dataset, preds = labelled("multiclass", 500, 5, skill=1.5)
    load(qtbot, pane, dataset, preds)
    view = pane.show_tab("Calibration")
    rows = np.flatnonzero(preds.done)
    confidence, _ = confidence_and_correct(dataset.targets[rows], preds.scores[rows])
    bins = calibration_bin(confidence)
    b = int(np.bincount(bins).argmax())
    qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, pos=view.plot.bin_center(b))
    qtbot.waitUntil(lambda: pane.state.selection is not None)
    np.testing.assert_array_equal(pane.state.selection.indices, rows[bins == b])
    ece = pane.model.scores["expected_calibration_error"]
    assert f"{ece:.4f}" in view.info.text()


def test_the_confused_pairs_list_leads_to_the_cell(qtbot, pane):
    dataset, preds = labelled("multiclass", 800, 6, skill=1.0)
    load(qtbot, pane, dataset, preds)
    view = pane.show_tab("Confused pairs")
    off = pane.counts * (1 - np.eye(6, dtype=int))
    t, p = np.unravel_index(np.argmax(off), off.shape)
    assert view.table.pairs[0] == (t, p, off[t, p])
    view.table.cellClicked.emit(0, 1)
    qtbot.waitUntil(lambda: pane.state.selection is not None)
    np.testing.assert_array_equal(pane.state.selection.indices, cell_indices(dataset.targets, preds.predicted, t, p))


def test_hardest_of_a_class_is_one_click_from_the_table(qtbot, pane):
    dataset, preds = labelled("multiclass", 300, 4)
    load(qtbot, pane, dataset, preds)
    table = pane.show_tab("Classes").table
    row = next(r for r in range(table.rowCount()) if table.class_at(r) == 2)
    table.cellClicked.emit(row, table.columnCount() - 1)
    qtbot.waitUntil(lambda: pane.state.selection is not None and pane.state.selection.ordered, timeout=30_000)
    chosen = pane.state.selection.indices
    assert sorted(chosen) == sorted(np.flatnonzero(dataset.targets == 2))
    loss = ranking.sample_scores("cross-entropy", dataset, preds)
    assert np.all(np.diff(loss[chosen]) <= 0)


def test_a_segmentation_dataset_gets_its_own_tabs_and_no_threshold(qtbot, pane):
    dataset = Dataset("/tmp/roads", task="segmentation", classes=["road", "car"], splits=[], split=None,
                      sample_ids=["a", "b"])  # fmt: skip
    pane.state.set_dataset(dataset)
    qtbot.waitUntil(lambda: "segmentation model" in pane.summary.text())
    shown = [pane.tabs.tabText(i) for i in range(pane.tabs.count()) if pane.tabs.isTabVisible(i)]
    assert shown == ["Pixels", "Images", "Label quality", "Analysis"] and not pane.threshold.isVisible()


def test_the_matrix_shows_counts_or_rates(qtbot, pane):
    dataset, preds = labelled("multiclass", 300, 4)
    load(qtbot, pane, dataset, preds)
    view = pane.show_tab("Matrix")
    for mode, normalize in (("true", "Rates by true class"), ("pred", "Rates by predicted class"), ("all", "Share")):
        view.view_combo.setCurrentIndex(next(i for i in range(4) if view.view_combo.itemText(i).startswith(normalize)))
        np.testing.assert_array_equal(pane.matrix.values, normalize_confusion_matrix(pane.counts, mode))
    view.view_combo.setCurrentIndex(0)
    np.testing.assert_array_equal(pane.matrix.values, pane.counts)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
def test_averages_follow_sklearn_and_the_undefined_values_control(qtbot, pane, tmp_path):
    """Class 3 is never predicted: its precision is 0/0. By default it counts as 0 (scikit-learn's
    classification_report); "left out" gives zero_division=np.nan. Table, summary and export follow."""
    from sklearn import metrics as skm

    dataset, preds = labelled("multiclass", 400, 4)
    preds.scores[:, 3] = 0
    load(qtbot, pane, dataset, preds)
    pane.show_tab("Classes")
    y_pred = preds.scores.argmax(axis=1)
    theirs = skm.classification_report(dataset.targets, y_pred, output_dict=True)["macro avg"]
    assert pane.averages.item(0, 0).text() == "macro"
    assert pane.averages.item(0, 1).value == pytest.approx(theirs["precision"])
    assert pane.averages.item(0, 3).value == pytest.approx(theirs["f1-score"])
    assert pane.table.values(1)[3] == 0  # the undefined precision, counted as 0
    assert "counted as 0" in pane.averages.item(0, 0).toolTip()
    assert pane.zero_division.isVisible() and pane.zero_division.currentText() == "0/0 counts as 0"

    pane.zero_division.setCurrentIndex(pane.zero_division.findText("0/0 left out"))
    left_out = skm.precision_recall_fscore_support(dataset.targets, y_pred, average="macro", zero_division=np.nan)
    assert pane.averages.item(0, 1).value == pytest.approx(left_out[0])
    assert pane.averages.item(0, 1).value > theirs["precision"]
    assert np.isnan(pane.table.values(1)[3]) and pane.table.item(0, 1).text() != ""
    assert "left out" in pane.averages.item(0, 0).toolTip()
    assert f"macro F1 {left_out[2]:.3f}" in pane.summary.text()
    with qtbot.waitSignal(pane.report_written, timeout=30_000):
        pane.export_report(str(tmp_path / "report.json"))
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["zero_division"] == "nan" and written["macro"]["precision"] == pytest.approx(left_out[0])
    assert written == classification.summarize(dataset, preds, zero_division="nan")


def test_the_tabs_views_are_made_when_first_shown_and_show_what_is_known_then(qtbot, pane):
    """Start-up: every title is in the tab bar at once, only the Matrix's view is made with the pane; a view made
    after the numbers came (its first show, or code asking for it) shows them as one made before would."""
    titles = [pane.tabs.tabText(i) for i in range(pane.tabs.count())]
    assert titles[:7] == ["Matrix", "Classes", "Confused pairs", "Labels", "Curves", "Calibration", "Errors"]
    made = [title for title in pane.pages if pane.made_view(title) is not None]
    assert made == ["Matrix", "Pixels"]  # the pixel view makes the segmentation headline; Images has a plot
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    assert pane.made_view("Classes") is None and pane.made_view("Calibration") is None
    pane.tabs.setCurrentWidget(pane.pages["Classes"])  # a click on the tab
    assert pane.made_view("Classes") is pane.classes_view
    report = classification_report(pane.counts)
    assert pane.table.values(1)[1] == report["precision"][1]  # caught up with the numbers already there
    assert pane.made_view("Calibration") is None
    assert "Expected calibration error" in pane.reliability.info.text()  # made on access, caught up too
