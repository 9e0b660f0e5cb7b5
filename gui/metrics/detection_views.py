"""The metrics pane's views of a detection run, and the operating-point bar above them.

:class:`DetectionMetrics` follows the AppState through a :class:`~gui.metrics.detection_model.DetectionModel`
and hands each view its part of the run's metrics.json (a view is made when first asked for: a dataset of
another task never makes them); every click comes back here and becomes a Selection of
objects (``AppState.set_selection``), or the score threshold (``AppState.set_score_threshold``) that all views,
the browser's included, follow. The tab titles are :data:`~gui.metrics.detection_model.DETECTION_VIEWS`.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QWidget
from shiboken6 import isValid

from gui.metrics.detection_model import DETECTION_VIEWS, DetectionModel, defined
from gui.state import AppState


class ScoreBox(QDoubleSpinBox):
    """The score threshold's box, which can say that its value is not known yet (``show_unknown``): while the
    run's best-F1 score is being computed it reads "…", not the 0.000 a spin box shows by default."""

    #: The text shown in place of a value, or None: the value is shown (a class default: Qt asks for the text
    #: while the constructor runs).
    _unknown: str | None = None

    def show_unknown(self, text: str) -> None:
        """Show ``text`` ("…": being computed, "": none) until a value is set (``setValue``, a step, an edit)."""
        self._unknown = text
        self.lineEdit().setText(text)

    def is_unknown(self) -> bool:
        return self._unknown is not None

    def textFromValue(self, value: float) -> str:  # Qt's name
        return super().textFromValue(value) if self._unknown is None else self._unknown

    def setValue(self, value: float) -> None:  # Qt's name
        self._known()
        super().setValue(value)

    def stepBy(self, steps: int) -> None:  # Qt's name: the arrows start from the value behind the dots
        self._known()
        super().stepBy(steps)

    def focusInEvent(self, event) -> None:  # Qt's name: the user types a value over the dots
        if self._unknown is not None:
            self.lineEdit().clear()
        super().focusInEvent(event)

    def valueFromText(self, text: str) -> float:  # Qt's name: a value typed (and committed) is shown from now on
        if self._unknown is not None and text.strip() and text != self._unknown:
            self._unknown = None
        return super().valueFromText(text)

    def _known(self) -> None:
        if self._unknown is not None:
            self._unknown = None
            self.lineEdit().setText(super().textFromValue(self.value()))


