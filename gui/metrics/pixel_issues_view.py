"""The metrics pane's Label quality tab for segmentation runs: which true masks look wrong, worst first.

Each image's label quality is cleanlab's segmentation score (the pixels' probability of their true class,
pooled towards the worst ones; ``core/analysis/pixel_issues.py``). The pass runs in a worker with progress
and Cancel (:class:`PixelIssuesModel`), starting by itself the first time the tab is seen with a finished
run. The table lists the worst images: a thumbnail with the suspect pixels painted, the id, the score, the
true class most of them carry and the class the model sees there, how many there are. A click opens the
sample; "Show in browser" shows the worst N in that order. The browser's "Suspect pixels" toggle then paints
the same pixels, with the thresholds of this pass.
"""

from __future__ import annotations

from html import escape

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.evaluation.selection import Selection
from gui.metrics.pixel_issues_model import THUMB, PixelIssuesModel, SuspectImage
from gui.state import AppState

COLUMNS = ("Sample", "Label quality", "Suspect class", "Model sees", "Suspect pixels")
SCORE_TIP = (
    "cleanlab's label quality of the image's true mask, from 0 (suspect) to 1: every pixel's probability of its\n"
    "true class under the model, pooled by a softmin that leans towards the worst pixels, so a small region\n"
    "painted the wrong class lowers its image's score."
)
SUSPECT_TIP = (
    "Suspect pixels: the model's probability of the true class is under that class's threshold (its mean over\n"
    "the run), while another class reaches its own threshold (confident learning, per pixel)."
)


