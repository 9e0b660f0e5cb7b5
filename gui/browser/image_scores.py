"""Per-image IoU and Dice under the sample: one row per class in the truth or the prediction.

The numbers come from the run's pixel confusion matrix of that image through
``core.metrics.segmentation_report``, the same path as the metrics view's per-image scores,
so the two panes never disagree.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.metrics import segmentation_report
from gui.glossary_tips import explain_metrics, set_header_tooltips
from gui.tables import setup_table, show_rows

COLUMNS = ("Class", "IoU", "Dice", "True px", "Predicted px")
ROW_HEIGHT = 20
MAX_ROWS = 6  # taller than this, the table scrolls: the image keeps the room


def image_report(predictions, index: int) -> dict | str:
    """The segmentation report of one image of a run, or why there is none (a sentence)."""
    if index in predictions.errors:
        return f"⚠ not predicted: {predictions.errors[index]}"
    if index in predictions.mask_errors:
        return f"⚠ no scores: {predictions.mask_errors[index]}"
    if not predictions.done[index]:
        return "Not predicted yet."
    confusion = predictions.image_confusion(index)
    if not confusion.any():
        return "No labelled pixels to score the prediction against."
    return segmentation_report(confusion)


def colour_icon(colour: tuple[int, int, int] | None) -> QIcon:
    """A small square in the class's colour (an empty box for a class drawn clear)."""
    pixmap = QPixmap(12, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setPen(QColor(120, 120, 120))
    painter.setBrush(QColor(*colour) if colour is not None else Qt.BrushStyle.NoBrush)
    painter.drawRect(0, 0, 11, 11)
    painter.end()
    return QIcon(pixmap)


def _cell(value: float, integer: bool = False) -> QTableWidgetItem:
    undefined = isinstance(value, float) and math.isnan(value)
    item = QTableWidgetItem("—" if undefined else f"{int(value):,}" if integer else f"{value:.3f}")
    item.setData(Qt.ItemDataRole.UserRole, -1.0 if undefined else float(value))
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class ImageScores(QWidget):
    """The shown image's mean IoU, mean Dice and pixel accuracy, and a row per class present."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: dict | None = None
        self.classes: list[int] = []  # the class of each row
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        explain_metrics(self.summary)
        self.summary.setToolTip("This image's scores, from its pixel confusion matrix (classes present only)")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        setup_table(self.table, spread=[0], row_height=ROW_HEIGHT)
        set_header_tooltips(self.table)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setToolTip(
            "Every class in this image's truth or prediction: IoU = TP / (T + P − TP), Dice = 2 TP / (T + P), "
            "with T its true pixels and P its predicted pixels"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)

    def show_image(self, predictions, index: int, names: list[str], colours: list) -> None:
        """Scores of image ``index`` of a segmentation run; ``colours[c]``: class c's RGB, None when drawn clear."""
        found = image_report(predictions, index)
        self.report = found if isinstance(found, dict) else None
        if self.report is None:
            self.summary.setText(f"<span style='color: #da3633'>{found}</span>" if found.startswith("⚠") else found)
            self._fill([], names, colours)
            return
        report = self.report
        self.summary.setText(
            f"<b>mean IoU {report['mean_iou']:.3f}</b> · mean Dice {report['mean_dice']:.3f} · "
            f"pixel accuracy {report['pixel_accuracy']:.1%}"
        )
        self._fill([int(c) for c in np.flatnonzero(report["present"])], names, colours)

    def _fill(self, classes: list[int], names: list[str], colours: list) -> None:
        self.classes = classes
        table, report = self.table, self.report
        table.setRowCount(len(classes))
        for row, c in enumerate(classes):
            item = QTableWidgetItem(colour_icon(colours[c]), names[c])
            item.setData(Qt.ItemDataRole.UserRole, c)
            table.setItem(row, 0, item)
            table.setItem(row, 1, _cell(report["iou"][c]))
            table.setItem(row, 2, _cell(report["dice"][c]))
            table.setItem(row, 3, _cell(report["support"][c], integer=True))
            table.setItem(row, 4, _cell(report["predicted"][c], integer=True))
        table.setVisible(bool(classes))
        show_rows(table, min(len(classes), MAX_ROWS))

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """The table as shown, row by row (for tests and copying)."""
        return [tuple(self.table.item(r, c).text() for c in range(len(COLUMNS))) for r in range(self.table.rowCount())]
