"""Small lists of horizontal score bars: the top-5 classes of a prediction, the tags of a sample."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui.browser.colors import BAR_COLOR, EXTRA_COLOR, RIGHT_COLOR, WRONG_COLOR

TRACK_COLOR = QColor(128, 128, 128, 40)

#: Status of a tag in :class:`TagScores`.
HIT, MISSED, EXTRA, TRUE_TAG, OTHER = "hit", "missed", "extra", "true", "other"
_STATUS_LOOK = {  # bar colour, note after the score
    HIT: (RIGHT_COLOR, "✓"),
    MISSED: (WRONG_COLOR, "missed"),
    EXTRA: (EXTRA_COLOR, "extra"),
    TRUE_TAG: (RIGHT_COLOR, ""),
    OTHER: (BAR_COLOR, ""),
}


class ScoreBars(QWidget):
    """Rows of (name, score or None, bar colour, note); a row without a score has no bar."""

    ROW = 18

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._painted: list[tuple[str, float | None, QColor, str]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(2)

    def _set_painted(self, rows: list[tuple[str, float | None, QColor, str]]) -> None:
        self._painted = rows
        self.setFixedHeight(self.ROW * len(rows) + 2)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(200, self.ROW * len(self._painted) + 2)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        metrics = painter.fontMetrics()
        names = (metrics.horizontalAdvance(row[0]) for row in self._painted)
        name_w = min(self.width() // 3, max(names, default=0) + 12)
        note_w = max((metrics.horizontalAdvance(row[3]) for row in self._painted), default=0)
        pct_w = metrics.horizontalAdvance("100.0%") + 6 + (note_w + 6 if note_w else 0)
        bar_w = max(10, self.width() - name_w - pct_w - 6)  # 6: room before the edge (or a scroll bar)
        text = self.palette().text().color()
        for k, (name, score, color, note) in enumerate(self._painted):
            y = k * self.ROW + 1
            painter.setPen(text)
            elided = metrics.elidedText(name, Qt.TextElideMode.ElideRight, name_w - 6)
            align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            painter.drawText(QRectF(0, y, name_w - 6, self.ROW), align, elided)
            if score is not None:
                painter.fillRect(QRectF(name_w, y + 3, bar_w, self.ROW - 6), TRACK_COLOR)
                painter.fillRect(QRectF(name_w, y + 3, bar_w * max(0.0, min(1.0, score)), self.ROW - 6), color)
            label = " ".join(part for part in (f"{score:.1%}" if score is not None else "", note) if part)
            if score is None:
                painter.fillRect(QRectF(name_w, y + 5, 10, self.ROW - 10), color)
            painter.setPen(color if note and color != BAR_COLOR else text)
            painter.drawText(QRectF(name_w + bar_w, y, pct_w, self.ROW), align, label)


class TopKBars(ScoreBars):
    """The best classes of one prediction; the true label is drawn in green."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, float, bool]] = []  # class name, score, is the true label
        self.setToolTip("The model's five most likely classes; the true label is drawn in green")

    def set_rows(self, rows: list[tuple[str, float, bool]]) -> None:
        self.rows = rows
        self._set_painted([(name, score, RIGHT_COLOR if is_label else BAR_COLOR, "") for name, score, is_label in rows])


class TagScores(ScoreBars):
    """The tags of a multilabel sample and, once predicted, the model's tags with their scores.

    Rows come missed first, then extra, then right: the mistakes are what the user looks for.
    """

    ORDER = (MISSED, EXTRA, HIT, TRUE_TAG, OTHER)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, float | None, str]] = []  # tag name, score or None, status
        self.setToolTip(
            "The sample's tags and the model's: ✓ predicted and true, 'missed' true but not predicted, "
            "'extra' predicted but not true. Bars are the model's scores."
        )

    def set_rows(self, rows: list[tuple[str, float | None, str]]) -> None:
        self.rows = sorted(rows, key=lambda row: self.ORDER.index(row[2]))
        self._set_painted([(name, score, *_STATUS_LOOK[status]) for name, score, status in self.rows])
