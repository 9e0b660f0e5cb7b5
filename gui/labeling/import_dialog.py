"""File > Import Labels from CSV…: a preview of every change and every row that did not match; Apply
records all changes as one undo step."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.labels import StoreError
from core.labels.importer import ImportPreview
from gui.state import AppState

#: Rows listed at most per table (the counts say how many there are).
MAX_ROWS = 5000


def fill_table(table: QTableWidget, rows: list[tuple]) -> None:
    table.setRowCount(min(len(rows), MAX_ROWS))
    for r, row in enumerate(rows[:MAX_ROWS]):
        for c, value in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(str(value)))
    table.resizeColumnsToContents()


def _table(headers: list[str], parent: QWidget) -> QTableWidget:
    table = QTableWidget(0, len(headers), parent)
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeader().setStretchLastSection(True)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    return table


class ImportDialog(QDialog):
    def __init__(self, state: AppState, preview: ImportPreview, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import labels from {preview.path.name}")
        self.resize(760, 520)
        self.state, self.preview = state, preview
        changes, misses = preview.changes, preview.mismatches
        samples = len({(c.split, c.index) for c in changes})
        self.heading = QLabel(
            f"{len(changes):,} changes to {samples:,} samples · {len(misses):,} rows did not match "
            f"(not applied) · {preview.unchanged:,} rows already as the CSV says",
            self,
        )
        self.heading.setWordWrap(True)
        self.changes = _table(["Line", "Split", "Sample", "Field", "From", "To"], self)
        fill_table(self.changes, [(c.line, c.split, c.sample_id, c.field, c.old, c.new) for c in changes])
        self.mismatches = _table(["Line", "Row", "Why it did not match"], self)
        fill_table(self.mismatches, [(m.line, ", ".join(m.row), m.reason) for m in misses])
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.changes, f"Changes ({len(changes):,})")
        self.tabs.addTab(self.mismatches, f"Rows that did not match ({len(misses):,})")
        if not changes and misses:
            self.tabs.setCurrentWidget(self.mismatches)
        self.problem = QLabel(self)
        self.problem.setStyleSheet("color: #b00020")
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.apply_button = self.buttons.addButton("Apply (one undo step)", QDialogButtonBox.ButtonRole.AcceptRole)
        self.apply_button.setEnabled(bool(changes))
        self.apply_button.setToolTip("Record every change as one step: Ctrl+Z takes the whole import back")
        self.buttons.accepted.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)

    def apply(self) -> bool:
        try:
            step = self.preview.apply()
        except StoreError as exc:
            self.problem.setText(f"Nothing was imported: {exc}")
            self.problem.show()
            return False
        if step is not None:
            self.state.message.emit(f"Imported {len(self.preview.changes):,} changes (Ctrl+Z takes them back)")
        self.accept()
        return True
