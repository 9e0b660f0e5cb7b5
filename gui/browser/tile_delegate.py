"""How one tile of the grid is painted: thumbnail, label, prediction, right/wrong frame, errors."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from core.selection import RIGHT, WRONG
from gui.browser.grid_model import ErrorRole, LabelRole, LoadingRole, OutcomeRole, PredictionRole
from gui.browser.thumbnails import THUMB_SIZE

RIGHT_COLOR = QColor(46, 160, 67)
WRONG_COLOR = QColor(218, 54, 51)
ERROR_FILL = QColor(218, 54, 51, 40)
LOADING_FILL = QColor(128, 128, 128, 40)

PAD = 4
LINE = 15
TILE_SIZE = QSize(THUMB_SIZE + 2 * PAD + 8, THUMB_SIZE + 2 * PAD + 2 * LINE + 4)


class TileDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return TILE_SIZE

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        painter.save()
        # Nearest-neighbour when the painter scales (HiDPI): small images stay sharp.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        palette = option.palette
        tile = option.rect.adjusted(2, 2, -2, -2)
        text_color = palette.text().color()
        if option.state & QStyle.StateFlag.State_Selected:
            # A tinted tile with a strong outline: the green/red prediction text stays readable.
            highlight = QColor(palette.highlight().color())
            highlight.setAlpha(60)
            painter.fillRect(tile, highlight)
            painter.setPen(QPen(palette.highlight().color(), 2))
            painter.drawRect(tile.adjusted(1, 1, -1, -1))
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(tile, palette.alternateBase())

        box = QRect(tile.center().x() - THUMB_SIZE // 2, tile.top() + PAD, THUMB_SIZE, THUMB_SIZE)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)  # a cache miss schedules the decode
        error = index.data(ErrorRole)
        if error:
            self._paint_error(painter, box, error)
        elif index.data(LoadingRole):
            painter.fillRect(box, LOADING_FILL)
        elif isinstance(pixmap, QPixmap):
            size = pixmap.deviceIndependentSize().toSize()
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(box.center())
            painter.drawPixmap(target, pixmap)

        outcome = index.data(OutcomeRole)
        if outcome in (RIGHT, WRONG):
            wrong = outcome == WRONG
            pen = QPen(WRONG_COLOR if wrong else RIGHT_COLOR, 3 if wrong else 1.5)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(box.adjusted(-2, -2, 1, 1))

        text = QRect(tile.left() + 2, box.bottom() + 4, tile.width() - 4, LINE)
        self._text(painter, text, index.data(LabelRole) or "", text_color)
        prediction = index.data(PredictionRole)
        if prediction is not None:
            wrong = outcome == WRONG
            color = WRONG_COLOR if wrong else RIGHT_COLOR if outcome == RIGHT else text_color
            self._text(painter, text.translated(0, LINE), f"pred: {prediction}", color, bold=wrong)
        painter.restore()

    def _text(self, painter: QPainter, rect: QRect, text: str, color: QColor, bold: bool = False) -> None:
        font = QFont(painter.font())
        font.setBold(bold)
        painter.setFont(font)
        painter.setPen(color)
        elided = painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle, rect.width())
        painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, elided)

    def _paint_error(self, painter: QPainter, box: QRect, error: str) -> None:
        painter.save()
        painter.fillRect(box, ERROR_FILL)
        painter.setPen(WRONG_COLOR)
        painter.drawText(
            box.adjusted(4, 4, -4, -4),
            Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
            f"⚠\n{short_reason(error)}",
        )
        painter.restore()


def short_reason(error: str) -> str:
    """What fits on a tile: "cannot decode" of "0012.png: cannot decode (OSError: ...)"; the tooltip has all."""
    reason = error.split(": ", 1)[-1]
    return reason.split(" (", 1)[0][:40]
