"""Per-class tables: single-label (with AP and AUC) and multilabel (with thresholds, the label's 2 x 2 matrix)."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.evaluation import classification
from core.metrics import multilabel_cell_indices
from gui.glossary_tips import explain_metrics, metric_tooltip
from gui.metrics.class_table import AveragesTable, ClassTable, Column, NumberItem
from gui.metrics.controls import fbeta_name
from gui.metrics.lazy_matrix import LazyConfusionMatrix
from gui.metrics.model import MetricsModel

PRESENCE = ["absent", "present"]


def _columns(model: MetricsModel, report: dict) -> list[Column]:
    nothing = np.full(len(model.classes), np.nan)
    scores = model.scores or {}
    return [
        Column("Precision", report["precision"], tip="TP / (TP + FP)"),
        Column("Recall", report["recall"], tip="TP / (TP + FN)"),
        Column(fbeta_name(model.beta), report["fbeta"], tip="(1 + β²) P R / (β² P + R)"),
        Column("Support", report["support"], integer=True, tip="samples of the class"),
        Column("AP", scores.get("average_precision", nothing), tip="average precision (one vs rest)"),
        Column("AUC", scores.get("roc_auc", nothing), tip="area under the ROC curve (one vs rest)"),
    ]


def table_csv(table, *more) -> list[list]:
    """A table's headers and numbers (full precision; empty for undefined), then those of ``more`` tables."""
    rows = []
    for t in (table, *more):
        columns = [c for c in range(t.columnCount()) if t.horizontalHeaderItem(c).text()]
        rows.append([t.horizontalHeaderItem(c).text() for c in columns])
        for r in range(t.rowCount()):
            items = [t.item(r, c) for c in columns]
            rows.append([_cell(item) for item in items])
        rows.append([])
    return rows[:-1]


def _cell(item):
    if isinstance(item, NumberItem):
        return "" if np.isnan(item.value) else (int(item.value) if item.integer else item.value)
    return "" if item is None else item.text()


def explain_averages(table: AveragesTable, report: dict, kind: str = "classes") -> None:
    """Tooltips on the average names: over which classes, and what an undefined (0/0) value counted as."""
    count = int(np.count_nonzero(report["averaged"]))
    zero = report["zero_division"]
    undefined = "left out" if np.isnan(zero) else f"counted as {zero:g}"
    where = "in the truth or the predictions" if kind == "classes" else "all labels"
    tips = {
        "macro": f"plain mean over the {count} {kind} ({where}); an undefined value (0/0) is {undefined}",
        "weighted": f"mean over the {count} {kind} weighted by support; an undefined value (0/0) is {undefined}",
        "micro": f"from the counts of all {kind} pooled",
        "samples": f"mean of each sample's own value; an undefined value (0/0) is {undefined}",
    }
    for row in range(table.rowCount()):
        item = table.item(row, 0)
        extra = tips.get(item.text())
        # after the glossary's entry (formula, meaning): which classes this run averaged, and how
        item.setToolTip(metric_tooltip(f"{item.text()} average") + (f"<p>{html.escape(extra)}</p>" if extra else ""))


class ClassesView(QWidget):
    """Precision, recall, F-beta, support, AP and AUC per class; the averages under them."""

    def __init__(self, model: MetricsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.table = ClassTable()
        self.table.class_clicked.connect(model.select_class)
        self.table.hardest_requested.connect(model.select_hardest)
        self.averages = AveragesTable()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.averages)
        model.decisions_changed.connect(self.refresh)
        model.scores_changed.connect(self.refresh)

    def catch_up(self) -> None:
        """Show what the model holds now (a view made after the model changed: the tab's first show)."""
        self.refresh()

    def refresh(self) -> None:
        decisions = self.model.decisions
        if decisions is None or "counts" not in decisions:
            self.table.setRowCount(0)
            self.averages.setRowCount(0)
            return
        report = decisions["report"]
        self.table.set_rows(self.model.classes, _columns(self.model, report))
        self.averages.set_report(report, fbeta_name(self.model.beta))
        explain_averages(self.averages, report)

    def csv_rows(self) -> list[list]:
        return table_csv(self.table, self.averages)


