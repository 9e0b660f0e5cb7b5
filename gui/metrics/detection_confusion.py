"""The "Confusion" tab: the detection confusion matrix with a background row and column.

Rows are the true classes, columns the predicted ones (the matrix of the run's metrics.json at the score and IoU
thresholds of the operating-point bar): the diagonal holds the TPs, the last column the objects no detection found,
the last row the detections on no object. A click on a cell selects its objects (and the detections paired with
them) in the browser.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gui.metrics.confusion_widget import ConfusionMatrixWidget

BACKGROUND = "background"


class DetectionConfusion(QWidget):
    """The matrix and a line saying at which operating point it was counted."""

    cell_clicked = Signal(int, int)  # row (true class, or background), column (predicted class, or background)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix = ConfusionMatrixWidget()
        self.matrix.setToolTip(
            "Rows: the true class of each object (last row: detections on no object). Columns: the predicted class "
            "(last column: objects no detection found). Click a cell: its objects in the browser"
        )
        self.matrix.cell_clicked.connect(self._clicked)
        self.plot = self.matrix  # the export saves this
        self.caption = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.matrix, 1)
        layout.addWidget(self.caption)

    def show_summary(self, summary: dict | None) -> None:
        if summary is None:
            self.matrix.set_matrix(np.zeros((0, 0), dtype=np.int64), [])
            self.caption.setText("")
            return
        confusion = summary["confusion"]
        counts = np.asarray(confusion["matrix"], dtype=np.int64)
        self.matrix.set_matrix(counts, list(confusion["labels"]))
        missed, false = int(counts[:-1, -1].sum()), int(counts[-1, :-1].sum())
        right = int(np.trace(counts[:-1, :-1]))
        wrong_class = int(counts[:-1, :-1].sum()) - right
        self.caption.setText(
            f"At score ≥ {confusion['score_threshold']:.3f} and IoU ≥ {confusion['iou_threshold']:.2f} · "
            f"TP {right:,} · on the wrong class {wrong_class:,} · "
            f"on background {false:,} · missed {missed:,}"
        )

    def _clicked(self, row: int, column: int) -> None:
        last = len(self.matrix.classes) - 1
        if not (row == last and column == last):  # background on background is no object at all
            self.cell_clicked.emit(row, column)

    def csv_rows(self) -> list[list]:
        classes = self.matrix.classes
        return [["true \\ predicted", *classes], *[[c, *map(int, row)] for c, row in zip(classes, self.matrix.counts)]]
