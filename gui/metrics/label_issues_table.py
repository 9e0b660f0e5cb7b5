"""The ranked label issues as a Qt table model: rank, thumbnail, sample, given, suggested, score, state.

Rows are positions into the analysis' ranked issues (a filter keeps some of them, rank order kept); every
cell is read from numpy arrays when painted, so 100,000 issues cost no more than the rows on screen.
Thumbnails are decoded on a thread pool (``analysis_samples.RowThumbnails``), never on the GUI thread: a row
paints without one until ``ready`` says it is there.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from core.analysis.issue_review import STATE_NAMES, Issues, is_multilabel
from gui.metrics.analysis_samples import RowThumbnails

#: Side of the thumbnails in the table, in pixels (a row is this tall plus a margin).
THUMB = 32
COLUMNS = ("#", "", "Sample", "Given", "Suggested", "Score", "State")
RANK, THUMBNAIL, SAMPLE, GIVEN, SUGGESTED, SCORE, STATE = range(len(COLUMNS))
#: The dataset index of a row's sample.
IndexRole = Qt.ItemDataRole.UserRole + 1
#: How each state reads: open in the text's own colour, done ones dimmer or in the colour of what was done.
STATE_COLOURS = {1: "#1b7a2f", 2: "#1b5e9a", 3: "#1b5e9a", 4: "#888888"}
STATE_TIPS = (
    "Not decided yet: A takes the suggestion, K keeps the label, X excludes the sample",
    "The label is now the suggested one",
    "The label was changed to another class than the suggested one",
    "The label was kept and the sample marked reviewed",
    "The sample is excluded from metrics and exports",
)
HEADER_TIPS = {
    RANK: "Rank: 1 is the most suspect label",
    SCORE: "Label quality in [0, 1]: how much the model's out-of-sample probabilities support the given label "
    "(lower is more suspect)",
    STATE: "What became of the issue, read from the labels and marks now (an undo makes it open again)",
}


class LabelIssuesTable(QAbstractTableModel):
    """The issues at ``positions`` (ranks into ``issues``) with their ``states`` (core.analysis.issue_review)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.issues: Issues | None = None
        self.classes: list[str] = []
        self.sample_ids: list[str] = []
        self.states = np.zeros(0, np.int8)
        self.positions = np.zeros(0, np.int64)
        self._row_of: dict[int, int] = {}  # dataset index -> row, for the thumbnails that arrive
        self.loader = RowThumbnails(THUMB, self)  # rows here are the open dataset's samples
        self.loader.ready.connect(self._on_thumbnail)

    # -- what is shown ---------------------------------------------------------------------------
    def set_issues(self, issues: Issues | None, classes, sample_ids, dataset, states: np.ndarray) -> None:
        """Show ``issues`` (None: nothing) of ``dataset``, every one of them until :meth:`set_positions`."""
        self.beginResetModel()
        self.issues, self.classes, self.sample_ids = issues, list(classes), list(sample_ids)
        self.states = np.asarray(states, np.int8)
        self.positions = np.arange(0 if issues is None else len(issues), dtype=np.int64)
        self.loader.set_rows(dataset if issues is not None else None)
        self._index_rows()
        self.endResetModel()

    def set_positions(self, positions: np.ndarray) -> None:
        positions = np.asarray(positions, np.int64)
        if np.array_equal(positions, self.positions):
            return
        self.beginResetModel()
        self.positions = positions
        self.loader.drop_pending()
        self._index_rows()
        self.endResetModel()

    def set_states(self, states: np.ndarray) -> None:
        """New states (after an edit or an undo): the State column repaints."""
        self.states = np.asarray(states, np.int8)
        if self.rowCount():
            self.dataChanged.emit(self.index(0, STATE), self.index(self.rowCount() - 1, STATE))

    def _index_rows(self) -> None:
        indices = self.dataset_indices()
        self._row_of = {int(i): r for r, i in enumerate(indices.tolist())}

    def dataset_indices(self, positions: np.ndarray | None = None) -> np.ndarray:
        """The dataset indices of ``positions`` (default: the rows shown, in their order)."""
        if self.issues is None:
            return np.zeros(0, np.int64)
        return np.asarray(self.issues.indices, np.int64)[self.positions if positions is None else positions]

    def row_of_position(self, position: int) -> int:
        """The row showing the issue ranked ``position``, or -1 when the filter hides it."""
        found = np.flatnonzero(self.positions == position)
        return int(found[0]) if len(found) else -1

    def row_of_sample(self, index: int) -> int:
        return self._row_of.get(int(index), -1)

    def names(self, value) -> str:
        """A class index as its name; a multilabel row of tags as the names joined ("none" when empty)."""
        if np.ndim(value):
            return ", ".join(self.classes[k] for k in np.flatnonzero(value)) or "(none)"
        return self.classes[int(value)] if 0 <= int(value) < len(self.classes) else str(int(value))

    # -- Qt's model -----------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008  (Qt's signature)
        return 0 if parent.isValid() else len(self.positions)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(section)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.issues is None:
            return None
        position, column = int(self.positions[index.row()]), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(position, column)
        if role == IndexRole:
            return int(self.issues.indices[position])
        if role == Qt.ItemDataRole.DecorationRole and column == THUMBNAIL:
            return self.loader.thumbnail(int(self.issues.indices[position]))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tip(position, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == STATE:
            colour = STATE_COLOURS.get(int(self.states[position]))
            return QColor(colour) if colour else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (RANK, SCORE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, position: int, column: int) -> str | None:
        issues = self.issues
        if column == RANK:
            return f"{position + 1:,}"
        if column == SAMPLE:
            return self.sample_ids[int(issues.indices[position])]
        if column == GIVEN:
            return self.names(issues.given[position])
        if column == SUGGESTED:
            return self.names(issues.suggested[position])
        if column == SCORE:
            return f"{float(issues.score[position]):.3f}"
        if column == STATE:
            return STATE_NAMES[int(self.states[position])]
        return None

    def _tip(self, position: int, column: int) -> str | None:
        if column == STATE:
            return STATE_TIPS[int(self.states[position])]
        if column == SUGGESTED and is_multilabel(self.issues):
            given, suggested = self.issues.given[position], self.issues.suggested[position]
            added, removed = self.names(suggested & ~given), self.names(given & ~suggested)
            return f"adds: {added}\nremoves: {removed}"
        if column == THUMBNAIL:
            error = self.loader.error(int(self.issues.indices[position]))
            return f"cannot read the image: {error}" if error else None
        text = self._text(position, column)
        return text if column in (SAMPLE, GIVEN, SUGGESTED) else None

    def _on_thumbnail(self, index: int) -> None:
        row = self._row_of.get(index, -1)
        if row >= 0:
            cell = self.index(row, THUMBNAIL)
            self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.DecorationRole])

    def shutdown(self) -> None:
        self.loader.shutdown()
