"""The Duplicates view's list: one item per pair, painted side by side (no widget per pair).

:class:`PairsModel` holds the pairs shown (all, or the leaks only); :class:`PairDelegate` paints a pair: both
thumbnails large enough to compare, each side's id and split under it, a badge ("exact", "near", "LEAK across
splits"), the distance, each side's full id, split and label, and "Exclude A" / "Exclude B" buttons; a click
on a thumbnail or a button is reported by a signal. It asks the view (:class:`DuplicatesView`) for what
changes while the list is shown: thumbnails, labels, review marks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionButton, QToolTip

from core.analysis.duplicates import DuplicatePairs
from core.analysis.rows import AnalysisRows

if TYPE_CHECKING:
    from gui.metrics.duplicates_view import DuplicatesView

THUMB = 112  # pixels: two digits side by side, big enough to see a changed pixel
PAD = 6
BUTTON_WIDTH = 96
SIDES = "AB"
LEAK_COLOUR, EXACT_COLOUR, NEAR_COLOUR = QColor("#c62828"), QColor("#1565c0"), QColor("#616161")


class PairsModel(QAbstractListModel):
    """The pairs shown, closest first; ``leaks_only`` keeps the pairs across splits."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.pairs: DuplicatePairs | None = None
        self.rows: AnalysisRows | None = None
        self.leaks_only = False
        self.shown = np.zeros(0, np.int64)  # indices into ``pairs``
        self.group_size = np.zeros(0, np.int64)  # members per group number

    def set_pairs(self, pairs: DuplicatePairs | None, rows: AnalysisRows | None) -> None:
        self.beginResetModel()
        self.pairs, self.rows = pairs, rows
        self.group_size = np.zeros(0, np.int64) if pairs is None else np.bincount(pairs.group) + 1
        self._filter()
        self.endResetModel()

    def set_leaks_only(self, on: bool) -> None:
        self.beginResetModel()
        self.leaks_only = on
        self._filter()
        self.endResetModel()

    def _filter(self) -> None:
        if self.pairs is None:
            self.shown = np.zeros(0, np.int64)
        else:
            keep = self.pairs.leak if self.leaks_only else np.ones(len(self.pairs), bool)
            self.shown = np.flatnonzero(keep)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.shown)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or self.rows is None:
            return None
        a, b = self.sides(index.row())
        if role == Qt.ToolTipRole:
            rows = self.rows
            return "\n".join(f"{s}: {rows.sample_id(r)} ({rows.split(r) or 'no split'})" for s, r in zip(SIDES, (a, b)))
        if role in (Qt.DisplayRole, Qt.AccessibleTextRole):
            return f"{self.rows.sample_id(a)} ~ {self.rows.sample_id(b)}"
        return None

    def pair(self, row: int) -> int:
        """The index into ``pairs`` of list row ``row``."""
        return int(self.shown[row])

    def sides(self, row: int) -> tuple[int, int]:
        """The analysis rows (A, B) of list row ``row``."""
        k = self.pair(row)
        return int(self.pairs.a[k]), int(self.pairs.b[k])

    def members(self) -> list[int]:
        """The analysis rows of the shown pairs, in list order, each once."""
        if not len(self.shown):
            return []
        both = np.stack([self.pairs.a[self.shown], self.pairs.b[self.shown]], axis=1).ravel()
        _, first = np.unique(both, return_index=True)
        return both[np.sort(first)].tolist()


