"""The thumbnail grid's view: fixed-size tiles in rows, every geometry computed from a row number.

QListView in IconMode keeps one item (position, BSP tree entry) per row and builds them all on each
model reset, asking the Python model's ``rowCount`` once per row through ``index()``: 1.28M rows cost
seconds per filter. Here a tile's place is arithmetic (row // columns, row % columns), so a reset,
a scroll step or a selection costs the tiles on screen only, whatever the number of rows.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QModelIndex, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QPainter, QPalette, QRegion
from PySide6.QtWidgets import QAbstractItemView, QStyle, QStyleOptionViewItem, QWidget

_Move = QAbstractItemView.CursorAction


class TileGrid(QAbstractItemView):
    """A wrapping grid of ``tile``-sized items, left to right then top to bottom (one model column)."""

    def __init__(self, tile: QSize, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tile = QSize(tile)
        self._count = 0  # model rows, read once per reset / insert / remove, never per tile
        self._empty_text = ""  # said across an empty grid: why no tile is shown
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.verticalScrollBar().setSingleStep(max(1, tile.height() // 3))

    def set_empty_text(self, text: str) -> None:
        """What an empty grid says ("No sample matches the search “x”"); "" says nothing."""
        if text != self._empty_text:
            self._empty_text = text
            self.viewport().update()

    @property
    def empty_text(self) -> str:
        return self._empty_text

    # -- the model's shape ----------------------------------------------------------
    def setModel(self, model) -> None:
        super().setModel(model)
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved, model.layoutChanged):
            signal.connect(self._recount)
        self._recount()

    def _recount(self, *_args) -> None:
        model = self.model()
        self._count = model.rowCount() if model is not None else 0
        self.updateGeometries()
        self.viewport().update()

    def columns(self) -> int:
        return max(1, self.viewport().width() // self.tile.width())

    def _lines(self) -> int:
        return -(-self._count // self.columns())

    def updateGeometries(self) -> None:
        bar = self.verticalScrollBar()
        height = self.viewport().height()
        bar.setPageStep(max(1, height))
        bar.setRange(0, max(0, self._lines() * self.tile.height() - height))
        super().updateGeometries()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.updateGeometries()

    # -- geometry -------------------------------------------------------------------
    def _rect_of(self, row: int) -> QRect:
        columns, tile = self.columns(), self.tile
        x, y = (row % columns) * tile.width(), (row // columns) * tile.height()
        return QRect(x, y - self.verticalOffset(), tile.width(), tile.height())

    def visualRect(self, index: QModelIndex) -> QRect:
        if not index.isValid() or index.row() >= self._count:
            return QRect()
        return self._rect_of(index.row())

    def _row_at(self, point: QPoint) -> int:
        """The row of the tile under ``point`` (viewport coordinates), -1 where there is none."""
        column = point.x() // self.tile.width()
        line = (point.y() + self.verticalOffset()) // self.tile.height()
        if point.x() < 0 or column >= self.columns() or line < 0:
            return -1
        row = line * self.columns() + column
        return row if row < self._count else -1

    def indexAt(self, point: QPoint) -> QModelIndex:
        row = self._row_at(point)
        return self.model().index(row, 0, self.rootIndex()) if row >= 0 else QModelIndex()

    def horizontalOffset(self) -> int:
        return 0

    def verticalOffset(self) -> int:
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index: QModelIndex) -> bool:
        return False

    def scrollTo(self, index: QModelIndex, hint=QAbstractItemView.ScrollHint.EnsureVisible) -> None:
        rect = self.visualRect(index)
        if rect.isNull():
            return
        bar, height = self.verticalScrollBar(), self.viewport().height()
        top = rect.top() + bar.value()  # in content coordinates
        Hint = QAbstractItemView.ScrollHint
        if hint == Hint.PositionAtTop:
            bar.setValue(top)
        elif hint == Hint.PositionAtBottom:
            bar.setValue(top + rect.height() - height)
        elif hint == Hint.PositionAtCenter:
            bar.setValue(top + (rect.height() - height) // 2)
        elif rect.top() < 0:
            bar.setValue(top)
        elif rect.bottom() >= height:
            bar.setValue(top + rect.height() - height)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self.viewport().scroll(dx, dy)

    # -- keyboard and selection -----------------------------------------------------
    def moveCursor(self, action, modifiers) -> QModelIndex:
        if not self._count:
            return QModelIndex()
        current = self.currentIndex()
        row = current.row() if current.isValid() else 0
        columns = self.columns()
        page = max(1, self.viewport().height() // self.tile.height()) * columns
        step = {
            _Move.MoveLeft: -1,
            _Move.MovePrevious: -1,
            _Move.MoveRight: 1,
            _Move.MoveNext: 1,
            _Move.MoveUp: -columns,
            _Move.MoveDown: columns,
            _Move.MovePageUp: -page,
            _Move.MovePageDown: page,
        }
        if action == _Move.MoveHome:
            row = 0
        elif action == _Move.MoveEnd:
            row = self._count - 1
        elif current.isValid():
            row = min(max(row + step.get(action, 0), 0), self._count - 1)
        return self.model().index(row, 0, self.rootIndex())

    def setSelection(self, rect: QRect, command) -> None:
        """Select the tiles the rectangle (viewport coordinates) touches: one range per line of tiles."""
        rect = rect.normalized()
        columns, tile, offset = self.columns(), self.tile, self.verticalOffset()
        first_column = max(0, rect.left() // tile.width())
        last_column = min(columns - 1, rect.right() // tile.width())
        first_line = max(0, (rect.top() + offset) // tile.height())
        last_line = min(self._lines() - 1, (rect.bottom() + offset) // tile.height())
        selection = QItemSelection()
        model, root = self.model(), self.rootIndex()
        for line in range(first_line, last_line + 1):
            start = line * columns + first_column
            stop = min(line * columns + last_column, self._count - 1)
            if start <= stop:
                selection.select(model.index(start, 0, root), model.index(stop, 0, root))
        self.selectionModel().select(selection, command)

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:
        # Tiles on screen only: a selection of a million tiles is a handful of ranges, not a million rects.
        region = QRegion()
        shown = self._shown_rows()
        for span in selection:
            top, bottom = max(span.top(), shown.start), min(span.bottom(), shown.stop - 1)
            for row in range(top, bottom + 1):
                region += self._rect_of(row)
        return region

    def selectedIndexes(self) -> list[QModelIndex]:
        model = self.selectionModel()
        return model.selectedIndexes() if model is not None else []

    # -- painting -------------------------------------------------------------------
    def _shown_rows(self) -> range:
        """The rows whose tiles are (partly) on screen."""
        columns, height = self.columns(), self.tile.height()
        first = self.verticalOffset() // height
        last = (self.verticalOffset() + self.viewport().height() - 1) // height
        return range(min(first * columns, self._count), min((last + 1) * columns, self._count))

    def paintEvent(self, event) -> None:
        # Geometry and style read once per paint, not per tile: a scroll step repaints ~50 new tiles. A delegate
        # with paint_tile (TileDelegate) is given the tile's data and states directly, its style read once.
        painter = QPainter(self.viewport())
        if not self._count and self._empty_text:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(self.viewport().rect().adjusted(16, 16, -16, -16), flags, self._empty_text)
            painter.end()
            return
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        model, root, delegate = self.model(), self.rootIndex(), self.itemDelegate()
        fast = getattr(delegate, "paint_tile", None)
        style = delegate.tile_style(option) if fast is not None else None
        selection, current = self.selectionModel(), self.currentIndex().row()
        selected = selection is not None and selection.hasSelection()
        hover = self._row_at(self.viewport().mapFromGlobal(self.cursor().pos())) if self.underMouse() else -1
        focus = self.hasFocus()
        columns, width, height, offset = self.columns(), self.tile.width(), self.tile.height(), self.verticalOffset()
        exposed = event.rect()
        enabled, State = QStyle.StateFlag.State_Enabled, QStyle.StateFlag
        for row in self._shown_rows():
            rect = QRect((row % columns) * width, (row // columns) * height - offset, width, height)
            if not rect.intersects(exposed):
                continue
            index = model.index(row, 0, root)
            is_selected = selected and selection.isSelected(index)
            if fast is not None:
                fast(painter, rect, index, style, is_selected, row == hover)
                continue
            option.rect = rect
            state = enabled
            if is_selected:
                state |= State.State_Selected
            if focus and row == current:
                state |= State.State_HasFocus
            if row == hover:
                state |= State.State_MouseOver
            option.state = state
            delegate.paint(painter, option, index)
        painter.end()

    def mouseMoveEvent(self, event) -> None:
        super().mouseMoveEvent(event)
        self.viewport().update()  # the tile under the mouse is highlighted