class LabelsView(QWidget):
    """Multilabel: one row per label with its own threshold; a click shows the label's 2 x 2 matrix."""

    def __init__(self, model: MetricsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.label = 0
        self.table = ClassTable()
        self.table.class_clicked.connect(self.show_label)
        self.table.class_clicked.connect(model.select_class)
        self.table.hardest_requested.connect(model.select_hardest)
        self.table.threshold_edited.connect(lambda j, value: model.set_threshold(value, label=j))
        self.table.threshold_refused.connect(self._refused)
        self.matrix = LazyConfusionMatrix()
        self.matrix.setToolTip("Click a cell to show its samples in the browser")
        self.matrix.cell_clicked.connect(self.select_cell)
        self.matrix.setMinimumSize(180, 160)
        self.matrix_title = QLabel()
        self.averages = AveragesTable()
        self.extra = QLabel()
        explain_metrics(self.extra)
        left = QVBoxLayout()
        left.addWidget(self.matrix_title)
        left.addWidget(self.matrix, 1)
        right = QVBoxLayout()
        right.addWidget(self.averages)
        right.addWidget(self.extra)
        right.addStretch(1)
        bottom = QHBoxLayout()
        bottom.addLayout(left, 2)
        bottom.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 3)
        layout.addLayout(bottom, 2)
        model.decisions_changed.connect(self.refresh)
        model.scores_changed.connect(self.refresh)

    def catch_up(self) -> None:
        """Show what the model holds now (a view made after the model changed: the tab's first show)."""
        self.refresh()

    def _refused(self, _label: int, sentence: str) -> None:
        self.refresh()  # the cell shows the threshold in force again
        self.model.state.error.emit("Threshold not changed", sentence)

    def refresh(self) -> None:
        decisions = self.model.decisions
        if decisions is None or "confusion" not in decisions["report"]:
            self.table.setRowCount(0)
            return
        report = decisions["report"]
        thresholds = report["threshold"]
        columns = _columns(self.model, report)
        self.table.set_rows(self.model.classes, columns, thresholds, set(self.model.overrides), kind="Label")
        self.averages.set_report(report, fbeta_name(self.model.beta), ("micro", "macro", "weighted", "samples"))
        explain_averages(self.averages, report, kind="labels")
        self.extra.setText(
            f"Hamming loss <b>{report['hamming_loss']:.4f}</b> &nbsp;·&nbsp; "
            f"subset accuracy <b>{report['subset_accuracy']:.2%}</b>"
        )
        self.show_label(min(self.label, len(self.model.classes) - 1))

    def show_label(self, label: int) -> None:
        self.label = label
        decisions = self.model.decisions
        if decisions is None or label < 0:
            return
        report = decisions["report"]
        self.matrix.set_matrix(report["confusion"][label], PRESENCE)
        name = self.model.classes[label]
        self.matrix_title.setText(f"<b>{name}</b> at threshold {report['threshold'][label]:.3f}")

    def select_cell(self, true_value: int, pred_value: int) -> None:
        model, j = self.model, self.label
        rows = np.flatnonzero(model.predictions.done)
        threshold = classification.snap_threshold(model.decisions["report"]["threshold"])
        tags, scores = model.dataset.tags[rows], model.predictions.scores[rows]
        indices = rows[multilabel_cell_indices(tags, scores, j, bool(true_value), bool(pred_value), threshold)]
        name = f"{model.classes[j]}: {PRESENCE[true_value]}, predicted {PRESENCE[pred_value]}"
        model.select(name, indices)

    def csv_rows(self) -> list[list]:
        return table_csv(self.table, self.averages)
