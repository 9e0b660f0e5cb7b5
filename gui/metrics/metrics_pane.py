"""The metrics view: confusion matrix, per-class table and averages, all clickable back to samples."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from core.metrics import cell_indices, classification_report, confusion_matrix, normalize_confusion_matrix
from core.selection import Selection
from gui.metrics.class_table import AveragesTable, ClassTable
from gui.metrics.confusion_widget import ConfusionMatrixWidget
from gui.state import AppState

VIEWS = {
    "Counts": None,
    "Rates by true class (recall)": "true",
    "Rates by predicted class (precision)": "pred",
    "Share of all samples": "all",
}
#: Recomputation is coalesced: many predictions_changed in a burst give one update.
RECOMPUTE_DELAY_MS = 50


class MetricsPane(QGroupBox):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__("Metrics", parent)
        self.state = state
        self.beta = 1.0
        self.counts: np.ndarray | None = None
        self.report: dict | None = None

        self.summary = QLabel("Run a model to see its metrics.")
        self.summary.setWordWrap(True)
        self.view_combo = QComboBox()
        self.view_combo.addItems(list(VIEWS))
        self.view_combo.setToolTip("Show counts, or rates normalised by row, column or over all")
        self.view_combo.currentIndexChanged.connect(self._show_matrix)
        self.matrix = ConfusionMatrixWidget()
        self.matrix.setToolTip("Click a cell to show its samples in the browser")
        self.matrix.cell_clicked.connect(self._select_cell)
        self.table = ClassTable()
        self.table.class_clicked.connect(self._select_class)
        self.averages = AveragesTable()

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Confusion matrix:"))
        controls.addWidget(self.view_combo, 1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(controls)
        left_layout.addWidget(self.matrix, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.table, 1)
        right_layout.addWidget(self.averages)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([420, 330])
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

        self._timer = QTimer(self, singleShot=True, interval=RECOMPUTE_DELAY_MS, timeout=self.recompute)
        state.dataset_changed.connect(lambda _ds: self._timer.start())
        state.predictions_changed.connect(lambda _p: self._timer.start())

    # -- computing --------------------------------------------------------------
    def _pairs(self) -> tuple[np.ndarray, np.ndarray] | None:
        dataset, preds = self.state.dataset, self.state.predictions
        if dataset is None or preds is None or dataset.targets is None or dataset.task not in ("binary", "multiclass"):
            return None
        return dataset.targets, preds.predicted

    def recompute(self) -> None:
        pairs = self._pairs()
        dataset = self.state.dataset
        if pairs is None:
            self.counts = self.report = None
            self.matrix.set_matrix(np.zeros((0, 0)), [])
            self.table.setRowCount(0)
            self.averages.setRowCount(0)
            if dataset is not None and dataset.task not in ("binary", "multiclass"):
                self.summary.setText(f"This view shows classification metrics; {dataset.name} is a {dataset.task} dataset.")
            else:
                self.summary.setText("Run a model to see its metrics.")
            return
        y_true, y_pred = pairs
        self.counts = confusion_matrix(y_true, y_pred, num_classes=dataset.num_classes)
        self.report = classification_report(self.counts, beta=self.beta)
        self._show_summary()
        self._show_matrix()
        self.table.set_report(self.report, dataset.classes, self.beta)
        self.averages.set_report(self.report, self.beta)

    def _show_summary(self) -> None:
        report, preds = self.report, self.state.predictions
        evaluated = int(self.counts.sum())
        correct = int(np.trace(self.counts))
        accuracy = report["accuracy"]
        text = (
            f"<b>Accuracy {accuracy:.2%}</b> ({correct:,} of {evaluated:,}) &nbsp;·&nbsp; "
            f"macro F1 {report['macro']['fbeta']:.3f} &nbsp;·&nbsp; model {preds.model}"
        )
        if not preds.complete:
            text += f" &nbsp;·&nbsp; <i>running: {preds.num_done:,} of {len(preds):,}</i>"
        if preds.errors:
            text += f" &nbsp;·&nbsp; <span style='color:#b00020'>{len(preds.errors)} failed</span>"
        self.summary.setText(text)

    def _show_matrix(self) -> None:
        if self.counts is None:
            return
        mode = VIEWS[self.view_combo.currentText()]
        values = None if mode is None else normalize_confusion_matrix(self.counts, mode)
        self.matrix.set_matrix(self.counts, self.state.dataset.classes, values)

    # -- back to the samples ----------------------------------------------------
    def _select_cell(self, true_class: int, pred_class: int) -> None:
        pairs = self._pairs()
        if pairs is None:
            return
        classes = self.state.dataset.classes
        indices = cell_indices(*pairs, true_class=true_class, pred_class=pred_class)
        name = f"true {classes[true_class]} → predicted {classes[pred_class]}"
        self.state.set_selection(Selection.of(name, indices))

    def _select_class(self, class_index: int) -> None:
        dataset = self.state.dataset
        if dataset is None or dataset.targets is None:
            return
        indices = np.flatnonzero(dataset.targets == class_index)
        self.state.set_selection(Selection.of(f"label = {dataset.classes[class_index]}", indices))
