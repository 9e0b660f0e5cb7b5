"""The most confused pairs of classes: the largest off-diagonal cells, the way into a 1,000-class matrix."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem

from gui.metrics.class_table import NumberItem
from gui.tables import setup_table

TOP = 100


def most_confused(counts: np.ndarray, top: int = TOP) -> list[tuple[int, int, int]]:
    """(true, predicted, count) of the ``top`` largest off-diagonal cells with a count, largest first
    (ties: by true class, then predicted class)."""
    off = np.asarray(counts, dtype=np.int64).copy()
    np.fill_diagonal(off, 0)
    flat = off.ravel()
    candidates = np.flatnonzero(flat)
    if candidates.size > top:
        kth = np.partition(flat[candidates], candidates.size - top)[candidates.size - top]
        candidates = candidates[flat[candidates] >= kth]
    order = np.lexsort((candidates, -flat[candidates]))[:top]
    n = off.shape[1]
    return [(int(c // n), int(c % n), int(flat[c])) for c in candidates[order]]


class ConfusedPairsTable(QTableWidget):
    """True class, predicted class, count and its share of the true class; a click selects the cell's samples."""

    pair_clicked = Signal(int, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        setup_table(self)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setToolTip("The largest confusions; click one to see its samples and to zoom the matrix onto it")
        self.pairs: list[tuple[int, int, int]] = []
        self.cellClicked.connect(lambda row, _col: self.pair_clicked.emit(*self.pairs[row][:2]))

    def set_counts(self, counts: np.ndarray, classes: list[str]) -> None:
        self.pairs = most_confused(counts)
        rows = np.asarray(counts).sum(axis=1)
        self.clear()
        self.setColumnCount(4)
        self.setHorizontalHeaderLabels(["True class", "Predicted as", "Samples", "Share of true"])
        self.setRowCount(len(self.pairs))
        for row, (t, p, count) in enumerate(self.pairs):
            self.setItem(row, 0, QTableWidgetItem(classes[t]))
            self.setItem(row, 1, QTableWidgetItem(classes[p]))
            self.setItem(row, 2, NumberItem(count, integer=True))
            self.setItem(row, 3, NumberItem(count / rows[t] if rows[t] else None))
            for col in (0, 1):
                self.item(row, col).setData(Qt.ToolTipRole, f"{classes[t]} taken for {classes[p]}")
