"""The Analysis tab's "Outliers" view: every analysed sample ranked, the most unusual first.

Each row shows the thumbnail, the sample and its split, the ranking score and its two parts (how far the
sample lies from its nearest neighbours against a typical sample, and the out-of-distribution score of the
model's probabilities: docs/analysis.md), the label and the model's answer. A click opens the sample, X
excludes the selected ones (one undo step), "Show in browser" selects the top N in their order.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSize, Qt
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.analysis.outliers import Outliers
from core.analysis.rows import AnalysisRows
from core.evaluation.selection import Selection
from gui.metrics.analysis_model import AnalysisModel
from gui.metrics.analysis_samples import (
    RowThumbnails,
    excluded_marks,
    label_of,
    prediction_of,
    set_excluded,
)
from gui.state import AppState

THUMB = 64
COLUMNS = ("rank", "sample", "split", "score", "k-NN distance", "OOD", "label", "predicted", "mark")
TIPS = {
    "score": "How unusual the sample is: the mean of the robust z-scores of its two parts (higher = more unusual)",
    "k-NN distance": "Mean cosine distance to its nearest neighbours over a typical sample's (3 = three times as far)",
    "OOD": "Out-of-distribution score of the model's probabilities (1 - cleanlab's in-distribution score)",
}
#: A typical widest value per column, for the column's first width (the user may widen it).
WIDEST = ("9999", "test/9/0000.png", "train", "00.00", "0.00×", "0.000", "label", "0", "excluded")
DEFAULT_TOP = 50
EXCLUDED_COLOUR = QColor("#9e9e9e")
IDLE_TEXT = "Analyse to rank the samples by how unusual they are."


class OutliersModel(QAbstractTableModel):
    """The ranked rows of one analysis, for a table."""

    def __init__(self, state: AppState, thumbnails: RowThumbnails, parent=None) -> None:
        super().__init__(parent)
        self.state, self.thumbnails = state, thumbnails
        self.outliers: Outliers | None = None
        self.rows: AnalysisRows | None = None
        self.excluded: np.ndarray | None = None  # per sample of the open dataset
        thumbnails.ready.connect(self._on_thumbnail)
        self.order = np.zeros(0, np.int64)  # the analysis rows in the table's order (most unusual first)
        self.rank = np.zeros(0, np.int64)  # per analysis row: its place among the outliers (0 = most unusual)
        self.sorted_by = "score"
        self._position: dict[int, int] = {}  # analysis row -> table row, for repainting a thumbnail

    def set_outliers(self, outliers: Outliers | None, rows: AnalysisRows | None) -> None:
        self.beginResetModel()
        self.outliers, self.rows = outliers, rows
        self.order = np.zeros(0, np.int64) if outliers is None else outliers.indices.copy()
        self.rank = np.zeros(0, np.int64) if rows is None else np.full(len(rows), -1, np.int64)
        if outliers is not None:
            self.rank[outliers.indices] = np.arange(len(outliers.indices))
        self.sorted_by = "score"
        self._reindex()
        self.endResetModel()

    def sort(self, column: int, order=Qt.DescendingOrder) -> None:
        """Order the table by a column (numbers: the largest first when descending; text: alphabetically)."""
        name = COLUMNS[column]
        values = None if self.outliers is None else self._sort_values(name, self.outliers.indices)
        if values is None:
            return
        descending = order == Qt.DescendingOrder
        if isinstance(values, np.ndarray):
            keys = np.where(np.isfinite(values), values, -np.inf if descending else np.inf)  # no value: last
            position = np.argsort(-keys if descending else keys, kind="stable")
        else:
            position = np.array(sorted(range(len(values)), key=values.__getitem__, reverse=descending), np.int64)
        self.layoutAboutToBeChanged.emit()
        kept = [(i, self.row_of(i.row()), i.column()) for i in self.persistentIndexList()]  # the selection
        self.order = self.outliers.indices[position]
        self.sorted_by = name
        self._reindex()
        for old, row, col in kept:
            self.changePersistentIndex(old, self.index(self._position[row], col))
        self.layoutChanged.emit()

    def _sort_values(self, name: str, ranked: np.ndarray):
        o = self.outliers
        numbers = {
            "rank": self.rank[ranked].astype(np.float64),
            "score": o.score,
            "k-NN distance": o.knn,
            "OOD": o.ood,
        }
        if name in numbers:
            values = numbers[name]
            return None if values is None else np.asarray(values if name == "rank" else values[ranked], np.float64)
        return [self._text(0, int(row), name) for row in ranked]

    def _reindex(self) -> None:
        self._position = {int(r): i for i, r in enumerate(self.order)}

    def set_excluded(self, excluded: np.ndarray | None) -> None:
        self.excluded = excluded
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, len(COLUMNS) - 1))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.DisplayRole):
        if orientation != Qt.Horizontal:
            return None
        if role == Qt.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ToolTipRole:
            return TIPS.get(COLUMNS[section])
        return None

    def row_of(self, table_row: int) -> int:
        """The analysis row at ``table_row``."""
        return int(self.order[table_row])

    def is_excluded(self, row: int) -> bool:
        index = self.rows.open_index(row)
        return index >= 0 and self.excluded is not None and bool(self.excluded[index])

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or self.outliers is None:
            return None
        row, column = self.row_of(index.row()), COLUMNS[index.column()]
        if role == Qt.DisplayRole:
            return self._text(int(self.rank[row]), row, column)
        if role == Qt.DecorationRole and column == "rank":
            return self.thumbnails.thumbnail(row)
        if role == Qt.ForegroundRole and self.is_excluded(row):
            return EXCLUDED_COLOUR
        if role == Qt.ToolTipRole:
            return self.thumbnails.error(row) or TIPS.get(column)
        if role == Qt.TextAlignmentRole and column in ("rank", "score", "k-NN distance", "OOD"):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def _text(self, rank: int, row: int, column: str) -> str:
        o, rows = self.outliers, self.rows
        if column == "rank":
            return str(rank + 1)
        if column == "sample":
            return rows.sample_id(row)
        if column == "split":
            return rows.split(row)
        if column == "score":
            return _number(o.score, row, "{:.2f}")
        if column == "k-NN distance":
            return _number(o.knn, row, "{:.2f}×")
        if column == "OOD":
            return _number(o.ood, row, "{:.3f}")
        if column == "label":
            return label_of(self.state, rows, row)
        if column == "predicted":
            return prediction_of(rows, row)
        return "excluded" if self.is_excluded(row) else ""

    def _on_thumbnail(self, row: int) -> None:
        position = self._position.get(row)
        if position is not None:
            cell = self.index(position, 0)
            self.dataChanged.emit(cell, cell, [Qt.DecorationRole])


def _number(values: np.ndarray | None, row: int, form: str) -> str:
    if values is None or not np.isfinite(values[row]):
        return ""
    return form.format(float(values[row]))


class OutliersView(QWidget):
    """The ranked outliers of the analysis; click opens, X excludes, "Show in browser" selects the top N."""

    def __init__(self, model: AnalysisModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model, self.state = model, model.state
        self.rows: AnalysisRows | None = None
        self.thumbnails = RowThumbnails(THUMB, self)
        self.outliers = OutliersModel(self.state, self.thumbnails, self)
        self.table = self._make_table()
        self.top = QSpinBox()
        self.top.setRange(1, 1_000_000)
        self.top.setValue(DEFAULT_TOP)
        self.top.setToolTip("How many of the most unusual samples to show in the browser")
        self.show_button = QPushButton("Show in browser")
        self.show_button.setToolTip(
            "Select the table's first samples in the browser, in its order (the most unusual first, unless sorted)"
        )
        self.show_button.clicked.connect(self.show_in_browser)
        self.exclude_button = QPushButton("Exclude (X)")
        self.exclude_button.setToolTip("Leave the selected samples out of metrics and exports (X again takes it back)")
        self.exclude_button.clicked.connect(self.toggle_excluded)
        self.summary = QLabel(wordWrap=True)
        controls = QHBoxLayout()
        controls.addWidget(self.summary, 1)
        controls.addWidget(self.exclude_button)
        controls.addWidget(QLabel("Top"))
        controls.addWidget(self.top)
        controls.addWidget(self.show_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.table, 1)
        model.reset.connect(self.clear)
        model.found.connect(self._on_found)
        model.cancelled.connect(self._on_stopped)
        model.failed.connect(lambda _text: self._on_stopped())
        self.state.labels_changed.connect(lambda _i: self.outliers.set_excluded(excluded_marks(self.state)))
        self.state.project_changed.connect(lambda _p: self.outliers.set_excluded(excluded_marks(self.state)))
        self.clear()

    def _make_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.outliers)
        table.setSelectionBehavior(QAbstractItemView.SelectRows)
        table.setSortingEnabled(True)
        table.horizontalHeader().setSortIndicator(COLUMNS.index("score"), Qt.DescendingOrder)
        table.setIconSize(QSize(THUMB, THUMB))
        table.verticalHeader().setDefaultSectionSize(THUMB + 4)
        table.verticalHeader().hide()
        table.setWordWrap(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setStretchLastSection(True)
        metrics = table.fontMetrics()
        for column, sample in enumerate(WIDEST):  # as wide as their header or a typical value, no wider
            width = max(metrics.horizontalAdvance(COLUMNS[column]), metrics.horizontalAdvance(sample)) + 18
            header.resizeSection(column, width + (THUMB + 8 if column == 0 else 0))
        table.clicked.connect(lambda index: self.open_row(index.row()))
        table.activated.connect(lambda index: self.open_row(index.row()))
        table.verticalScrollBar().valueChanged.connect(lambda _v: self.thumbnails.drop_pending())
        exclude = QAction("Exclude", table)
        exclude.setShortcut(QKeySequence("X"))
        exclude.setShortcutContext(Qt.WidgetShortcut)
        exclude.triggered.connect(self.toggle_excluded)
        table.addAction(exclude)
        return table

    # -- the analysis' news ---------------------------------------------------------------------------
    def clear(self) -> None:
        self.rows = None
        self.thumbnails.set_rows(None)
        self.outliers.set_outliers(None, None)
        self.show_button.setEnabled(False)
        self.exclude_button.setEnabled(False)
        self.summary.setText("Finding outliers…" if self.model.running else IDLE_TEXT)

    def _on_stopped(self) -> None:
        if self.outliers.outliers is None:
            self.summary.setText(IDLE_TEXT)

    def _on_found(self, stage: str) -> None:
        analysis = self.model.analysis
        if stage != "duplicates" or analysis is None or analysis.outliers is None:
            return
        self.rows = self.model.rows
        self.thumbnails.set_rows(self.rows)
        self.outliers.set_outliers(analysis.outliers, self.rows)
        self.table.horizontalHeader().setSortIndicator(COLUMNS.index("score"), Qt.DescendingOrder)
        self.outliers.set_excluded(excluded_marks(self.state))
        self.show_button.setEnabled(True)
        self.exclude_button.setEnabled(self.state.project is not None)
        found = analysis.outliers
        parts = [name for name, v in (("k-NN distance", found.knn), ("OOD", found.ood)) if v is not None]
        self.summary.setText(f"{len(found.indices):,} samples, the most unusual first, by {' and '.join(parts)}.")

    # -- what the user does -----------------------------------------------------------------------------
    def open_row(self, table_row: int) -> None:
        """Show the sample in the browser's sample view (samples of other splits: say where they are)."""
        row = self.outliers.row_of(table_row)
        index = self.rows.open_index(row)
        if index < 0:
            where = f"{self.rows.sample_id(row)} is in the {self.rows.split(row)} split"
            self.state.message.emit(f"{where}: open that split to see it")
            return
        self.state.select_sample(index)

    def selected_rows(self) -> list[int]:
        """The analysis rows selected in the table, in rank order."""
        ranks = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.outliers.row_of(r) for r in ranks]

    def toggle_excluded(self) -> bool:
        """Exclude the selected samples of the open split; when all are excluded already, take the mark back."""
        if self.rows is None:
            return False
        rows = [r for r in self.selected_rows() if self.rows.is_open(r)]
        if not rows:
            self.state.message.emit("Select outliers of the open split to exclude them.")
            return False
        indices = self.rows.open_indices(rows)
        marks = excluded_marks(self.state)
        exclude = marks is None or not bool(marks[indices].all())
        what = self.rows.sample_id(rows[0]) if len(rows) == 1 else f"{len(rows):,} outliers"
        verb = "exclude outlier" if exclude else "include again outlier"
        return set_excluded(self.state, indices, exclude, f"{verb} {what}")

    def show_in_browser(self) -> None:
        """Select the top N outliers of the open split in the browser, the most unusual first."""
        if self.rows is None:
            return
        table = self.outliers
        indices = self.rows.open_indices(table.order[: self.top.value()])
        by = "" if table.sorted_by == "score" else f" by {table.sorted_by}"
        self.state.set_selection(Selection.of(f"top {len(indices):,} outliers{by}", indices, ordered=True))

    def shutdown(self) -> None:
        self.thumbnails.shutdown()
