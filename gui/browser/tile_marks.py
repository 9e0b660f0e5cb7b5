"""The user's marks on a tile, drawn as shapes (no font needed): edited corner, review badge, note corner.

- edited: an orange triangle in the thumbnail's top-left corner (the tooltip names the original label);
- reviewed: a green disc with a tick, flagged: an orange flag, excluded: the thumbnail greyed and struck out
  (top-right corner);
- a note: a small yellow folded corner, bottom-right.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPolygonF

EDITED_COLOR = QColor(235, 140, 20)
REVIEWED_COLOR = QColor(40, 150, 70)
FLAGGED_COLOR = QColor(230, 110, 0)
EXCLUDED_FILL = QColor(120, 120, 120, 150)
NOTE_COLOR = QColor(245, 205, 50)
CORNER = 14
BADGE = 14


def paint_marks(painter: QPainter, box: QRect, edited: bool, status: str, note: bool) -> None:
    """Draw the marks over the thumbnail ``box``."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    if status == "excluded":
        _excluded(painter, box)
    if edited:
        _edited(painter, box)
    if status == "reviewed":
        _reviewed(painter, box)
    elif status == "flagged":
        _flagged(painter, box)
    if note:
        _note(painter, box)
    painter.restore()


def _edited(painter: QPainter, box: QRect) -> None:
    corner = QPolygonF(
        [
            QPointF(box.left(), box.top()),
            QPointF(box.left() + CORNER, box.top()),
            QPointF(box.left(), box.top() + CORNER),
        ]
    )
    painter.setPen(QPen(QColor("white"), 1))
    painter.setBrush(EDITED_COLOR)
    painter.drawPolygon(corner)


def _badge(box: QRect) -> QRectF:
    return QRectF(box.right() - BADGE - 1, box.top() + 1, BADGE, BADGE)


def _reviewed(painter: QPainter, box: QRect) -> None:
    disc = _badge(box)
    painter.setPen(QPen(QColor("white"), 1))
    painter.setBrush(REVIEWED_COLOR)
    painter.drawEllipse(disc)
    tick = QPainterPath(QPointF(disc.left() + 3.5, disc.center().y()))
    tick.lineTo(disc.left() + 6, disc.bottom() - 4)
    tick.lineTo(disc.right() - 3, disc.top() + 4)
    painter.setPen(QPen(QColor("white"), 2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(tick)


def _flagged(painter: QPainter, box: QRect) -> None:
    badge = _badge(box)
    painter.setPen(QPen(QColor("white"), 1))
    painter.setBrush(QColor(255, 255, 255, 200))
    painter.drawRoundedRect(badge, 3, 3)
    pole_x = badge.left() + 4
    painter.setPen(QPen(FLAGGED_COLOR.darker(130), 1.5))
    painter.drawLine(QPointF(pole_x, badge.top() + 2), QPointF(pole_x, badge.bottom() - 2))
    flag = QPolygonF(
        [
            QPointF(pole_x, badge.top() + 2.5),
            QPointF(badge.right() - 2, badge.top() + 5),
            QPointF(pole_x, badge.top() + 8),
        ]
    )
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(FLAGGED_COLOR)
    painter.drawPolygon(flag)


def _excluded(painter: QPainter, box: QRect) -> None:
    painter.fillRect(box, EXCLUDED_FILL)
    painter.setPen(QPen(QColor(90, 90, 90), 2))
    painter.drawLine(box.bottomLeft(), box.topRight())


def _note(painter: QPainter, box: QRect) -> None:
    size = 10
    corner = QPolygonF(
        [
            QPointF(box.right(), box.bottom() - size),
            QPointF(box.right(), box.bottom()),
            QPointF(box.right() - size, box.bottom()),
        ]
    )
    painter.setPen(QPen(QColor(150, 120, 0), 1))
    painter.setBrush(NOTE_COLOR)
    painter.drawPolygon(corner)