class PairDelegate(QStyledItemDelegate):
    """Paints a pair side by side; a click on a thumbnail opens that sample, on a button excludes it."""

    side_clicked = Signal(int, int)  # list row, side (0 = A, 1 = B)
    exclude_clicked = Signal(int, int)  # list row, side

    def __init__(self, view: DuplicatesView) -> None:
        super().__init__(view)
        self.view = view

    def sizeHint(self, option, index) -> QSize:
        line = option.fontMetrics.height()
        return QSize(2 * THUMB + 3 * PAD + 2 * BUTTON_WIDTH + PAD, THUMB + 2 * line + 3 * PAD)

    def geometry(self, rect: QRect, line: int) -> dict[str, QRect]:
        """Where each part of the item lies (painting and clicks share it)."""
        top = rect.top() + PAD
        parts = {}
        for side in (0, 1):
            left = rect.left() + PAD + side * (THUMB + PAD)
            parts[f"thumb{side}"] = QRect(left, top, THUMB, THUMB)
            parts[f"caption{side}"] = QRect(left, top + THUMB + 2, THUMB, 2 * line)
        info_left = rect.left() + 2 * THUMB + 4 * PAD
        width = max(2 * BUTTON_WIDTH + PAD, rect.right() - PAD - info_left)
        parts["info"] = QRect(info_left, top, width, THUMB - line - 2 * PAD)
        button_top = top + THUMB - line - PAD
        for side in (0, 1):
            left = info_left + side * (BUTTON_WIDTH + PAD)
            parts[f"button{side}"] = QRect(left, button_top, BUTTON_WIDTH, line + 2 * PAD)
        return parts

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        model = index.model()
        painter.save()
        if option.state & QStyle.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight().color().lighter(170))
        line = option.fontMetrics.height()
        parts = self.geometry(option.rect, line)
        sides = model.sides(index.row())
        excluded = [self.view.is_excluded(r) for r in sides]
        for side, row in enumerate(sides):
            self._paint_thumb(painter, parts[f"thumb{side}"], row, excluded[side])
            self._paint_caption(painter, parts[f"caption{side}"], option, row, side, excluded[side])
        self._paint_info(painter, parts["info"], option, model.pair(index.row()), line)
        for side, row in enumerate(sides):
            self._paint_button(painter, parts[f"button{side}"], option, row, side, excluded[side])
        painter.setPen(option.palette.mid().color())
        painter.drawLine(option.rect.bottomLeft(), option.rect.bottomRight())
        painter.restore()

    def _paint_thumb(self, painter: QPainter, rect: QRect, row: int, excluded: bool) -> None:
        painter.fillRect(rect, QColor("#202020"))
        pixmap = self.view.thumbnails.thumbnail(row)
        if pixmap is None:
            painter.setPen(QColor("#e0e0e0"))
            error = self.view.thumbnails.error(row)
            painter.drawText(rect.adjusted(4, 4, -4, -4), Qt.AlignCenter | Qt.TextWordWrap, error or "…")
            return
        target = QRect(0, 0, pixmap.width(), pixmap.height())
        target.moveCenter(rect.center())
        painter.setOpacity(0.3 if excluded else 1.0)
        painter.drawPixmap(target, pixmap)
        painter.setOpacity(1.0)
        if excluded:
            band = QRect(rect.left(), rect.center().y() - 10, rect.width(), 20)
            painter.fillRect(band, LEAK_COLOUR)
            painter.setPen(Qt.white)
            painter.drawText(band, Qt.AlignCenter, "EXCLUDED")

    def _paint_caption(self, painter: QPainter, rect: QRect, option, row: int, side: int, excluded: bool) -> None:
        rows = self.view.rows
        metrics, line = option.fontMetrics, option.fontMetrics.height()
        painter.setPen(option.palette.text().color())
        prefix = f"{SIDES[side]} · "  # the end of an id (its file name) tells the two apart
        room = rect.width() - metrics.horizontalAdvance(prefix)
        name = prefix + metrics.elidedText(rows.sample_id(row), Qt.ElideLeft, room)
        painter.drawText(QRect(rect.left(), rect.top(), rect.width(), line), Qt.AlignLeft, name)
        split = rows.split(row) or "no split"
        if not rows.is_open(row):
            painter.setPen(LEAK_COLOUR)  # the side the open dataset does not show
        text = f"{split} · excluded" if excluded else split
        painter.drawText(QRect(rect.left(), rect.top() + line, rect.width(), line), Qt.AlignLeft, text)

    def _paint_info(self, painter: QPainter, rect: QRect, option, k: int, line: int) -> None:
        pairs = self.view.pairs.pairs
        x = rect.left()
        for text, colour in _badges(bool(pairs.exact[k]), bool(pairs.leak[k])):
            width = option.fontMetrics.horizontalAdvance(text) + 12
            badge = QRect(x, rect.top(), width, line + 4)
            painter.setPen(Qt.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(Qt.white)
            painter.drawText(badge, Qt.AlignCenter, text)
            x += width + PAD
        painter.setPen(option.palette.text().color())
        distance = f"cosine distance {pairs.distance[k]:.4f}"
        size = int(self.view.pairs.group_size[pairs.group[k]])
        group = f" · one of a group of {size}" if size > 2 else ""
        top = rect.top() + line + 10
        painter.drawText(QRect(rect.left(), top, rect.width(), line), Qt.AlignLeft, distance + group)
        sides = (int(pairs.a[k]), int(pairs.b[k]))
        labels = [self.view.label(row) for row in sides]
        for side, row in enumerate(sides):
            text = f"{SIDES[side]}: {self.view.rows.sample_id(row)} · {self.view.rows.split(row) or 'no split'}"
            text += f" · label {labels[side]}" if labels[side] else ""
            if side == 1 and labels[0] != labels[1]:
                painter.setPen(LEAK_COLOUR)  # the same picture with two labels: one of them is wrong
                text += " (labels differ)"
            place = QRect(rect.left(), top + (side + 1) * line, rect.width(), line)
            painter.drawText(place, Qt.AlignLeft, option.fontMetrics.elidedText(text, Qt.ElideMiddle, rect.width()))

    def _paint_button(self, painter: QPainter, rect: QRect, option, row: int, side: int, excluded: bool) -> None:
        button = QStyleOptionButton()
        button.rect = rect
        button.text = f"{'Include' if excluded else 'Exclude'} {SIDES[side]}"
        enabled = self.view.can_exclude(row)
        button.state = QStyle.State_Raised | (QStyle.State_Enabled if enabled else QStyle.State_None)
        button.palette = QPalette(option.palette)
        if not enabled:  # greyed as a disabled push button is
            button.palette.setCurrentColorGroup(QPalette.Disabled)
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.CE_PushButton, button, painter, widget)

    def helpEvent(self, event, view, option, index: QModelIndex) -> bool:
        """Over a button: what it does, or why it cannot; elsewhere: both sides' ids and splits."""
        parts = self.geometry(option.rect, option.fontMetrics.height())
        for side, row in enumerate(index.model().sides(index.row())):
            if parts[f"button{side}"].contains(event.pos()):
                QToolTip.showText(event.globalPos(), self.view.exclude_tip(row), view)
                return True
        return super().helpEvent(event, view, option, index)

    def editorEvent(self, event, model, option, index: QModelIndex) -> bool:
        if event.type() != QEvent.MouseButtonRelease or event.button() != Qt.LeftButton:
            return False
        parts = self.geometry(option.rect, option.fontMetrics.height())
        position = event.position().toPoint()
        for side in (0, 1):
            if parts[f"button{side}"].contains(position):
                self.exclude_clicked.emit(index.row(), side)
                return True
            if parts[f"thumb{side}"].contains(position):
                self.side_clicked.emit(index.row(), side)
                return True
        return False


def pairs_text(count: int) -> str:
    return f"{count:,} pair" + ("" if count == 1 else "s")


def _badges(exact: bool, leak: bool) -> list[tuple[str, QColor]]:
    kind = ("exact", EXACT_COLOUR) if exact else ("near", NEAR_COLOUR)
    return [kind, ("LEAK across splits", LEAK_COLOUR)] if leak else [kind]
