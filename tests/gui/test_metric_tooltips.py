"""Every metric name the metrics view and the browser show explains itself: formula and meaning on hover."""

from __future__ import annotations

import html
import re

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QLabel, QTableWidget, QToolTip

from core.metrics.glossary import GLOSSARY, lookup, terms_in
from tests.fake_datasets import tiny_unet_card, write_voc
from tests.gui.test_metrics_data import faces, labelled, load, multilabel, shown_pane

TAGS = re.compile(r"<[^>]+>")


def plain(rich: str) -> str:
    return html.unescape(TAGS.sub(" ", rich or ""))


def hover_tooltip(widget) -> str:
    """The tooltip Qt shows when the user rests the mouse on ``widget``."""
    QToolTip.hideText()
    point = QPoint(2, 2)
    QApplication.sendEvent(widget, QHelpEvent(QEvent.Type.ToolTip, point, widget.mapToGlobal(point)))
    return plain(QToolTip.text()) if QToolTip.isVisible() else ""


def unexplained(root) -> list[str]:
    """Metric names shown under ``root`` whose tooltip lacks their formula (as 'where: name')."""
    missing, seen = [], 0
    for table in root.findChildren(QTableWidget):
        items = [table.horizontalHeaderItem(c) for c in range(table.columnCount())]
        names = [(item, item.text()) for item in items if item is not None]
        if type(table).__name__ == "AveragesTable":  # its rows: macro, micro, weighted, samples
            names += [(table.item(r, 0), f"{table.item(r, 0).text()} average") for r in range(table.rowCount())]
        for item, name in names:
            term = lookup(name)
            if term is not None:
                seen += 1
                if term.formula not in plain(item.toolTip()):
                    missing.append(f"{type(table).__name__}: {item.text()}")
    widgets = root.findChildren(QLabel) + root.findChildren(QAbstractButton) + root.findChildren(QComboBox)
    # Not the tooltips themselves: Qt deletes a fading one when the next is shown (by a hover below), so they are
    # left out before the first hover, not when reached.
    widgets = [widget for widget in widgets if widget.metaObject().className() != "QTipLabel"]
    for widget in widgets:
        if not widget.isVisibleTo(root):
            continue
        text = widget.currentText() if isinstance(widget, QComboBox) else widget.text()
        terms = terms_in(plain(text))
        if terms:
            tip = hover_tooltip(widget)
            seen += len(terms)
            missing += [f"{type(widget).__name__} {text!r}: {t.name}" for t in terms if t.formula not in tip]
        if isinstance(widget, QComboBox):
            for i in range(widget.count()):
                tip = plain(widget.itemData(i, Qt.ItemDataRole.ToolTipRole))
                missing += [
                    f"item {widget.itemText(i)!r}" for t in terms_in(widget.itemText(i)) if t.formula not in tip
                ]
    for plot in root.findChildren(pg.PlotWidget):
        title = plot.getPlotItem().titleLabel.text
        for term in terms_in(plain(title)):
            seen += 1
            if term.formula not in plain(plot.toolTip()):
                missing.append(f"plot title {title!r}: {term.name}")
    assert seen > 0, "no metric name found: the sweep looked at nothing"
    return missing


@pytest.fixture
def pane(qtbot, app_state):
    yield from shown_pane(qtbot, app_state)


@pytest.mark.parametrize("make", [lambda: labelled("multiclass", 200, 4), faces, multilabel])
def test_every_metric_of_a_classification_run_has_its_formula_on_hover(qtbot, pane, make):
    load(qtbot, pane, *make())
    for index in range(pane.tabs.count()):
        pane.tabs.setCurrentIndex(index)
        qtbot.wait(10)
        assert unexplained(pane) == [], pane.tabs.tabText(index)


def test_every_metric_of_a_segmentation_run_has_its_formula_on_hover(qtbot, pane, tmp_path):
    from core.datasets import open_dataset
    from core.inference.segmentation import SegmentationJob

    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="trainval")
    job = SegmentationJob(tiny_unet_card(tmp_path, dataset.classes), dataset, device="cpu", num_workers=0)
    for _ in job.run():
        pass
    pane.state.set_dataset(dataset)
    pane.state.set_predictions(job.predictions)
    qtbot.waitUntil(lambda: "mean IoU" in pane.summary.text())
    summary = hover_tooltip(pane.summary)
    for name in ("Mean IoU", "Mean Dice", "Pixel accuracy", "Mean class accuracy", "fw IoU"):
        assert GLOSSARY[name.casefold()].formula in summary
    for index in range(pane.tabs.count()):
        pane.tabs.setCurrentIndex(index)
        qtbot.wait(10)
        assert unexplained(pane) == [], pane.tabs.tabText(index)


def test_the_lectures_formulas_are_the_ones_shown():
    assert lookup("F0.5").formula == "F_β = (1 + β²) · P · R / (β² · P + R)"
    assert lookup("Prec.").formula == "Precision = TP / (TP + FP)"
    assert lookup("Dice").formula == "DSC(A, B) = 2 |A ∩ B| / (|A| + |B|)"
    assert lookup("IoU").formula.startswith("J(A, B) = |A ∩ B| / |A ∪ B|")
    assert all(lookup(name).lecture for name in ("Accuracy", "Recall", "F1", "IoU", "Dice"))
    assert lookup("Pixels") is None and lookup("Class") is None


def test_losses_are_not_explained_as_the_scores_they_contain():
    assert [t.name for t in terms_in("Dice loss")] == ["Dice loss"]  # not the Dice score
    assert lookup("focal loss").formula == "FL(p_t) = −α_t · (1 − p_t)^γ · log(p_t)"  # the lecture's
    assert lookup("binary cross-entropy").lecture and lookup("MSE").lecture
