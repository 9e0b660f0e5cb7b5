"""The metrics pane's Analysis tab: why the model fails, for the shown run.

A bar (Analyse / Cancel, progress, whether the model was trained on this split, where the label-issue
probabilities come from) over one sub-tab per finding: label issues, duplicates and leaks, outliers, the
map. The :class:`AnalysisModel` computes; each sub-view listens to its ``found`` / ``reset`` signals.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.analysis.session import STAGES, StageProgress
from gui.metrics.analysis_model import TRAINED_AUTO, TRAINED_NO, TRAINED_YES, AnalysisModel

TRAINED_CHOICES = (
    (TRAINED_AUTO, "as its card says"),
    (TRAINED_YES, "yes: cross-validate"),
    (TRAINED_NO, "no: use its predictions"),
)
TRAINED_TIP = (
    "A network's predictions on the images it was trained on are overconfident, and hide their label errors.\n"
    "For such a split the label issues come from logistic regressions fitted on the embeddings, each\n"
    "predicting the fold it did not see (cross-validation); on other splits the run's own predictions are used."
)


class AnalysisView(QWidget):
    """The Analysis tab: its bar, and the sub-views added with :meth:`add_view`."""

    def __init__(self, model: AnalysisModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.analyse_button = QPushButton("Analyse")
        self.analyse_button.setToolTip("Find label issues, duplicates and leaks, outliers and the map of this run")
        self.analyse_button.clicked.connect(model.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(model.cancel)
        self.cancel_button.setEnabled(False)
        self.trained = QComboBox()
        for key, text in TRAINED_CHOICES:
            self.trained.addItem(text, key)
        self.trained.setToolTip(TRAINED_TIP)
        self.trained.currentIndexChanged.connect(lambda _i: model.set_trained(self.trained.currentData()))
        trained_label = QLabel("Trained on this split:")
        trained_label.setToolTip(TRAINED_TIP)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        self.status = QLabel(wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        bar = QHBoxLayout()
        bar.addWidget(self.analyse_button)
        bar.addWidget(self.cancel_button)
        bar.addWidget(self.progress, 1)
        bar.addWidget(trained_label)
        bar.addWidget(self.trained)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)
        model.reset.connect(self._on_reset)
        model.progress.connect(self._on_progress)
        model.found.connect(self._on_found)
        model.finished.connect(self._on_finished)
        model.failed.connect(self._on_failed)
        model.cancelled.connect(self._on_cancelled)
        model.availability_changed.connect(lambda _ok: self._show_availability())
        self._on_reset()  # made while an analysis starts (the tab is made then): it says so

    def add_view(self, title: str, view: QWidget) -> None:
        self.tabs.addTab(view, title)

    def _show_availability(self) -> None:
        if self.model.running:
            return
        reason = self.model.unavailable_reason()
        self.analyse_button.setEnabled(not reason)
        if self.model.analysis is None:
            self.status.setText(reason or "Analyse finds label issues, duplicates and leaks, outliers and the map.")

    def _on_reset(self) -> None:
        running = self.model.running
        self.analyse_button.setEnabled(not running and not self.model.unavailable_reason())
        self.cancel_button.setEnabled(running)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat("starting…" if running else "idle")
        if not running:
            self._show_availability()
        else:
            self.status.setText("Analysing…")

    def _on_progress(self, p: StageProgress) -> None:
        stage = STAGES.index(p.stage) if p.stage in STAGES else 0
        fraction = p.done / p.total if p.total else 0.0
        self.progress.setValue(int(100 * (stage + fraction) / len(STAGES)))
        self.progress.setFormat(f"{p.stage}: {p.what} ({p.done:,} of {p.total:,})")

    def _on_found(self, stage: str) -> None:
        analysis = self.model.analysis
        if analysis is None:
            return
        done = STAGES.index(stage) + (0 if stage == "map" and not analysis.map_final else 1)
        self.progress.setValue(int(100 * done / len(STAGES)))
        self.status.setText(self._findings_text())

    def _on_finished(self) -> None:
        self.cancel_button.setEnabled(False)
        self.analyse_button.setEnabled(True)
        self.progress.setValue(100)
        self.progress.setFormat("done")
        self.status.setText(self._findings_text())

    def _on_failed(self, message: str) -> None:
        self.cancel_button.setEnabled(False)
        self.analyse_button.setEnabled(not self.model.unavailable_reason())
        self.progress.setFormat("failed")
        self.status.setText(f"<span style='color:#b00020'>Cannot analyse: {message}</span>")

    def _on_cancelled(self) -> None:
        self.cancel_button.setEnabled(False)
        self.analyse_button.setEnabled(not self.model.unavailable_reason())
        self.progress.setFormat("cancelled: Analyse starts again")

    def _findings_text(self) -> str:
        """ "12 label issues · 3 duplicate pairs, 1 across splits · map by pacmap" on one line (where the label
        issues' probabilities came from is in the tooltip and on the Label issues tab)."""
        a = self.model.analysis
        parts = []
        if a.label_issues is not None:
            parts.append(f"<b>{_count(len(a.label_issues.indices), 'label issue')}</b>")
        elif "label issues" in a.done:
            parts.append("no label issues: " + "; ".join(a.notes) if a.notes else "no labels")
        if a.duplicates is not None:
            leaks = int(a.duplicates.leak.sum())
            parts.append(_count(len(a.duplicates), "duplicate pair") + (f", {leaks:,} across splits" if leaks else ""))
        if a.coords is not None:
            parts.append("map by " + (a.coords_method if a.map_final else f"{a.coords_method} (final map coming)"))
        self.status.setToolTip(f"Label issues from {a.source}" + "".join(f"\n{note}" for note in a.notes))
        return " &nbsp;·&nbsp; ".join(parts)


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}" + ("" if n == 1 else "s")
