"""Exports of the metrics view: what the files hold is what the screen shows, and what `evaluate` writes."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtSvg import QSvgRenderer

from core.evaluation import classification
from tests.gui.test_metrics_data import faces, labelled, load, multilabel, shown_pane


@pytest.fixture
def pane(qtbot, app_state):
    yield from shown_pane(qtbot, app_state)


def read_csv(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_the_class_table_csv_holds_the_numbers_on_screen(qtbot, pane, tmp_path):
    dataset, preds = labelled("multiclass", 300, 5)
    load(qtbot, pane, dataset, preds)
    pane.beta.spin.setValue(0.5)
    view = pane.show_tab("Classes")
    qtbot.waitUntil(lambda: view.table.horizontalHeaderItem(3).text() == "F0.5")
    pane.export_table(tmp_path / "classes.csv")
    rows = read_csv(tmp_path / "classes.csv")
    table = view.table
    assert rows[0] == ["Class", "Precision", "Recall", "F0.5", "Support", "AP", "AUC"]
    for r in range(table.rowCount()):
        for c in range(7):
            shown, written = table.item(r, c).text(), rows[1 + r][c]
            assert shown == (written if c in (0, 4) else f"{float(written):.3f}")
    averages = rows[table.rowCount() + 2 :]
    assert averages[0] == ["Average", "Precision", "Recall", "F0.5"]
    assert float(averages[1][3]) == pytest.approx(pane.report["macro"]["fbeta"])


def test_the_matrix_csv_and_the_plots(qtbot, pane, tmp_path):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    pane.show_tab("Matrix")
    pane.export_table(tmp_path / "matrix.csv")
    rows = read_csv(tmp_path / "matrix.csv")
    assert rows[0][1:] == dataset.classes
    np.testing.assert_array_equal(np.array([r[1:] for r in rows[1:]], dtype=float), pane.counts)
    pane.export_plot(tmp_path / "matrix.png")
    assert QImage(str(tmp_path / "matrix.png")).width() == 1200
    pane.export_plot(tmp_path / "matrix.svg")  # the heatmap's cells stay sharp squares when the SVG is scaled
    assert '<image style="image-rendering:pixelated" ' in (tmp_path / "matrix.svg").read_text()
    pane.show_tab("Curves")
    pane.export_plot(tmp_path / "pr.svg")
    svg = (tmp_path / "pr.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "Recall" in svg
    assert QSvgRenderer(str(tmp_path / "pr.svg")).isValid()
    pane.export_table(tmp_path / "pr.csv")
    points = read_csv(tmp_path / "pr.csv")
    assert points[0] == ["threshold", "recall", "precision"] and len(points) == len(pane.curves.pr.x) + 1
    written = ["matrix.csv", "matrix.png", "matrix.svg", "pr.csv", "pr.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == written  # no temporary file left


@pytest.mark.parametrize("kind", ["binary", "multilabel"])
def test_the_json_report_is_what_evaluate_writes(qtbot, pane, tmp_path, kind):
    dataset, preds = faces() if kind == "binary" else multilabel()
    load(qtbot, pane, dataset, preds)
    pane.beta.spin.setValue(2.0)
    pane.threshold.spin.setValue(0.35)
    qtbot.waitUntil(lambda: pane.state.threshold == classification.snap_threshold(0.35))
    with qtbot.waitSignal(pane.report_written, timeout=30_000):
        pane.export_report(str(tmp_path / "report.json"))
    written = json.loads((tmp_path / "report.json").read_text())
    assert written == classification.summarize(dataset, preds, beta=2.0, threshold=pane.state.threshold)
    assert written["beta"] == 2.0
    if kind == "binary":
        assert written["threshold"] == pytest.approx(0.35)
        assert written["accuracy"] == pytest.approx(pane.report["accuracy"])
        assert written["confusion_matrix"] == pane.counts.tolist()
        assert written["expected_calibration_error"] == pytest.approx(pane.model.scores["expected_calibration_error"])
    else:
        assert written["threshold"] == pytest.approx([0.35] * 5)
        assert written["fbeta"] == pytest.approx(pane.report["fbeta"].tolist())
        assert written["hamming_loss"] == pytest.approx(pane.report["hamming_loss"])