class PixelIssuesView(QWidget):
    """Label quality of a segmentation run's masks: a ranked table and a "Show in browser" for the worst N."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.model = model = PixelIssuesModel(state, self)
        self.find_button = QPushButton("Find suspect masks", toolTip="Score every image's true mask against the run")
        self.find_button.clicked.connect(model.start)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(model.cancel)
        self.progress = QProgressBar(textVisible=True)
        self.progress.setFormat("idle")
        self.status = QLabel(wordWrap=True, textInteractionFlags=Qt.TextSelectableByMouse)
        self.status.setToolTip(SUSPECT_TIP)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeaderItem(1).setToolTip(SCORE_TIP)
        self.table.horizontalHeaderItem(4).setToolTip(SUSPECT_TIP)
        self.table.setIconSize(QPixmap(THUMB, THUMB).size())
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 6)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellClicked.connect(lambda row, _c: self.open_row(row))
        self.table.setToolTip("Click an image to open it in the browser")
        self.worst_count = QSpinBox(minimum=1, maximum=1_000_000, value=20)
        self.worst_count.setToolTip("How many of the worst images to show in the browser")
        self.show_button = QPushButton("Show in browser", enabled=False)
        self.show_button.setToolTip("Show the worst images in the browser, the most suspect first")
        self.show_button.clicked.connect(self.show_worst)
        self._lay_out()
        model.reset.connect(self._on_reset)
        model.progress.connect(self._on_progress)
        model.finished.connect(self._on_finished)
        model.failed.connect(self._on_failed)
        model.cancelled.connect(self._on_cancelled)
        model.availability_changed.connect(self._on_availability)
        self._on_availability()

    def _lay_out(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(self.find_button)
        bar.addWidget(self.cancel_button)
        bar.addWidget(self.progress, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel("Worst"))
        bottom.addWidget(self.worst_count)
        bottom.addWidget(self.show_button)
        bottom.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)

    # -- what a user does --------------------------------------------------------------------
    def showEvent(self, event) -> None:  # Qt's name: the pass starts when the tab is first seen with a run
        super().showEvent(event)
        model = self.model
        if not model.running and model.predictions is not self.state.predictions and not model.unavailable_reason():
            model.start()

    def open_row(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.state.select_sample(int(item.data(Qt.UserRole)))

    def show_worst(self) -> None:
        findings = self.model.findings
        if findings is None:
            return
        worst = findings.quality.worst(self.worst_count.value())
        self.state.set_selection(Selection.of(f"worst {len(worst)} by label quality", worst, ordered=True))

    # -- the model's news ----------------------------------------------------------------------
    def _on_availability(self) -> None:
        if self.model.running:
            return
        reason = self.model.unavailable_reason()
        self.find_button.setEnabled(not reason)
        if self.model.findings is None:
            self.status.setText(reason or "Find suspect masks scores every image's true mask against the run.")
            if self.isVisible() and not reason and self.model.predictions is not self.state.predictions:
                self.model.start()

    def _on_reset(self) -> None:
        running = self.model.running
        self.find_button.setEnabled(not running and not self.model.unavailable_reason())
        self.cancel_button.setEnabled(running)
        self.show_button.setEnabled(False)
        self.table.setRowCount(0)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat("starting…" if running else "idle")
        self.status.setText("Scoring the masks…" if running else self.model.unavailable_reason())

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{stage}: {done:,} of {total:,}")

    def _on_finished(self) -> None:
        self.cancel_button.setEnabled(False)
        self.find_button.setEnabled(True)
        self.find_button.setText("Find again")
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat("done")
        findings = self.model.findings
        self.status.setText(self._summary())
        self._fill(findings.listed)
        self.show_button.setEnabled(bool(findings.listed))

    def _on_failed(self, message: str) -> None:
        self.cancel_button.setEnabled(False)
        self.find_button.setEnabled(not self.model.unavailable_reason())
        self.progress.setFormat("no pass")
        self.status.setText(escape(message))

    def _on_cancelled(self) -> None:
        self.cancel_button.setEnabled(False)
        self.find_button.setEnabled(not self.model.unavailable_reason())
        self.progress.setFormat("cancelled: Find suspect masks starts again")
        self.status.setText("Cancelled: nothing was kept of the pass.")

    # -- showing ------------------------------------------------------------------------------
    def _summary(self) -> str:
        findings = self.model.findings
        quality, listed = findings.quality, findings.listed
        scored = int((~np.isnan(quality.score)).sum())
        flagged = sum(1 for row in listed if row.count)
        parts = [f"<b>{scored:,} images scored</b>", f"{flagged:,} of the {len(listed):,} worst have suspect pixels"]
        if quality.errors:
            first = next(iter(quality.errors.items()))
            parts.append(
                f"<span style='color:#b00020'>{len(quality.errors):,} could not be read "
                f"({escape(self._name(first[0]))}: {escape(first[1])})</span>"
            )
        parts.append("the browser's Suspect pixels toggle uses this pass's thresholds")
        return " &nbsp;·&nbsp; ".join(parts)

    def _name(self, index: int) -> str:
        return self.state.dataset.sample_ids[index] if self.state.dataset is not None else str(index)

    def _class(self, index: int) -> str:
        preds = self.model.predictions
        return preds.classes[index] if preds is not None and 0 <= index < len(preds.classes) else "—"

    def _fill(self, rows: list[SuspectImage]) -> None:
        table = self.table
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            name = QTableWidgetItem(self._name(row.index))
            name.setData(Qt.UserRole, row.index)
            if row.thumbnail is not None:
                name.setIcon(QIcon(QPixmap.fromImage(row.thumbnail)))
            if row.error:
                name.setToolTip(row.error)
            cells = [name, _number(f"{row.score:.4f}"), QTableWidgetItem(self._class(row.given))]
            cells += [QTableWidgetItem(self._class(row.suggested)), _number(f"{row.count:,}")]
            for c, item in enumerate(cells):
                table.setItem(r, c, item)
        table.resizeColumnsToContents()

    def csv_rows(self) -> list[list]:
        """The listed images (for the pane's Export table)."""
        findings = self.model.findings
        header = ["sample_id", "label_quality", "suspect_class", "model_sees", "suspect_pixels"]
        if findings is None:
            return [header]
        return [header] + [
            [self._name(r.index), r.score, self._class(r.given), self._class(r.suggested), r.count]
            for r in findings.listed
        ]


def _number(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    return item
