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
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core import tasks
from core.evaluation import ranking
from core.evaluation.segmentation_ranking import SEGMENTATION_LOSSES, run_losses
from core.evaluation.selection import Selection
from core.metrics import normalize_confusion_matrix
from gui.glossary_tips import explain_metrics, set_header_tooltips
from gui.metrics.confusion_widget import ConfusionMatrixWidget
from gui.metrics.histogram_plot import HistogramPlot, log_check
from gui.metrics.jobs import BackgroundJob
from gui.state import AppState
from gui.tables import setup_table
from gui.throttle import debounced

PER_IMAGE = {  # name: key of per_image_scores (lower is worse)
    "mean IoU": "mean_iou",
    "mean Dice": "mean_dice",
    "pixel accuracy": "pixel_accuracy",
}
#: Per-image losses (higher is worse), computed in the background from the run's probabilities.
LOSSES = tuple(SEGMENTATION_LOSSES)
COLUMNS = ("IoU", "Dice", "Recall", "Prec.", "Pixels")
BINS = 20
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
        self.matrix = ConfusionMatrixWidget()
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


class ImagesView(QWidget):
    """Per-image scores and losses: a histogram that selects, and the worst images first."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.scores: dict[str, np.ndarray] | None = None
        self.losses: dict[str, np.ndarray] | None = None
        self.loss_job = BackgroundJob(self)
        self.loss_job.finished.connect(self._losses_ready)
        self.loss_job.failed.connect(lambda text: state.error.emit("Cannot compute the losses", text))
        self.score_combo = QComboBox(toolTip="The per-image score or loss to rank and histogram")
        self.score_combo.addItems([*PER_IMAGE, *LOSSES])
        explain_metrics(self.score_combo)
        self.score_combo.currentIndexChanged.connect(self._show_histogram)
        self.worst_button = QPushButton("Worst first", toolTip="Show every image, the worst first")
        self.worst_button.clicked.connect(self.worst_first)
        self.plot = HistogramPlot(ylabel="Images")
        self.plot.bar_clicked.connect(self._bar_clicked)
        self.plot.range_chosen.connect(self._select_range)
        self.log_check = log_check(self.plot)
        self.info = QLabel()  # the losses, while they are computed
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Score:"))
        controls.addWidget(self.score_combo, 1)
        controls.addWidget(self.log_check)
        controls.addWidget(self.worst_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.info)

    def show_run(self, predictions) -> None:
        self.scores = predictions.per_image_scores()
        self.losses = None
        if predictions.complete and self.state.dataset is not None:
            self.loss_job.submit(run_losses, predictions, self.state.dataset)
        self._show_histogram()

    def _losses_ready(self, losses: dict[str, np.ndarray]) -> None:
        self.losses = losses
        self._show_histogram()

    def metric(self) -> str:
        return self.score_combo.currentText()

    def higher_is_worse(self) -> bool:
        return self.metric() in LOSSES

    def values(self) -> np.ndarray:
        name = self.metric()
        if name in LOSSES:
            return self.losses[name] if self.losses is not None else np.zeros(0)
        return self.scores[PER_IMAGE[name]] if self.scores is not None else np.zeros(0)

    @property
    def edges(self) -> np.ndarray:
        return self.plot.edges

    def _show_histogram(self) -> None:
        # Scores lie in [0, 1] and are drawn on that range; losses on the range of their values.
        limits = None if self.higher_is_worse() else (0.0, 1.0)
        counts, edges = ranking.histogram(self.values(), BINS, limits)
        self.plot.set_histogram(counts, edges, self.metric(), self.higher_is_worse())
        waiting = self.metric() in LOSSES and self.losses is None
        self.info.setText("Computing the losses in the background…" if waiting else "")

    def _choose(self, indices: np.ndarray, name: str) -> None:
        worst = ranking.worst_first(self.values(), self.higher_is_worse(), indices)
        self.state.set_selection(Selection.of(name, worst, ordered=True))
        self.plot.describe(f"Shaded: {name} · {len(indices):,} images shown in the browser, worst first")

    def _select_range(self, low: float, high: float) -> None:
        if self.scores is None or not len(self.values()):
            return
        self._choose(ranking.in_range(self.values(), low, high), f"{self.metric()} in [{low:.2f}, {high:.2f}]")

    def _bar_clicked(self, b: int) -> None:
        if self.scores is None or not len(self.values()):
            return
        low, high = self.edges[b], self.edges[b + 1]
        self._choose(ranking.in_bin(self.values(), self.edges, b), f"{self.metric()} in [{low:.2f}, {high:.2f})")

    def worst_first(self) -> None:
        values = self.values()
        if self.scores is None or not len(values):
            return
        worst = ranking.worst_first(values, self.higher_is_worse())
        self.state.set_selection(Selection.of(f"worst {self.metric()} first", worst, ordered=True))


class SegmentationMetrics(QWidget):
    """Follows the state: shows the segmentation run in ``state.predictions`` when there is one."""

    refreshed = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.pixels = PixelsView(state)
        self.images = ImagesView(state)
        self.summary_text = ""
        self._refresh_soon = debounced(self.refresh, timeout=100)  # once a dataset and its run have both arrived
        state.predictions_changed.connect(lambda _p: self._refresh_soon())
        state.dataset_changed.connect(lambda _d: self._refresh_soon())

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
