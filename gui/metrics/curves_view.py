"""Precision-recall and ROC curves of one class (binary: the positive class; one vs rest; one label)."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.metrics import average_precision, best_fbeta_threshold, precision_recall_curve, roc_auc, roc_curve
from gui.glossary_tips import explain_metrics
from gui.metrics.controls import fbeta_name
from gui.metrics.curve_plot import CurvePlot
from gui.metrics.model import MetricsModel


def operating_point(model: MetricsModel, index: int) -> tuple[float, float, float, float]:
    """(TN, FP, FN, TP) of class / label ``index`` under the current decisions."""
    report = model.decisions["report"]
    if "confusion" in report:
        (tn, fp), (fn, tp) = report["confusion"][index]
        return tn, fp, fn, tp
    counts = model.decisions["counts"]
    tp = counts[index, index]
    fp, fn = counts[:, index].sum() - tp, counts[index].sum() - tp
    return counts.sum() - tp - fp - fn, fp, fn, tp


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else float("nan")


class CurvesView(QWidget):
    def __init__(self, model: MetricsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("The class whose curves are shown (one vs rest), or the label")
        self.class_combo.currentIndexChanged.connect(self.refresh)
        self.info = QLabel()
        self.info.setWordWrap(True)
        explain_metrics(self.info)
        self.best_button = QPushButton("Use best threshold")
        self.best_button.clicked.connect(self.use_best)
        explain_metrics(self.best_button)
        self.pr, self.roc = CurvePlot("pr"), CurvePlot("roc")
        self.stack = QStackedWidget()
        self.buttons = QButtonGroup(self)
        switch = QHBoxLayout()
        for i, (plot, text) in enumerate(((self.pr, "Precision–recall"), (self.roc, "ROC"))):
            self.stack.addWidget(plot)
            plot.point_clicked.connect(self.use_threshold)
            button = QPushButton(text, checkable=True, checked=i == 0)
            explain_metrics(button)
            self.buttons.addButton(button, i)
            switch.addWidget(button)
        self.buttons.idClicked.connect(self.stack.setCurrentIndex)
        switch.addStretch(1)
        switch.addWidget(self.best_button)
        top = QHBoxLayout()
        top.addWidget(self.class_combo)
        top.addWidget(self.info, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(switch)
        layout.addWidget(self.stack, 1)
        self.best = None
        self._key = None
        model.task_changed.connect(self._fill_classes)
        model.decisions_changed.connect(self.refresh)
        model.scores_changed.connect(self._show_info)

    def catch_up(self) -> None:
        """Show what the model holds now (a view made after the model changed: the tab's first show)."""
        self._fill_classes()
        self.refresh()
        self._show_info()

    def current_plot(self) -> CurvePlot:
        return self.stack.currentWidget()

    def index(self) -> int:
        kind = self.model.kind
        positive = kind.positive_class if kind is not None else None
        return positive if positive is not None else max(self.class_combo.currentIndex(), 0)

    def _fill_classes(self) -> None:
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItems(self.model.classes)
        self.class_combo.blockSignals(False)
        kind = self.model.kind
        self.class_combo.setVisible(kind is not None and kind.classifies and kind.positive_class is None)
        self.best_button.setVisible(self.model.has_threshold())
        self._key = None

    def showEvent(self, event) -> None:  # Qt's name; curves are computed when first seen
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        model = self.model
        if model.decisions is None or not self.isVisible():
            return
        preds, index = model.predictions, self.index()
        key = (id(preds), preds.num_done, index, model.beta)
        if key != self._key:
            self._key = key
            self._draw_curves(index)
        self._draw_operating_point(index)
        self._show_info()

    def _draw_curves(self, index: int) -> None:
        _rows, truth, score = self.model.binary_problem(index)
        precision, recall, pr_thresholds = precision_recall_curve(truth, score)
        fpr, tpr, roc_thresholds = roc_curve(truth, score)
        self.ap, self.auc = average_precision(truth, score), roc_auc(truth, score)
        self.pr.set_curve(recall, precision, np.r_[pr_thresholds, np.nan], f"AP {self.ap:.3f}")
        self.roc.set_curve(fpr, tpr, roc_thresholds, f"AUC {self.auc:.3f}")
        self.best = best_fbeta_threshold(truth, score, self.model.beta) if self.model.has_threshold() else None
        fbeta = fbeta_name(self.model.beta)
        usable = self.best is not None and bool(np.isfinite(self.best.threshold))
        self.best_button.setEnabled(usable)
        text = f"Use best threshold {self.best.threshold:.3f} ({fbeta} {self.best.fbeta:.3f})" if usable else ""
        self.best_button.setText(text or "Use best threshold")

    def _draw_operating_point(self, index: int) -> None:
        tn, fp, fn, tp = operating_point(self.model, index)
        precision, recall, fpr = _ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(fp, fp + tn)
        best = self.best if self.best is not None and np.isfinite(self.best.threshold) else None
        self.pr.set_marker(recall, precision, (best.recall, best.precision) if best else None)
        self.roc.set_marker(fpr, recall)

    def _show_info(self) -> None:
        model = self.model
        if model.decisions is None or self._key is None:
            self.info.setText("")
            return
        index, name = self.index(), model.classes[self.index()]
        parts = [f"<b>{name}</b>: AP {self.ap:.3f} · ROC AUC {self.auc:.3f}"]
        if model.kind is not None and model.kind.positive_class is not None:
            parts[0] = f"positive class <b>{name}</b>: AP {self.ap:.3f} · ROC AUC {self.auc:.3f}"
        elif model.scores is not None:
            parts.append(f"all: mAP {model.scores['mean_average_precision']:.3f}")
            parts.append(f"macro AUC {model.scores['macro_roc_auc']:.3f}")
        if model.has_threshold():
            parts.append(f"threshold {model.threshold_of(index if model.multilabel() else None):.3f} (red dot)")
        self.info.setText(" · ".join(parts))

    def use_best(self) -> None:
        if self.best is not None and np.isfinite(self.best.threshold):
            self.use_threshold(self.best.threshold)

    def use_threshold(self, threshold: float) -> None:
        """Binary: the threshold for all; multilabel: the shown label's own threshold."""
        if self.model.has_threshold():
            label = self.index() if self.model.multilabel() else None
            self.model.set_threshold(min(max(threshold, 0.0), 1.0), label=label)

    def csv_rows(self) -> list[list]:
        plot = self.current_plot()
        header = ["threshold", *(("recall", "precision") if plot.kind == "pr" else ("fpr", "tpr"))]
        rows = zip(plot.thresholds.tolist(), plot.x.tolist(), plot.y.tolist())
        return [header] + [["" if not np.isfinite(t) else t, x, y] for t, x, y in rows]
