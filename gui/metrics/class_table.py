"""The per-class metrics table (sortable) and the averages under it."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

COLUMNS = ("precision", "recall", "fbeta", "support")


class _NumberItem(QTableWidgetItem):
    """Sorts by value; NaN (undefined, 0/0) shows as an em dash and sorts last."""

    def __init__(self, value: float, integer: bool = False) -> None:
        undefined = value is None or (isinstance(value, float) and math.isnan(value))
        super().__init__("—" if undefined else (f"{int(value):,}" if integer else f"{value:.3f}"))
        self.value = math.inf if undefined else float(value)
        self.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
        if undefined:
            self.setToolTip("undefined (0/0): no sample of this class, or never predicted")

    def __lt__(self, other) -> bool:
        if isinstance(other, _NumberItem):
            return self.value < other.value
        return super().__lt__(other)


def _headers(beta: float) -> list[str]:
    fname = "F1" if beta == 1 else f"F{beta:g}"
    return ["Precision", "Recall", fname, "Support"]


class ClassTable(QTableWidget):
    """One row per class; clicking a row asks for that class's samples."""

    class_clicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setSortingEnabled(True)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        self.cellClicked.connect(lambda row, _col: self.class_clicked.emit(self.item(row, 0).data(Qt.UserRole)))

    def set_report(self, report: dict, classes: list[str], beta: float = 1.0) -> None:
        self.setSortingEnabled(False)
        self.clear()
        self.setColumnCount(5)
        self.setHorizontalHeaderLabels(["Class", *_headers(beta)])
        self.setRowCount(len(classes))
        for row, name in enumerate(classes):
            item = QTableWidgetItem(name)
            item.setData(Qt.UserRole, row)
            item.setToolTip(f"click to show the samples of {name}")
            self.setItem(row, 0, item)
            for col, key in enumerate(COLUMNS, start=1):
                self.setItem(row, col, _NumberItem(report[key][row], integer=key == "support"))
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        for col in range(1, 5):
            header.setSectionResizeMode(col, QHeaderView.Stretch)
        self.setSortingEnabled(True)


class AveragesTable(QTableWidget):
    """Macro, micro and weighted averages of precision, recall and F-beta."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setFixedHeight(4 * 22 + 8)

    def set_report(self, report: dict, beta: float = 1.0) -> None:
        self.clear()
        self.setColumnCount(4)
        self.setHorizontalHeaderLabels(["Average", *_headers(beta)[:3]])
        averages = ("macro", "micro", "weighted")
        self.setRowCount(len(averages))
        for row, name in enumerate(averages):
            self.setItem(row, 0, QTableWidgetItem(name))
            for col, key in enumerate(("precision", "recall", "fbeta"), start=1):
                self.setItem(row, col, _NumberItem(report[name][key]))
        self.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
