"""The per-class (per-label) metrics table, sortable, and the averages under it.

A click on a row asks for that class's samples; the last column asks for its hardest samples
(sorted by loss); multilabel tables carry an editable per-label threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QMenu, QTableWidget, QTableWidgetItem

from gui.glossary_tips import metric_tooltip, set_header_tooltips
from gui.metrics.threshold_box import parse_unit
from gui.tables import setup_table, show_rows

HARDEST = "worst first ▸"


@dataclass
class Column:
    header: str
    values: Sequence
    integer: bool = False
    tip: str = ""


class NumberItem(QTableWidgetItem):
    """Sorts by value; NaN (undefined, 0/0) shows as an em dash and sorts last. ``value`` is exported."""

    def __init__(self, value, integer: bool = False, tip: str = "") -> None:
        super().__init__()
        self.integer, self.tip = integer, tip
        self.set_value(value)
        self.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)

    def set_value(self, value) -> None:
        self.value = math.nan if value is None else float(value)
        undefined = math.isnan(self.value)
        self.setText("—" if undefined else (f"{int(self.value):,}" if self.integer else f"{self.value:.3f}"))
        self.setToolTip("undefined (0/0): no sample of this class, or never predicted" if undefined else self.tip)

    def __lt__(self, other) -> bool:
        if isinstance(other, NumberItem):
            mine, theirs = (math.inf if math.isnan(v) else v for v in (self.value, other.value))
            return mine < theirs
        return super().__lt__(other)


class ActionItem(QTableWidgetItem):
    """A clickable cell that is no number (left out of exports)."""


class ClassTable(QTableWidget):
    """One row per class: the name (its index in ``Qt.UserRole``), the numbers, then "worst first"."""

    class_clicked = Signal(int)
    hardest_requested = Signal(int)
    threshold_edited = Signal(int, object)  # label, threshold or None (back to the common one)
    threshold_refused = Signal(int, str)  # label, why the typed threshold was not taken

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        setup_table(self)
        self.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setSortingEnabled(True)
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.cellClicked.connect(self._clicked)
        self.itemChanged.connect(self._edited)
        self.threshold_column: int | None = None

    def class_at(self, row: int) -> int:
        return self.item(row, 0).data(Qt.UserRole)

    def set_rows(self, names: list[str], columns: list[Column], thresholds=None, overridden=(), kind="Class") -> None:
        """Fill the table; ``thresholds`` (one per row) adds an editable threshold column."""
        headers = [kind, *(c.header for c in columns)] + ["Threshold"] * (thresholds is not None) + [""]
        if self._shows(names, headers):
            self._update(columns, thresholds, overridden)  # a dragged threshold: numbers only
            return
        self.blockSignals(True)
        self.setSortingEnabled(False)
        self.clear()
        self.threshold_column = len(columns) + 1 if thresholds is not None else None
        self.setColumnCount(len(headers))
        self.setHorizontalHeaderLabels(headers)
        self.setRowCount(len(names))
        for row, name in enumerate(names):
            self._set_row(row, name, columns, thresholds, overridden)
        for col, column in enumerate(columns, start=1):
            self.horizontalHeaderItem(col).setToolTip(metric_tooltip(column.header) or column.tip)
        self.setSortingEnabled(True)
        self.blockSignals(False)

    def _shows(self, names: list[str], headers: list[str]) -> bool:
        """Whether the table already has these rows (in any order) and columns."""
        if self.rowCount() != len(names) or self.columnCount() != len(headers):
            return False
        if any(self.horizontalHeaderItem(c).text() != h for c, h in enumerate(headers)):
            return False
        return all(self.item(r, 0).text() == names[self.class_at(r)] for r in range(self.rowCount()))

    def _update(self, columns: list[Column], thresholds, overridden) -> None:
        self.blockSignals(True)
        self.setSortingEnabled(False)
        for r in range(self.rowCount()):
            index = self.class_at(r)
            for col, column in enumerate(columns, start=1):
                self.item(r, col).set_value(column.values[index])
            if thresholds is not None:
                cell = self.item(r, self.threshold_column)
                cell.set_value(thresholds[index])
                font = cell.font()
                font.setBold(index in overridden)
                cell.setFont(font)
        self.setSortingEnabled(True)
        self.blockSignals(False)

    def _set_row(self, row, name, columns, thresholds, overridden) -> None:
        item = QTableWidgetItem(name)
        item.setData(Qt.UserRole, row)
        item.setFlags(item.flags() & ~Qt.ItemIsEditable)
        item.setToolTip(f"click to show the samples of {name}; right-click for more")
        self.setItem(row, 0, item)
        for col, column in enumerate(columns, start=1):
            number = NumberItem(column.values[row], integer=column.integer)
            number.setFlags(number.flags() & ~Qt.ItemIsEditable)
            self.setItem(row, col, number)
        if thresholds is not None:
            tip = "this label's threshold: double-click to change it, clear it to use the common one"
            cell = NumberItem(thresholds[row], tip=tip)
            if row in overridden:
                font = QFont()
                font.setBold(True)
                cell.setFont(font)
            self.setItem(row, self.threshold_column, cell)
        action = ActionItem(HARDEST)
        action.setFlags(action.flags() & ~Qt.ItemIsEditable)
        action.setForeground(Qt.darkBlue)
        action.setToolTip(f"show the samples of {name}, hardest (highest loss) first")
        self.setItem(row, self.columnCount() - 1, action)

    def values(self, column: int) -> dict[int, float]:
        """Class index -> the number shown in ``column`` (for tests and exports)."""
        return {self.class_at(r): self.item(r, column).value for r in range(self.rowCount())}

    def _clicked(self, row: int, col: int) -> None:
        if col == self.columnCount() - 1:
            self.hardest_requested.emit(self.class_at(row))
        elif col != self.threshold_column:
            self.class_clicked.emit(self.class_at(row))

    def _edited(self, item: QTableWidgetItem) -> None:
        if self.threshold_column is None or item.column() != self.threshold_column:
            return
        text = item.text().strip()
        value, why = parse_unit(text) if text else (None, "")  # cleared: back to the common threshold
        label = self.class_at(item.row())
        # the table is refilled in answer: not from inside its own itemChanged
        if why:  # refused, never clamped: 1.5 is a typo, not a wish for 1.0
            name = self.item(item.row(), 0).text()
            sentence = f"“{text}” is {why}: a threshold is a number between 0 and 1; {name} keeps its threshold."
            QTimer.singleShot(0, lambda: self.threshold_refused.emit(label, sentence))
        else:
            QTimer.singleShot(0, lambda: self.threshold_edited.emit(label, value))

    def _menu(self, pos) -> None:
        item = self.itemAt(pos)
        if item is None:
            return
        index, name = self.class_at(item.row()), self.item(item.row(), 0).text()
        menu = QMenu(self)
        menu.addAction(f"Show the samples of {name}", lambda: self.class_clicked.emit(index))
        menu.addAction(f"Hardest examples of {name}", lambda: self.hardest_requested.emit(index))
        menu.exec(self.viewport().mapToGlobal(pos))


class AveragesTable(QTableWidget):
    """Averages of precision, recall and F-beta: macro, micro, weighted (and samples, for multilabel)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        setup_table(self)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)

    def set_report(self, report: dict, fbeta: str, averages: Sequence[str] = ("macro", "micro", "weighted")) -> None:
        self.clear()
        self.setColumnCount(4)
        self.setHorizontalHeaderLabels(["Average", "Precision", "Recall", fbeta])
        self.setRowCount(len(averages))
        for row, name in enumerate(averages):
            self.setItem(row, 0, QTableWidgetItem(name))
            self.item(row, 0).setToolTip(metric_tooltip(f"{name} average"))
            for col, key in enumerate(("precision", "recall", "fbeta"), start=1):
                self.setItem(row, col, NumberItem(report[name][key]))
        set_header_tooltips(self)
        show_rows(self, len(averages))
