"""The metrics of a segmentation run: pixel confusion, per-class IoU and Dice, per-image ranking.

Everything comes from the per-image pixel confusion matrices the run kept
(core.inference.mask_store.SegmentationPredictions), so filtering and re-ranking never re-read
a mask. A click on a matrix cell selects the images where that confusion covers the most
pixels, most first; the per-image view orders the images worst first by mean IoU, mean Dice
or pixel accuracy, and its histogram selects the images of a bar or a dragged range.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core import tasks
from core.evaluation.selection import Selection
from core.metrics import normalize_confusion_matrix
from gui.glossary_tips import set_header_tooltips
from gui.metrics.lazy_matrix import LazyConfusionMatrix
from gui.state import AppState
from gui.tables import setup_table
from gui.throttle import debounced

COLUMNS = ("IoU", "Dice", "Recall", "Prec.", "Pixels")
MATRIX_MIN_WIDTH = 260


def is_segmentation_run(predictions) -> bool:
    task = tasks.known(predictions)
    return task is not None and task.per_pixel


def _number(value: float, integer: bool = False) -> QTableWidgetItem:
    undefined = value is None or (isinstance(value, float) and math.isnan(value))
    item = QTableWidgetItem("—" if undefined else (f"{int(value):,}" if integer else f"{value:.3f}"))
    item.setData(Qt.UserRole, -1.0 if undefined else float(value))
    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    if undefined:
        item.setToolTip("absent: the class is in neither the truth nor the prediction, and left out of the means")
    return item


class SegmentationSummary:
    """The numbers of the summary line, from a segmentation_report."""

    @staticmethod
    def text(report: dict, predictions, evaluated: int) -> str:
        parts = [
            f"<b>mean IoU {report['mean_iou']:.3f}</b>",
            f"mean Dice {report['mean_dice']:.3f}",
            f"pixel accuracy {report['pixel_accuracy']:.2%}",
            f"mean class accuracy {report['mean_accuracy']:.2%}",
            f"fw IoU {report['fw_iou']:.3f}",
            f"{evaluated:,} images",
        ]
        if predictions.errors:
            parts.append(f"<span style='color:#b00020'>{len(predictions.errors)} failed</span>")
        if getattr(predictions, "mask_errors", None):
            parts.append(f"<span style='color:#b00020'>{len(predictions.mask_errors)} without a usable mask</span>")
        absent = [i for i, present in enumerate(report["present"]) if not present]
        if absent:
            parts.append(f"{len(absent)} classes absent (left out of the means)")
        return " &nbsp;·&nbsp; ".join(parts)


class PixelsView(QWidget):
    """Pixel confusion matrix (counts or rates) beside the per-class IoU / Dice table."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.counts = np.zeros((0, 0), dtype=np.int64)
        self.report: dict | None = None
        self.view_combo = QComboBox(toolTip="Pixel counts, or rates by true class / predicted class / over all")
        self.view_combo.addItems(["Pixels", "Rates by true class", "Rates by predicted class", "Share of all pixels"])
        self.view_combo.currentIndexChanged.connect(self._show_matrix)
        self.matrix = LazyConfusionMatrix()
        self.matrix.setToolTip("Click a cell: the images where this confusion covers the most pixels, most first")
        self.matrix.cell_clicked.connect(self.select_cell)
        self.table = QTableWidget(0, len(COLUMNS) + 1)
        self.table.setHorizontalHeaderLabels(["Class", *COLUMNS])
        self.fitter = setup_table(self.table)
        set_header_tooltips(self.table)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.cellClicked.connect(lambda row, _c: self.select_class(self.table.item(row, 0).data(Qt.UserRole)))
        self.table.setToolTip("Click a class: the images with the most wrongly predicted pixels of it, most first")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.view_combo)
        left_layout.addWidget(self.matrix, 1)
        self.split = QSplitter()
        self.split.addWidget(left)
        self.split.addWidget(self.table)
        self.split.setSizes([380, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.split)

    def show_run(self, predictions, classes: list[str]) -> None:
        self.counts = predictions.confusion()
        self.report = predictions.report()
        self.classes = classes
        self._show_matrix()
        self._fill_table()

    def _show_matrix(self) -> None:
        if self.report is None:
            return
        modes = [None, "true", "pred", "all"]
        mode = modes[self.view_combo.currentIndex()]
        values = None if mode is None else normalize_confusion_matrix(self.counts, mode)
        self.matrix.set_matrix(self.counts, self.classes, values)

    def _fill_table(self) -> None:
        report = self.report
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.classes))
        keys = ("iou", "dice", "accuracy", "precision", "support")
        for row, name in enumerate(self.classes):
            item = QTableWidgetItem(name if report["present"][row] else f"{name} (absent)")
            item.setData(Qt.UserRole, row)
            self.table.setItem(row, 0, item)
            for col, key in enumerate(keys, start=1):
                self.table.setItem(row, col, _number(report[key][row], integer=key == "support"))
        self._give_table_its_width()

    def _give_table_its_width(self) -> None:
        """The table as wide as its columns need, while the matrix keeps MATRIX_MIN_WIDTH."""
        table = self.table
        need = sum(self.fitter.needed_widths().values()) + 2 * table.frameWidth()
        need += table.verticalScrollBar().sizeHint().width()
        total = sum(self.split.sizes())
        if total > 0:
            self.split.setSizes([max(total - need, MATRIX_MIN_WIDTH), min(need, total - MATRIX_MIN_WIDTH)])

    def select_cell(self, true_class: int, pred_class: int) -> None:
        preds = self.state.predictions
        if not is_segmentation_run(preds):
            return
        images, pixels = preds.images_in_cell(true_class, pred_class)
        name = f"true {self.classes[true_class]} → predicted {self.classes[pred_class]} (most pixels first)"
        self.state.set_selection(Selection.of(name, images, ordered=True))
        self.state.message.emit(f"{len(images)} images, {int(pixels.sum()):,} pixels")

    def select_class(self, class_index: int) -> None:
        """The images where the class loses the most pixels to other classes, most first."""
        preds = self.state.predictions
        if not is_segmentation_run(preds):
            return
        per_image = preds.per_image(np.flatnonzero(preds.has_truth))
        indices = np.flatnonzero(preds.has_truth)
        row = per_image[:, class_index, :]
        missed = row.sum(axis=1) - row[:, class_index]
        order = np.argsort(-missed, kind="stable")
        keep = order[missed[order] > 0]
        name = f"{self.classes[class_index]}: most missed pixels first"
        self.state.set_selection(Selection.of(name, indices[keep], ordered=True))


