"""The "Per image" tab: TP / FP / FN of every evaluated image at the score threshold, the worst first.

Worst is most FP + FN, then most FN (``DetectionEvaluation.worst_order``, the order of per_image.csv). The
columns sort; a click on a row opens that image in the browser, and "Show in browser" lists the images worst
first there.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.metrics.class_table import NumberItem
from gui.tables import setup_table

#: Column header: (key of the per-image counts, tooltip).
COLUMNS = {
    "TP": ("tp", "Detections matched to an object of their class"),
    "FP": ("fp", "Detections matched to no object of their class"),
    "FN": ("fn", "Objects no detection of their class found"),
    "Objects": ("objects", "Objects in the truth (crowd regions and difficult objects left out)"),
    "Detections": ("detections", "Detections scoring at least the threshold"),
}


class DetectionImages(QWidget):
    """One row per evaluated image; the sample's dataset index in ``Qt.UserRole`` of its first cell."""

    image_clicked = Signal(int)  # dataset index
    worst_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, 1 + len(COLUMNS))
        self.table.setHorizontalHeaderLabels(["Image", *COLUMNS])
        for col, (_key, tip) in enumerate(COLUMNS.values(), start=1):
            self.table.horizontalHeaderItem(col).setToolTip(tip)
        self.fitter = setup_table(self.table, spread=[0])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setToolTip("Click an image: open it in the browser")
        self.table.cellClicked.connect(lambda row, _c: self.image_clicked.emit(self.sample_at(row)))
        self.worst_button = QPushButton("Show in browser, worst first")
        self.worst_button.setToolTip("List every evaluated image in the browser, most FP + FN first")
        self.worst_button.clicked.connect(self.worst_requested)
        self.caption = QLabel()
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.worst_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

    def show_images(self, sample_ids, images: np.ndarray, counts: dict[str, np.ndarray], order: np.ndarray) -> None:
        """``images``: dataset indices of the evaluated images; ``counts`` per image; ``order`` worst first."""
        table = self.table
        table.setSortingEnabled(False)
        table.setUpdatesEnabled(False)
        table.setRowCount(len(order))
        values = {**counts, "objects": counts["tp"] + counts["fn"], "detections": counts["tp"] + counts["fp"]}
        for row, k in enumerate(order):
            item = QTableWidgetItem(str(sample_ids[images[k]]))
            item.setData(Qt.UserRole, int(images[k]))
            table.setItem(row, 0, item)
            for col, (key, _tip) in enumerate(COLUMNS.values(), start=1):
                table.setItem(row, col, NumberItem(int(values[key][k]), integer=True))
        table.setUpdatesEnabled(True)
        table.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)  # the worst-first order, no column's
        table.setSortingEnabled(True)
        wrong = int(np.count_nonzero(counts["fp"] + counts["fn"])) if len(order) else 0
        self.caption.setText(f"{len(order):,} images · {wrong:,} with an error · worst first")

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.caption.setText("")

    def sample_at(self, row: int) -> int:
        return int(self.table.item(row, 0).data(Qt.UserRole))

    def csv_rows(self) -> list[list]:
        header = [self.table.horizontalHeaderItem(c).text() for c in range(self.table.columnCount())]
        rows = [header]
        for r in range(self.table.rowCount()):
            rows.append(
                [self.table.item(r, 0).text(), *(int(self.table.item(r, c).value) for c in range(1, len(header)))]
            )
        return rows
