"""The metrics pane's views of a detection run, and the operating-point bar above them.

:class:`DetectionMetrics` follows the AppState through a :class:`~gui.metrics.detection_model.DetectionModel`
and hands each view its part of the run's metrics.json; every click comes back here and becomes a Selection of
objects (``AppState.set_selection``), or the score threshold (``AppState.set_score_threshold``) that all views,
the browser's included, follow. The tab titles are :data:`~gui.metrics.detection_model.DETECTION_VIEWS`.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QWidget

from gui.metrics.detection_confusion import DetectionConfusion
from gui.metrics.detection_curves import DetectionCurves
from gui.metrics.detection_errors import DetectionErrors
from gui.metrics.detection_images import DetectionImages
from gui.metrics.detection_model import DETECTION_VIEWS, DetectionModel, defined
from gui.metrics.detection_overview import DetectionOverview
from gui.state import AppState


class OperatingPoint(QWidget):
    """The score and IoU thresholds at which detections are counted (confusion, errors, TP / FP / FN)."""

    score_chosen = Signal(object)  # float, or None: the run's best-F1 score
    iou_chosen = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.score = QDoubleSpinBox(decimals=3, minimum=0.0, maximum=1.0, singleStep=0.05, keyboardTracking=False)
        self.score.setToolTip("Detections scoring at least this count (and are drawn in the browser)")
        self.score.valueChanged.connect(lambda value: self.score_chosen.emit(float(value)))
        self.best_button = QPushButton("Best F1", toolTip="The score at which the F1 of every class pooled is highest")
        self.best_button.clicked.connect(lambda: self.score_chosen.emit(None))
        self.iou = QDoubleSpinBox(decimals=2, minimum=0.05, maximum=0.95, singleStep=0.05, keyboardTracking=False)
        self.iou.setValue(0.5)
        self.iou.setToolTip("The IoU a detection needs with an object of its class to be a TP (confusion, errors)")
        self.iou.valueChanged.connect(lambda value: self.iou_chosen.emit(float(value)))
        self.busy = QLabel("computing…")
        self.busy.setVisible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Score ≥"))
        layout.addWidget(self.score)
        layout.addWidget(self.best_button)
        layout.addSpacing(12)
        layout.addWidget(QLabel("IoU ≥"))
        layout.addWidget(self.iou)
        layout.addWidget(self.busy)
        layout.addStretch(1)

    def show_values(self, score: float, iou: float) -> None:
        """What is in force, without sending it back."""
        for box, value in ((self.score, score), (self.iou, iou)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)


class DetectionMetrics(QObject):
    """The detection views (``views``: tab title -> widget), their model and the operating-point bar."""

    refreshed = Signal()  # new numbers (or none): the pane's summary line follows

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.model = model = DetectionModel(state, self)
        self.overview = DetectionOverview()
        self.curves = DetectionCurves()
        self.confusion = DetectionConfusion()
        self.errors = DetectionErrors()
        self.images = DetectionImages()
        self.views: dict[str, QWidget] = dict(
            zip(DETECTION_VIEWS, (self.overview, self.curves, self.confusion, self.errors, self.images))
        )
        self.operating = OperatingPoint()
        self.operating.score_chosen.connect(self._score_chosen)
        self.operating.iou_chosen.connect(model.set_iou_threshold)
        model.busy_changed.connect(self.operating.busy.setVisible)
        model.changed.connect(self.refresh)
        self.overview.class_clicked.connect(lambda c: model.results is not None and model.select_class(c))
        self.curves.threshold_clicked.connect(state.set_score_threshold)
        self.confusion.cell_clicked.connect(lambda r, c: model.results is not None and model.select_cell(r, c))
        self.errors.kind_clicked.connect(lambda k, c: model.results is not None and model.select_errors(k, c))
        self.images.image_clicked.connect(state.select_sample)
        self.images.worst_requested.connect(self._select_worst)
        state.score_threshold_changed.connect(self._threshold_changed)

    @property
    def results(self):
        return self.model.results

    def _score_chosen(self, value: float | None) -> None:
        """A score typed or picked; None ("Best F1"): back to the run's best-F1 score."""
        if value is None:
            self.model.use_best_f1()
        else:
            self.state.set_score_threshold(value)

    def refresh(self) -> None:
        """Every view from the latest results."""
        results = self.model.results
        summary = None if results is None else results.summary
        self.overview.show_summary(summary)
        self.curves.show_summary(summary)
        self.confusion.show_summary(summary)
        self.errors.show_summary(summary, None if results is None else results.class_errors)
        if results is None:
            self.images.clear()
        else:
            evaluation = results.evaluation
            self.images.show_images(evaluation.sample_ids, evaluation.images, results.counts, results.worst_order())
            self.operating.show_values(results.score_threshold, results.iou_threshold)
        self.refreshed.emit()

    def _threshold_changed(self, value) -> None:
        if value is not None:
            self.operating.show_values(float(value), self.model.iou_threshold)

    def _select_worst(self) -> None:
        if self.model.results is not None:
            self.state.set_selection(self.model.results.evaluation.worst_images())

    # -- the pane's summary line ---------------------------------------------------------
    def summary_text(self) -> str:
        """The headline of the run: mAP, mAP@0.5, mAP@0.75 and what was counted; "" without numbers."""
        results, predictions = self.model.results, self.model.predictions
        if results is None:
            return ""
        summary = results.summary

        def number(key: str) -> str:
            return f"{summary[key]:.3f}" if defined(summary.get(key)) else "—"

        parts = [
            f"<b>mAP {number('map')}</b>",
            f"mAP@0.5 {number('map_50')}",
            f"mAP@0.75 {number('map_75')}",
            f"{summary['num_images']:,} images · {summary['num_objects']:,} objects · "
            f"{summary['num_detections']:,} detections",
        ]
        if predictions is not None and not predictions.complete:
            parts.append(f"<i>running: {predictions.num_done:,} of {len(predictions):,}</i>")
        failed = summary.get("failed") or 0
        if failed:
            parts.append(f"<span style='color:#b00020'>{failed:,} failed</span>")
        return " &nbsp;·&nbsp; ".join(parts)

    def failure_text(self) -> str:
        return "" if not self.model.failure else f"Cannot compute the detection metrics: {escape(self.model.failure)}"

    def shutdown(self) -> None:
        self.model.job.cancel()
