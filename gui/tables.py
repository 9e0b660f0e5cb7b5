"""Tables whose text is always readable: every column at least as wide as its widest cell.

Every table of the application is set up by :func:`setup_table`. A column is never narrower than
its contents (the header included), so a number never shows as "0.8…"; spare width is shared
among the columns that ask for it, and when the contents are wider than the view the table
scrolls sideways instead of squeezing them. Qt's own ``ResizeToContents`` mode would do the first
half but leaves spare width unused; ``Stretch`` uses it but squeezes below the contents.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from gui.throttle import debounced

ROW_HEIGHT = 22
#: Rows measured per column (the visible ones first): numbers of one format have one width, and a
#: 1,000-class table refits in milliseconds.
MEASURED_ROWS = 300


def setup_table(
    table: QTableView, *, spread: Iterable[int] | None = None, row_height: int = ROW_HEIGHT
) -> ColumnFitter:
    """Read-only look shared by the tables, and columns that fit (see :class:`ColumnFitter`).

    ``spread``: the columns that share the spare width (default: all)."""
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(row_height)
    table.setWordWrap(False)
    table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    return ColumnFitter(table, spread)


class ColumnFitter(QObject):
    """Sizes a table's columns to their contents after every change of the data or of the view's width."""

    def __init__(self, table: QTableView, spread: Iterable[int] | None = None) -> None:
        super().__init__(table)
        self.table = table
        self.spread = None if spread is None else set(spread)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setResizeContentsPrecision(MEASURED_ROWS)
        # One fit per burst of changes: filling a table sets thousands of items (fit when the event loop is
        # back, after the burst).
        self.schedule = debounced(self.fit, timeout=0)
        table.viewport().installEventFilter(self)
        model = table.model()
        for signal in (
            model.dataChanged,
            model.headerDataChanged,
            model.modelReset,
            model.layoutChanged,
            model.rowsInserted,
            model.rowsRemoved,
            model.columnsInserted,
            model.columnsRemoved,
        ):
            signal.connect(self.schedule)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def needed_widths(self) -> dict[int, int]:
        """Column -> the width its widest cell (or its header) needs, for the shown columns."""
        table, header = self.table, self.table.horizontalHeader()
        return {
            c: max(table.sizeHintForColumn(c), header.sectionSizeHint(c))
            for c in range(header.count())
            if not header.isSectionHidden(c)
        }

    def fit(self) -> None:
        """Each column as wide as it needs; spare width goes to the spread columns."""
        self.schedule.cancel()
        needed = self.needed_widths()
        spare = self.table.viewport().width() - sum(needed.values())
        takers = [c for c in needed if self.spread is None or c in self.spread]
        if spare > 0 and takers:
            share, rest = divmod(spare, len(takers))
            for k, c in enumerate(takers):
                needed[c] += share + (1 if k < rest else 0)
        header = self.table.horizontalHeader()
        for c, width in needed.items():
            if header.sectionSize(c) != width:
                header.resizeSection(c, width)


def show_rows(table: QTableView, rows: int) -> None:
    """Make ``table`` exactly ``rows`` rows tall, plus the sideways scroll bar while it is needed
    (without it, the bar would cover the last row)."""
    table.setProperty("shown_rows", rows)
    _fix_height(table)
    bar = table.horizontalScrollBar()
    if not table.property("follows_bar"):
        table.setProperty("follows_bar", True)
        bar.rangeChanged.connect(lambda _lo, _hi: _fix_height(table))


def _fix_height(table: QTableView) -> None:
    rows = table.property("shown_rows") or 0
    header = table.horizontalHeader()
    height = 0 if header.isHidden() else header.sizeHint().height()
    height += rows * table.verticalHeader().defaultSectionSize() + 2 * table.frameWidth()
    bar = table.horizontalScrollBar()
    if bar.maximum() > 0:
        height += bar.sizeHint().height()
    table.setFixedHeight(height)
