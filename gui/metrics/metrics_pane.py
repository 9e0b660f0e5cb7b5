"""The metrics view: a summary line, beta / threshold / export controls, and one tab per question.

Binary and multiclass: Matrix, Classes, Confused pairs (multiclass), Curves, Calibration, Errors.
Multilabel: Labels (per-label table, the label's 2 x 2 matrix, averages), Curves, Calibration, Errors.
Object tasks: gui.metrics.detection_views (DETECTION_VIEWS: Detection, PR curves, Confusion, Error types, Per image)
under a score / IoU threshold bar.
Every chart and table maps back to samples: a click becomes a Selection in the AppState.

Start-up: the tabs are all in the tab bar at once, but only the Matrix tab's view is made with the pane; the
others (gui.lazy_tab.LazyTab) are made, and their modules imported, when first shown or first asked for
(``pane.curves``, ``show_tab``): a dataset shows a few of them, and the window appears without the rest.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEvent, QEventLoop, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core import tasks
from core.evaluation.classification import summarize, write_report
from gui.glossary_tips import explain_metrics
from gui.lazy_tab import LazyTab, page_view
from gui.metrics.analysis_model import AnalysisModel
from gui.metrics.classes_view import ClassesView
from gui.metrics.controls import BetaControl, ExportButton, ThresholdControl, ZeroDivisionControl, fbeta_name
from gui.metrics.detection_model import DETECTION_VIEWS
from gui.metrics.detection_views import DetectionMetrics
from gui.metrics.export import PLOT_FORMATS, write_csv, write_plot
from gui.metrics.jobs import BackgroundJob
from gui.metrics.matrix_view import MatrixView
from gui.metrics.model import MetricsModel
from gui.metrics.run_problem import FailureBanner, failure_text, no_numbers_text, shown_failure
from gui.metrics.segmentation_view import SegmentationMetrics
from gui.state import AppState

if TYPE_CHECKING:
    from gui.metrics.label_issues_view import LabelIssuesView

#: The matrix keeps at least this height (a 10-class matrix named whole, and the window fits 1024x700).
MATRIX_MIN_HEIGHT = 160
#: The threshold slider keeps at least this width (pixels): narrower, it cannot be set finely.
SLIDER_MIN_WIDTH = 100
#: Under this height the Matrix tab leaves the averages to the Classes tab: the matrix and its rows come first.
AVERAGES_UNDER_MATRIX_MIN_HEIGHT = 560
#: The tabs of the tab bar, in order (the task shows some of them: core.tasks' ``views``).
TAB_TITLES = (
    "Matrix", "Classes", "Confused pairs", "Labels", "Curves", "Calibration", "Errors", "Pixels", "Images",
    "Label quality", "Analysis", *DETECTION_VIEWS,
)  # fmt: skip
#: The tabs whose view is made when first shown or asked for (the detection views too, by DetectionMetrics).
LAZY_VIEWS = ("Classes", "Confused pairs", "Labels", "Curves", "Calibration", "Errors", "Label quality", "Analysis")


def _write_summary(path: str, *arguments) -> str:
    return str(write_report(path, summarize(*arguments)))


class MetricsPane(QGroupBox):
    report_written = Signal(str)  # path of a JSON report written by export_report

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__("Metrics", parent)
        self.state = state
        self.model = model = MetricsModel(state, self)
        self.summary = QLabel("Run a model to see its metrics.")
        self.summary.setWordWrap(True)
        explain_metrics(self.summary)
        self.beta = BetaControl()
        self.beta.beta_changed.connect(model.set_beta)
        self.threshold = ThresholdControl()
        self.threshold.slider.setMinimumWidth(SLIDER_MIN_WIDTH)  # never squeezed to a knob at 1024 pixels
        self.threshold.threshold_changed.connect(model.set_threshold)
        self.zero_division = ZeroDivisionControl()
        self.zero_division.zero_division_changed.connect(model.set_zero_division)
        self.threshold.threshold_refused.connect(state.message)
        self.original_check = QCheckBox("Original labels")
        self.original_check.setToolTip("Score against the dataset's own labels, as they were before your edits")
        self.original_check.toggled.connect(model.set_original)
        state.project_changed.connect(lambda project: self.original_check.setVisible(project is not None))
        self.original_check.setVisible(False)
        self.export_button = ExportButton()
        self._build_tabs()
        self._connect_export()
        controls = QHBoxLayout()
        controls.addWidget(self.beta)
        controls.addWidget(self.threshold, 1)
        controls.addWidget(self.detection.operating, 1)
        controls.addStretch(0)
        controls.addWidget(self.original_check)
        controls.addWidget(self.export_button)
        self.failure = FailureBanner()
        # Where the tabs would show nothing but NaN (a failed run, no first batch yet): say why instead.
        self.no_numbers = QLabel(alignment=Qt.AlignCenter, wordWrap=True)
        self.body = QStackedWidget()
        self.body.addWidget(self.tabs)
        self.body.addWidget(self.no_numbers)
        # on the summary's line, whose macro average it changes; the controls' line is the threshold's
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.zero_division, 0, Qt.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.failure)
        layout.addLayout(controls)
        layout.addWidget(self.body, 1)
        self.report_job = BackgroundJob(self)
        self.report_job.finished.connect(self._report_done)
        self.report_job.failed.connect(lambda text: state.error.emit("Cannot write the report", text))
        model.task_changed.connect(self._task_changed)
        model.decisions_changed.connect(self._show_summary)
        model.scores_changed.connect(self._show_summary)
        state.run_status_changed.connect(lambda _status: self._show_summary())
        self._task_changed()

    def _build_tabs(self) -> None:
        """The tab bar with every title; the Matrix tab's view now, the others' when first needed (LazyTab)."""
        model = self.model
        self.matrix_view = MatrixView(model)
        self.matrix = self.matrix_view.matrix
        self.matrix_view.label_issues_requested.connect(self.show_label_issues)
        self.segmentation = SegmentationMetrics(self.state)  # its summary is the headline of a segmentation run
        self.segmentation.refreshed.connect(self._show_summary)
        self.detection = DetectionMetrics(self.state, self)  # the operating-point bar and the headline's numbers
        self.detection.refreshed.connect(self._show_summary)
        self.detection.model.busy_changed.connect(lambda _busy: self._show_summary())
        self.analysis_model = AnalysisModel(self.state, self)
        self.analysis_model.reset.connect(self._analysis_reset)
        # The Matrix tab shows the per-class table under the matrix, so both are seen at once.
        self.matrix_classes = ClassesView(model)
        self.matrix_tab = QSplitter(Qt.Vertical)
        self.matrix_tab.addWidget(self.matrix_view)
        self.matrix_tab.addWidget(self.matrix_classes)
        self.matrix_tab.setStretchFactor(0, 3)
        self.matrix_tab.setStretchFactor(1, 2)
        self.matrix_tab.setSizes([460, 220])  # the matrix first: at 1366x768 ten classes named on both axes
        self.matrix_view.setMinimumHeight(MATRIX_MIN_HEIGHT)
        self.matrix_classes.averages.hide()  # until the tab is tall enough (eventFilter): the window's minimum
        self.matrix_tab.installEventFilter(self)
        made_later = (*LAZY_VIEWS, *DETECTION_VIEWS)
        self.pages: dict[str, QWidget] = {"Matrix": self.matrix_tab}  # tab title -> the tab's page
        for title in TAB_TITLES[1:]:
            if title == "Pixels":
                self.pages[title] = self.segmentation.pixels
            elif title == "Images":  # its histogram is a pyqtgraph plot: made when shown, or with a run
                self.pages[title] = LazyTab(lambda: self.segmentation.images)
            else:
                assert title in made_later, title
                self.pages[title] = LazyTab(lambda title=title: self._make_view(title))
        self.tabs = QTabWidget()
        for title, page in self.pages.items():
            self.tabs.addTab(page, title)

    def _make_view(self, title: str) -> QWidget:
        """The view of a LazyTab, made now and shown what the models hold (modules imported here: start-up)."""
        model = self.model
        if title in DETECTION_VIEWS:
            return self.detection.view(title)
        if title == "Analysis":
            return self._make_analysis()
        if title == "Label quality":
            from gui.metrics.pixel_issues_view import PixelIssuesView

            return PixelIssuesView(self.state)
        if title == "Classes":
            view = ClassesView(model)
        elif title == "Confused pairs":
            from gui.metrics.matrix_view import ConfusedPairsView

            view = ConfusedPairsView(model, self.matrix)
        elif title == "Labels":
            from gui.metrics.classes_view import LabelsView

            view = LabelsView(model)
        elif title == "Curves":
            from gui.metrics.curves_view import CurvesView

            view = CurvesView(model)
        elif title == "Calibration":
            from gui.metrics.reliability_view import ReliabilityView

            view = ReliabilityView(model)
        else:
            from gui.metrics.errors_view import ErrorAnalysisView

            view = ErrorAnalysisView(model)
        view.catch_up()
        return view

    def _make_analysis(self) -> QWidget:
        """The Analysis tab: its bar and its four views, all following the analysis model."""
        from gui.metrics.analysis_map import AnalysisMap
        from gui.metrics.analysis_view import AnalysisView
        from gui.metrics.duplicates_view import DuplicatesView
        from gui.metrics.label_issues_view import LabelIssuesView
        from gui.metrics.outliers_view import OutliersView

        analysis_model = self.analysis_model
        analysis = AnalysisView(analysis_model)
        self._analysis_parts = {
            "Label issues": LabelIssuesView(analysis_model),
            "Duplicates": DuplicatesView(analysis_model),
            "Outliers": OutliersView(analysis_model),
            "Map": AnalysisMap(analysis_model),
        }
        for title, view in self._analysis_parts.items():
            analysis.add_view(title, view)
        return analysis

    def _analysis_reset(self) -> None:
        """An analysis starts (Analyse, or a start from elsewhere): its views are made now, before its findings."""
        if self.analysis_model.running:
            self.pages["Analysis"].view()

    def made_view(self, title: str) -> QWidget | None:
        """The view of a tab if it was made (None, without making it, if it was not)."""
        page = self.pages[title]
        if page is self.matrix_tab:
            return self.matrix_view
        return page.made_view() if isinstance(page, LazyTab) else page

    def _view(self, title: str) -> QWidget:
        return self.matrix_view if title == "Matrix" else page_view(self.pages[title])

    # The views of the tabs, made on first access as on the tab's first show.
    classes_view = property(lambda self: self._view("Classes"))
    pairs_view = property(lambda self: self._view("Confused pairs"))
    labels_view = property(lambda self: self._view("Labels"))
    curves = property(lambda self: self._view("Curves"))
    reliability = property(lambda self: self._view("Calibration"))
    errors = property(lambda self: self._view("Errors"))
    label_quality = property(lambda self: self._view("Label quality"))
    analysis = property(lambda self: self._view("Analysis"))
    table = property(lambda self: self.classes_view.table)
    averages = property(lambda self: self.classes_view.averages)

    def _analysis_part(self, title: str) -> QWidget:
        self._view("Analysis")
        return self._analysis_parts[title]

    label_issues = property(lambda self: self._analysis_part("Label issues"))
    duplicates = property(lambda self: self._analysis_part("Duplicates"))
    outliers = property(lambda self: self._analysis_part("Outliers"))
    analysis_map = property(lambda self: self._analysis_part("Map"))

    def eventFilter(self, watched, event) -> bool:
        if watched is self.matrix_tab and event.type() == QEvent.Type.Resize:
            self.matrix_classes.averages.setVisible(event.size().height() >= AVERAGES_UNDER_MATRIX_MIN_HEIGHT)
        return super().eventFilter(watched, event)

    # -- the task decides what is shown ------------------------------------------------
    def _task_changed(self) -> None:
        kind = self.model.kind  # the task decides the views (core.tasks), and which controls apply
        shown = kind.views if kind is not None else ()
        for i, title in enumerate(self.pages):
            self.tabs.setTabVisible(i, title in shown)
        if shown:
            self.tabs.setCurrentIndex(list(self.pages).index(shown[0]))
        self.body.setVisible(bool(shown))
        self.threshold.setVisible(self.model.has_threshold())
        self.detection.operating.setVisible(self._detects())
        if kind is not None and kind.thresholded:
            self.threshold.label.setText(kind.threshold_label(self.model.classes))
        classifies = self.model.classifies()
        self.beta.setVisible(classifies)
        self.zero_division.setVisible(classifies)
        self.export_button.setVisible(classifies)
        self.threshold.set_value(self.model.base_threshold)
        self._show_summary()

    def _detects(self) -> bool:
        """The open dataset's task shows the views of a detection run (the object tasks)."""
        kind = self.model.kind
        return kind is not None and bool(set(kind.views) & set(DETECTION_VIEWS))

    def show_tab(self, title: str) -> QWidget:
        """Bring a tab to the front; its view (made if need be)."""
        self.tabs.setCurrentWidget(self.pages[title])
        return self._view(title)

    def show_label_issues(self, true_class: int, pred_class: int) -> LabelIssuesView:
        """Analysis > Label issues, filtered to one cell of the matrix (given = true, suggested = predicted)."""
        self.show_tab("Analysis")
        self.analysis.tabs.setCurrentWidget(self.label_issues)
        self.label_issues.show_cell(true_class, pred_class)
        return self.label_issues

    def _show_summary(self) -> None:
        model, preds = self.model, self.model.predictions
        self.setTitle(f"Metrics · {preds.model}" if preds is not None and preds.model else "Metrics")
        self.threshold.set_value(model.base_threshold)
        segmentation = model.kind is not None and model.kind.per_pixel
        if self._detects():
            numbers = self.detection.results is not None or self.detection.model.busy  # busy: the numbers are coming
        else:
            numbers = bool(self.segmentation.summary_text) if segmentation else model.decisions is not None
        failed = shown_failure(self.state.run_status, preds)
        self.failure.show_text(failure_text(failed, preds, numbers) if failed else "")
        self.summary.setText(self._headline(numbers, failed))
        # predictions (or a failure) without a number to show: the reason, not tables of NaN
        missing = not numbers and (failed is not None or (preds is not None and self._scorable()))
        if missing:
            self.no_numbers.setText(no_numbers_text(self.state.run_status, preds, (model.kind or tasks.Task).scored_by))
        self.body.setCurrentWidget(self.no_numbers if missing else self.tabs)

    def _scorable(self) -> bool:
        """The open dataset is one this view scores (a labelled classification set, or segmentation)."""
        kind = self.model.kind
        return kind is not None and (kind.per_pixel or self._detects() or self.model.has_labels())

    def _headline(self, numbers: bool, failed) -> str:
        model, dataset = self.model, self.model.dataset
        if failed is not None and not numbers:
            return f"<span style='color:#b00020'><b>Run failed</b></span> · {escape(failed.model)}: no metrics"
        if model.kind is not None and model.kind.per_pixel:
            return self.segmentation.summary_text or "Run a segmentation model to see its IoU and Dice."
        if self._detects():
            return self._detection_headline()
        if dataset is not None and not model.classifies():
            return f"This view shows classification metrics; {dataset.name} is a {dataset.task} dataset."
        if dataset is not None and not model.has_labels():
            return f"{dataset.name} has no labels here: nothing to compare the predictions with."
        if model.decisions is None or model.predictions is None:  # decisions of a run just dropped: not yet cleared
            return "Run a model to see its metrics." if model.predictions is None else "No metrics yet."
        return self._summary_text()

    def _detection_headline(self) -> str:
        detection = self.detection
        if detection.model.failure:
            return f"<span style='color:#b00020'>{detection.failure_text()}</span>"
        if detection.results is None:
            if detection.model.busy:
                return "Computing the detection metrics…"
            return "Run a detector to see its mAP." if self.model.predictions is None else "No metrics yet."
        text = detection.summary_text()
        return text + (" &nbsp;·&nbsp; <i>updating…</i>" if detection.model.busy else "")

    def _summary_text(self) -> str:
        model, report, preds = self.model, self.model.decisions["report"], self.model.predictions
        scores, fbeta = model.scores or {}, fbeta_name(model.beta)
        if model.multilabel():
            parts = [
                f"<b>Subset accuracy {report['subset_accuracy']:.2%}</b>",
                f"Hamming loss {report['hamming_loss']:.4f}",
                f"micro {fbeta} {report['micro']['fbeta']:.3f}",
                f"samples {fbeta} {report['samples']['fbeta']:.3f}",
            ]
        else:
            counts = model.decisions["counts"]
            parts = [f"<b>Accuracy {report['accuracy']:.2%}</b> ({int(counts.trace()):,} of {int(counts.sum()):,})"]
            if "top_k_accuracy" in scores and 5 in scores["top_k_accuracy"]:
                parts.append(f"top-5 {scores['top_k_accuracy'][5]:.2%}")
            parts.append(f"macro {fbeta} {report['macro']['fbeta']:.3f}")
            if "expected_calibration_error" in scores:
                parts.append(f"ECE {scores['expected_calibration_error']:.3f}")
        if not preds.complete:
            parts.append(f"<i>running: {preds.num_done:,} of {len(preds):,}</i>")
        if preds.errors:
            parts.append(f"<span style='color:#b00020'>{len(preds.errors)} failed</span>")
        return " &nbsp;·&nbsp; ".join(parts)

    def jobs(self) -> tuple[BackgroundJob, ...]:
        errors = self.made_view("Errors")
        jobs = (self.model.score_job, self.model.rank_job, self.report_job, self.detection.model.job)
        return jobs if errors is None else (*jobs, errors.job)

    def is_busy(self) -> bool:
        """A computation runs or waits, or a change waits to be scored: the numbers shown may be stale."""
        pending = self.model.recompute_pending or self.detection.model.recompute_pending
        return pending or any(job.busy for job in self.jobs())

    def shutdown(self, timeout_ms: int = 3000) -> None:
        """Drop pending computations and give running ones a moment to end (call before the window closes)."""
        self.model.drop_pending()  # a held recompute would start a job while the pane waits for its jobs
        for job in self.jobs():
            job.cancel()
        self.detection.shutdown()
        self.analysis_model.cancel()
        label_quality = self.made_view("Label quality")
        if label_quality is not None:
            label_quality.model.cancel()
        if self.made_view("Analysis") is not None:
            for view in self._analysis_parts.values():
                view.shutdown()
        deadline = QDeadlineTimer(timeout_ms)
        while self.is_busy() and not deadline.hasExpired():
            QCoreApplication.processEvents(QEventLoop.AllEvents, 20)

    @property
    def counts(self):
        """The confusion matrix on screen (single-label tasks), or None."""
        decisions = self.model.decisions
        return None if decisions is None else decisions.get("counts")

    @property
    def report(self) -> dict | None:
        return None if self.model.decisions is None else self.model.decisions["report"]

    # -- export --------------------------------------------------------------------------
    def _connect_export(self) -> None:
        button = self.export_button
        button.table_action.triggered.connect(lambda: self._ask("Save table", "CSV table (*.csv)", self.export_table))
        button.png_action.triggered.connect(lambda: self._ask("Save plot", PLOT_FORMATS[".png"], self.export_plot))
        button.svg_action.triggered.connect(lambda: self._ask("Save plot", PLOT_FORMATS[".svg"], self.export_plot))
        button.json_action.triggered.connect(lambda: self._ask("Save report", "JSON (*.json)", self.export_report))

    def _ask(self, title: str, file_filter: str, save) -> None:
        suffix = file_filter[file_filter.index("*") + 1 : -1]
        default = str(Path.home() / f"cvlens-{self.tabs.tabText(self.tabs.currentIndex()).lower()}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, title, default, file_filter)
        if path:
            save(path if path.lower().endswith(suffix) else path + suffix)

    def current_view(self) -> QWidget:
        widget = self.tabs.currentWidget()
        return self.matrix_view if widget is self.matrix_tab else page_view(widget)

    def current_plot(self):
        view = self.current_view()
        if view is self.matrix_view:
            return self.matrix
        if view is self.made_view("Labels"):
            return view.matrix
        if view is self.made_view("Curves"):
            return view.current_plot()
        return getattr(view, "plot", None)

    def export_table(self, path: str) -> None:
        """The numbers of the current tab (table, matrix, curve points or histogram bins) as CSV."""
        write_csv(path, self.current_view().csv_rows())
        self.state.message.emit(f"Wrote {path}")

    def export_plot(self, path: str) -> None:
        """The current tab's plot as PNG or SVG (by the suffix of ``path``)."""
        plot = self.current_plot()
        if plot is None:
            self.state.error.emit("Nothing to save", "This tab has no plot; export its table as CSV instead.")
            return
        write_plot(path, plot)
        self.state.message.emit(f"Wrote {path}")

    def export_report(self, path: str) -> None:
        """The whole report, as `python main.py evaluate` writes metrics.json (written in the background)."""
        if not self.model.has_numbers():
            self.state.error.emit("Nothing to save", "There are no metrics to write: run a model first.")
        else:
            self.state.message.emit(f"Writing {path}…")
            model = self.model
            arguments = (model.dataset, model.predictions, model.beta, self.state.threshold, model.zero_division)
            self.report_job.submit(_write_summary, path, *arguments)

    def _report_done(self, path: str) -> None:
        self.state.message.emit(f"Wrote {path}")
        self.report_written.emit(path)
