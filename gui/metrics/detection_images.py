"""The "Per image" tab: TP / FP / FN of every evaluated image at the score threshold, the worst first.

Worst is most FP + FN, then most FN (``DetectionEvaluation.worst_order``, the order of per_image.csv). The
columns sort; a click on a row opens that image in the browser, and "Show in browser" lists the images worst
first there.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from gui.tables import setup_table

#: Rows the column widths are measured on (the visible ones first).
MEASURED_ROWS = 50
#: Column header: (key of the per-image counts, tooltip).
COLUMNS = {
    "TP": ("tp", "Detections matched to an object of their class"),
    "FP": ("fp", "Detections matched to no object of their class"),
    "FN": ("fn", "Objects no detection of their class found"),
    "Objects": ("objects", "Objects in the truth (crowd regions and difficult objects left out)"),
    "Detections": ("detections", "Detections scoring at least the threshold"),
}


class ImageCounts(QAbstractTableModel):
    """The images' counts as numpy columns: Qt asks for the rows in view only, and a sort is one argsort, so
    5,000 images (or 100,000) cost no more on the GUI thread than 50."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.names = np.zeros(0, dtype=object)
        self.samples = np.zeros(0, dtype=np.int64)
        self.columns = np.zeros((0, len(COLUMNS)), dtype=np.int64)

    def set_rows(self, names: np.ndarray, samples: np.ndarray, columns: np.ndarray) -> None:
        self.beginResetModel()
        self.names, self.samples, self.columns = names, samples, columns
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.samples)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 1 + len(COLUMNS)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        row, col = index.row(), index.column()
        if role == Qt.DisplayRole:
            return str(self.names[row]) if col == 0 else f"{int(self.columns[row, col - 1]):,}"
        if role == Qt.TextAlignmentRole and col > 0:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.UserRole:
            return int(self.samples[row])
        return None

    def headerData(self, section: int, orientation, role: int = Qt.DisplayRole):
        if orientation != Qt.Horizontal:
            return None
        names = ["Image", *COLUMNS]
        if role == Qt.DisplayRole:
            return names[section]
        if role == Qt.ToolTipRole and section > 0:
            return COLUMNS[names[section]][1]
        return None

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        """By a column (ties keep the worst-first order); the image names sort as text."""
        if column < 0 or not len(self.samples):
            return
        keys = self.names.astype(str) if column == 0 else self.columns[:, column - 1]
        rank = np.argsort(keys, kind="stable")
        if order == Qt.DescendingOrder:  # numbers: -keys keeps the ties worst first
            rank = np.argsort(-keys, kind="stable") if column else rank[::-1]
        self.layoutAboutToBeChanged.emit()
        self.names, self.samples, self.columns = self.names[rank], self.samples[rank], self.columns[rank]
        self.layoutChanged.emit()


class DetectionImages(QWidget):
    """One row per evaluated image; the sample's dataset index in ``Qt.UserRole`` of every cell."""

    image_clicked = Signal(int)  # dataset index
    worst_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ImageCounts(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.fitter = setup_table(self.table, spread=[0])
        # Rows measured to fit the columns: counts of one format have one width, and every data() call is Python
        self.table.horizontalHeader().setResizeContentsPrecision(MEASURED_ROWS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)  # worst first, no column's order
        self.table.setToolTip("Click an image: open it in the browser")
        self.table.clicked.connect(lambda index: self.image_clicked.emit(self.sample_at(index.row())))
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
        order = np.asarray(order, dtype=np.int64)
        images = np.asarray(images, dtype=np.int64)
        values = {**counts, "objects": counts["tp"] + counts["fn"], "detections": counts["tp"] + counts["fp"]}
        columns = np.stack([np.asarray(values[key], dtype=np.int64) for key, _tip in COLUMNS.values()], axis=1)
        names = np.asarray(sample_ids, dtype=object)[images[order]] if len(order) else np.zeros(0, dtype=object)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)  # a new ranking: worst first again
        self.model.set_rows(names, images[order], columns[order] if len(order) else columns[:0])
        wrong = int(np.count_nonzero(counts["fp"] + counts["fn"])) if len(order) else 0
        self.caption.setText(f"{len(order):,} images · {wrong:,} with an error · worst first")

    def clear(self) -> None:
        self.model.set_rows(np.zeros(0, dtype=object), np.zeros(0, np.int64), np.zeros((0, len(COLUMNS)), np.int64))
        self.caption.setText("")

    def text(self, row: int, column: int) -> str:
        return self.model.data(self.model.index(row, column))

    def sample_at(self, row: int) -> int:
        return int(self.model.samples[row])

    def csv_rows(self) -> list[list]:
        header = ["Image", *COLUMNS]
        return [header, *[[str(n), *map(int, c)] for n, c in zip(self.model.names, self.model.columns)]]