class OperatingPoint(QWidget):
    """The score and IoU thresholds at which detections are counted (confusion, errors, TP / FP / FN)."""

    score_chosen = Signal(object)  # float, or None: the run's best-F1 score
    iou_chosen = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.score = ScoreBox(decimals=3, minimum=0.0, maximum=1.0, singleStep=0.05, keyboardTracking=False)
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

    def show_values(self, score: float | None, iou: float, unknown: str = "…") -> None:
        """What is in force, without sending it back; ``score`` None: not known yet, the box reads ``unknown``."""
        if score is None:
            self.score.show_unknown(unknown)
        for box, value in ((self.score, score), (self.iou, iou)):
            if value is not None:
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
        self._views: dict[str, QWidget] = {}  # made when first asked for (view()): most datasets never show them
        self.operating = OperatingPoint()
        self.operating.score_chosen.connect(self._score_chosen)
        self.operating.iou_chosen.connect(model.set_iou_threshold)
        model.busy_changed.connect(self.operating.busy.setVisible)
        model.busy_changed.connect(lambda _busy: self._show_operating_point())
        model.changed.connect(self.refresh)
        state.score_threshold_changed.connect(self._threshold_changed)

    @property
    def results(self):
        return self.model.results

    # -- the views, made on demand ---------------------------------------------------------
    def view(self, title: str) -> QWidget:
        """The view of one tab (a title of DETECTION_VIEWS), made and shown the latest results if it was not."""
        if title not in self._views:
            self._views[title] = view = self._make(title)
            self._show(title, view, self.model.results)
        return self._views[title]

    def made_views(self) -> dict[str, QWidget]:
        """The views made so far (title -> view)."""
        return dict(self._views)

    @property
    def views(self) -> dict[str, QWidget]:
        """Every view (tab title -> widget), made if need be."""
        return {title: self.view(title) for title in DETECTION_VIEWS}

    overview = property(lambda self: self.view(DETECTION_VIEWS[0]))
    curves = property(lambda self: self.view(DETECTION_VIEWS[1]))
    confusion = property(lambda self: self.view(DETECTION_VIEWS[2]))
    errors = property(lambda self: self.view(DETECTION_VIEWS[3]))
    images = property(lambda self: self.view(DETECTION_VIEWS[4]))

    def _make(self, title: str) -> QWidget:
        """One view, its clicks wired to the model and the state (its module imported now: pyqtgraph plots)."""
        from gui.metrics.detection_confusion import DetectionConfusion
        from gui.metrics.detection_curves import DetectionCurves
        from gui.metrics.detection_errors import DetectionErrors
        from gui.metrics.detection_images import DetectionImages
        from gui.metrics.detection_overview import DetectionOverview

        model, state = self.model, self.state
        overview, curves, confusion, errors, _images = DETECTION_VIEWS
        if title == overview:
            view = DetectionOverview()
            view.class_clicked.connect(lambda c: model.results is not None and model.select_class(c))
        elif title == curves:
            view = DetectionCurves()
            view.threshold_clicked.connect(state.set_score_threshold)
        elif title == confusion:
            view = DetectionConfusion()
            view.cell_clicked.connect(lambda r, c: model.results is not None and model.select_cell(r, c))
        elif title == errors:
            view = DetectionErrors()
            view.kind_clicked.connect(lambda k, c: model.results is not None and model.select_errors(k, c))
        else:
            view = DetectionImages()
            view.image_clicked.connect(state.select_sample)
            view.worst_requested.connect(self._select_worst)
        return view

    @staticmethod
    def _show(title: str, view: QWidget, results) -> None:
        """``view`` shows ``results`` (None: nothing)."""
        summary = None if results is None else results.summary
        if title == DETECTION_VIEWS[3]:
            view.show_summary(summary, None if results is None else results.class_errors)
        elif title != DETECTION_VIEWS[4]:
            view.show_summary(summary)
        elif results is None:
            view.clear()
        else:
            evaluation = results.evaluation
            view.show_images(evaluation.sample_ids, evaluation.images, results.counts, results.worst_order())

    def _score_chosen(self, value: float | None) -> None:
        """A score typed or picked; None ("Best F1"): back to the run's best-F1 score."""
        if value is None:
            self.model.use_best_f1()
        else:
            self.state.set_score_threshold(value)

    def refresh(self) -> None:
        """Every view made so far from the latest results (the others catch up when they are made)."""
        results = self.model.results
        for title, view in self._views.items():
            self._show(title, view, results)
        self._show_operating_point()
        self.refreshed.emit()

    def _show_operating_point(self) -> None:
        """The thresholds of the numbers shown; while a run's best-F1 score is computed (a run reloaded, a new
        run), "…": its score is not known yet, and the previous run's (or the box's 0) would be false."""
        if not isValid(self.operating):  # the bar went with its window, before this object and its model
            return
        model, results = self.model, self.model.results
        if model.finding_best_score:
            self.operating.show_values(None, model.iou_threshold)
        elif results is not None:
            self.operating.show_values(results.score_threshold, results.iou_threshold)
        elif model.predictions is None or model.score_threshold is None:  # no numbers: no threshold yet
            self.operating.show_values(None, model.iou_threshold, unknown="")

    def _threshold_changed(self, value) -> None:
        if value is not None and not self.model.finding_best_score:
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
        self.model.drop_pending()
        self.model.job.cancel()
