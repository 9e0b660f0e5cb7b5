"""Compare two saved runs: metrics side by side, and one click from the browser the samples where they
differ (classifiers: right in one run and wrong in the other, on the labels as they are now; segmenters:
per-class IoU and Dice, and the images with a better or worse mean IoU in run A)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.labels import Run
from core.labels.compare import RunComparison, SegmentationComparison
from gui.labeling.runs import run_title
from gui.state import AppState
from gui.tables import setup_table
from gui.workers import create_worker


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


class CompareDialog(QDialog):
    def __init__(self, state: AppState, runs: list[Run], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare runs")
        self.resize(640, 520)
        self.state, self.runs = state, runs
        self.comparison: RunComparison | SegmentationComparison | None = None
        self._worker = None
        self.combo_a, self.combo_b = QComboBox(self), QComboBox(self)
        for combo in (self.combo_a, self.combo_b):
            for run in reversed(runs):
                combo.addItem(run_title(run), run.id)
        self.combo_a.setCurrentIndex(1)  # A: the run before the latest, B: the latest
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["Metric", "Run A", "Run B", "B − A"])
        setup_table(self.table, row_height=self.table.verticalHeader().defaultSectionSize())
        self.status = QLabel("Comparing…", self)
        # The comparison names both buttons: "Right in A, wrong in B" or, for segmenters, "Better in A".
        self.right_a = QPushButton(self)
        self.right_a.clicked.connect(lambda: self.select(True))
        self.right_b = QPushButton(self)
        self.right_b.clicked.connect(lambda: self.select(False))
        form = QFormLayout()
        form.addRow("Run A:", self.combo_a)
        form.addRow("Run B:", self.combo_b)
        buttons = QHBoxLayout()
        buttons.addWidget(self.right_a)
        buttons.addWidget(self.right_b)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        for combo in (self.combo_a, self.combo_b):
            combo.currentIndexChanged.connect(self.recompute)
        self.recompute()

    def run(self, combo: QComboBox) -> Run:
        return next(r for r in self.runs if r.id == combo.currentData())

    def recompute(self) -> None:
        project = self.state.project
        if project is None:
            return
        self.comparison = None
        self._enable(False)
        self.status.setText("Comparing…")
        run_a, run_b = self.run(self.combo_a), self.run(self.combo_b)
        worker = create_worker(project.compare_runs, run_a, run_b, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda result, w=worker: self._show(result) if w is self._worker else None)
        worker.errored.connect(lambda exc: self.status.setText(f"Cannot compare: {exc}"))
        self._worker = worker
        worker.start()

    def _show(self, comparison: RunComparison | SegmentationComparison) -> None:
        self.comparison = comparison
        self.table.setRowCount(len(comparison.rows))
        for r, (name, a, b) in enumerate(comparison.rows):
            delta = None if a is None or b is None else b - a
            for c, text in enumerate((name, number(a), number(b), number(delta))):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.status.setText(comparison.status())
        for button, found in zip((self.right_a, self.right_b), comparison.filters()):
            button.setText(f"{found.label} ({len(found.selection):,})")
            button.setToolTip(found.tooltip)
        self._enable(True)

    def _enable(self, on: bool) -> None:
        self.right_a.setEnabled(on)
        self.right_b.setEnabled(on)

    def select(self, a_first: bool) -> None:
        """Show in the browser the samples of the first filter (A does better) or of the second (B does)."""
        if self.comparison is not None:
            self.state.set_selection(self.comparison.filters()[0 if a_first else 1].selection)
