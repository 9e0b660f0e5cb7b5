"""Compare two saved runs on the labels as they are now: metrics side by side, and the samples one run
gets right and the other wrong, one click from the browser."""

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
from superqt.utils import create_worker

from core.labels import Run, RunComparison
from core.selection import Selection
from gui.labeling.runs import run_title
from gui.state import AppState
from gui.tables import setup_table


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


class CompareDialog(QDialog):
    def __init__(self, state: AppState, runs: list[Run], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare runs")
        self.resize(640, 520)
        self.state, self.runs = state, runs
        self.comparison: RunComparison | None = None
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
        self.right_a = QPushButton(self)
        self.right_a.setToolTip("Show in the browser the samples run A gets right and run B gets wrong")
        self.right_a.clicked.connect(lambda: self.select(True))
        self.right_b = QPushButton(self)
        self.right_b.setToolTip("Show in the browser the samples run B gets right and run A gets wrong")
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

    def _show(self, comparison: RunComparison) -> None:
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
        both = len(comparison.both_right) + len(comparison.both_wrong)
        self.status.setText(
            f"Both right: {len(comparison.both_right):,} · both wrong: {len(comparison.both_wrong):,} "
            f"· they differ on {len(comparison.right_a_wrong_b) + len(comparison.wrong_a_right_b):,} "
            f"of {both + len(comparison.right_a_wrong_b) + len(comparison.wrong_a_right_b):,} samples"
        )
        self.right_a.setText(f"Right in A, wrong in B ({len(comparison.right_a_wrong_b):,})")
        self.right_b.setText(f"Wrong in A, right in B ({len(comparison.wrong_a_right_b):,})")
        self._enable(True)

    def _enable(self, on: bool) -> None:
        self.right_a.setEnabled(on)
        self.right_b.setEnabled(on)

    def selection(self, right_in_a: bool) -> Selection:
        comparison = self.comparison
        a, b = f"#{comparison.run_a.id}", f"#{comparison.run_b.id}"
        if right_in_a:
            return Selection.of(f"right in {a}, wrong in {b}", comparison.right_a_wrong_b)
        return Selection.of(f"right in {b}, wrong in {a}", comparison.wrong_a_right_b)

    def select(self, right_in_a: bool) -> None:
        """Show those samples in the browser."""
        if self.comparison is not None:
            self.state.set_selection(self.selection(right_in_a))