class SegmentationMetrics(QWidget):
    """Follows the state: shows the segmentation run in ``state.predictions`` when there is one."""

    refreshed = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.pixels = PixelsView(state)
        self._images = None  # ImagesView (a pyqtgraph histogram), made when shown or with the first run
        self.summary_text = ""
        self._refresh_soon = debounced(self.refresh, timeout=100)  # once a dataset and its run have both arrived
        state.predictions_changed.connect(lambda _p: self._refresh_soon())
        state.dataset_changed.connect(lambda _d: self._refresh_soon())

    @property
    def images(self):
        """The per-image view (gui.metrics.segmentation_images.ImagesView), made now if it was not."""
        if self._images is None:
            from gui.metrics.segmentation_images import ImagesView  # pyqtgraph: not with the pane's first paint

            self._images = ImagesView(self.state)
        return self._images

    def refresh(self) -> None:
        preds, dataset = self.state.predictions, self.state.dataset
        if not is_segmentation_run(preds) or dataset is None or not preds.has_truth.any():
            if self.summary_text:  # nothing scored (yet): the pane says why, not NaN
                self.summary_text = ""
                self.refreshed.emit()
            return
        evaluated = int(preds.has_truth.sum())
        self.pixels.show_run(preds, list(preds.classes))
        self.images.show_run(preds)
        self.summary_text = SegmentationSummary.text(self.pixels.report, preds, evaluated)
        self.refreshed.emit()
