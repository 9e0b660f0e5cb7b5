"""The embedding map's side parts: the legend of categories (click one to select its points), the colour
bar of a number, and the card that shows the sample under the mouse pointer."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QLinearGradient, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.metrics.map_colours import MISSING_COLOUR, Colouring, point_colours

#: The hover card's thumbnail fits in this square (pixels).
THUMBNAIL_PX = 128
#: Where the card sits from the pointer (pixels): off the point, so that the point stays visible.
CARD_OFFSET = 16


def swatch(rgb, size: int = 12) -> QIcon:
    """A small round icon of one colour."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setPen(QColor(*rgb).darker(140))
    painter.setBrush(QColor(*rgb))
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


class CategoryLegend(QListWidget):
    """One row per category with its colour and count; a click selects the category's points
    (with Ctrl or Shift held: adds them to the selection). Code -1 is the row of points without one."""

    category_clicked = Signal(int, bool)  # (category code, add to the selection)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("Click a category to select its points (Ctrl or Shift: add them to the selection)")
        self.setIconSize(QSize(12, 12))
        # a row is a button, not a selection of its own: the map shows what is selected (and Esc clears it)
        self.setSelectionMode(QAbstractItemView.NoSelection)
        self.itemClicked.connect(self._clicked)

    def set_colouring(self, colouring: Colouring, shown: np.ndarray) -> None:
        """Rows for ``colouring``'s categories, counting only the points ``shown`` (a mask) on the map."""
        self.clear()
        codes = colouring.values[shown]
        counts = np.bincount(codes[codes >= 0], minlength=len(colouring.names))
        for code, (name, count) in enumerate(zip(colouring.names, counts)):
            self._add(code, f"{name} ({count:,})", colouring.palette[code], count)
        missing = int((codes < 0).sum())
        if missing:
            self._add(-1, f"none ({missing:,})", MISSING_COLOUR, missing)

    def _add(self, code: int, text: str, rgb, count: int) -> None:
        item = QListWidgetItem(swatch(tuple(int(v) for v in rgb)), text)
        item.setData(Qt.UserRole, code)
        if not count:
            item.setFlags(Qt.NoItemFlags)  # nothing to select: shown greyed, for the names to be complete
        self.addItem(item)

    def _clicked(self, item: QListWidgetItem) -> None:
        add = bool(QApplication.keyboardModifiers() & (Qt.ControlModifier | Qt.ShiftModifier))
        self.category_clicked.emit(int(item.data(Qt.UserRole)), add)


class ColourBar(QWidget):
    """A vertical ramp, high at the top, with the values at its ends and middle, and the name of the number."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = ""
        self.table = np.zeros((0, 3), np.uint8)
        self.ticks: list[tuple[float, float]] = []
        self.missing = 0
        self.setMinimumSize(90, 120)

    def set_colouring(self, name: str, colouring: Colouring, shown: np.ndarray) -> None:
        self.name = name
        self.table = point_colours(colouring)[0][:-1]
        self.ticks = colouring.ramp_ticks(3)
        self.missing = int(colouring.missing()[shown].sum())
        self.update()

    def paintEvent(self, event) -> None:
        if not len(self.table):
            return
        painter = QPainter(self)
        metrics = painter.fontMetrics()
        line = metrics.height()
        top, bottom = 2 * line, self.height() - (line + 6 if self.missing else line // 2 + 2)
        bar = QRect(4, top, 14, max(bottom - top, 10))
        gradient = QLinearGradient(0, bar.bottom(), 0, bar.top())
        for k, rgb in enumerate(self.table):
            gradient.setColorAt(k / max(len(self.table) - 1, 1), QColor(*(int(v) for v in rgb)))
        painter.fillRect(bar, gradient)
        painter.setPen(self.palette().text().color())
        painter.drawText(QRect(0, 0, self.width(), line + 2), Qt.AlignLeft | Qt.AlignVCenter, self.name)
        for where, value in self.ticks:
            y = int(bar.bottom() - where * bar.height())
            painter.drawLine(bar.right() + 1, y, bar.right() + 4, y)
            painter.drawText(QRect(bar.right() + 7, y - line // 2, self.width(), line), Qt.AlignVCenter, f"{value:.3g}")
        if self.missing:
            painter.fillRect(QRect(4, self.height() - line - 2, 14, line - 4), QColor(*MISSING_COLOUR))
            painter.drawText(QRect(24, self.height() - line - 4, self.width(), line), 0, f"none ({self.missing:,})")
        painter.end()


class MapLegend(QStackedWidget):
    """The legend of the current colouring: a category list or a colour bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.categories = CategoryLegend()
        self.bar = ColourBar()
        self.addWidget(self.categories)
        self.addWidget(self.bar)
        self.setMinimumWidth(110)
        self.setMaximumWidth(220)

    def set_colouring(self, name: str, colouring: Colouring, shown: np.ndarray) -> None:
        if colouring.is_categorical:
            self.categories.set_colouring(colouring, shown)
            self.setCurrentWidget(self.categories)
        else:
            self.bar.set_colouring(name, colouring, shown)
            self.setCurrentWidget(self.bar)


def fit_thumbnail(pixmap: QPixmap, side: int = THUMBNAIL_PX) -> QPixmap:
    """The image within a ``side`` square: smoothly shrunk when larger, enlarged by a whole factor with its
    pixels kept sharp when smaller (a 28 x 28 digit is worth seeing as pixels, not as a blur)."""
    largest = max(pixmap.width(), pixmap.height())
    if largest > side:
        return pixmap.scaled(side, side, Qt.KeepAspectRatio, Qt.SmoothTransformation)
    factor = side // largest
    if factor <= 1:
        return pixmap
    return pixmap.scaled(pixmap.width() * factor, pixmap.height() * factor, Qt.KeepAspectRatio, Qt.FastTransformation)


class HoverCard(QFrame):
    """The sample under the pointer: its thumbnail and a line about it, drawn over the map."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("MapHoverCard")
        self.setStyleSheet(
            "#MapHoverCard { background: palette(tooltip-base); border: 1px solid #888; border-radius: 3px; }"
            "#MapHoverCard QLabel { color: palette(tooltip-text); }"
        )
        self.setAttribute(Qt.WA_TransparentForMouseEvents)  # the map under it keeps the pointer's events
        self.image = QLabel(alignment=Qt.AlignCenter)
        self.text = QLabel(wordWrap=True)
        self.text.setMinimumWidth(180)  # a line of a few words, not a column of single words
        self.text.setMaximumWidth(260)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addWidget(self.image)
        layout.addWidget(self.text)
        self.index: int | None = None
        self._near = QPoint()
        self.hide()

    def show_sample(self, index: int, image: QImage | QPixmap | None, text: str, near: QPoint) -> None:
        """Show ``image`` (scaled to fit THUMBNAIL_PX) and ``text`` next to ``near`` (parent coordinates),
        inside the parent."""
        self.index, self._near = index, near
        self.text.setText(text)
        self.text.setVisible(bool(text))
        self._set_image(image)
        self.show()
        self.raise_()

    def set_image(self, index: int, image: QImage | QPixmap | None) -> None:
        """The thumbnail of sample ``index`` arrived (loaded in the background): shown if the card still
        shows that sample."""
        if self.index == index and self.isVisible():
            self._set_image(image)

    def _set_image(self, image: QImage | QPixmap | None) -> None:
        pixmap = QPixmap.fromImage(image) if isinstance(image, QImage) else image
        if pixmap is not None and not pixmap.isNull():
            self.image.setPixmap(fit_thumbnail(pixmap))
            self.image.show()
        else:
            self.image.clear()
            self.image.hide()
        self.adjustSize()
        self.move(self._place(self._near))

    def _place(self, near: QPoint) -> QPoint:
        """Below right of the pointer, flipped to the other side where the parent would cut the card off."""
        area, size = self.parentWidget().rect(), self.size()
        x, y = near.x() + CARD_OFFSET, near.y() + CARD_OFFSET
        if x + size.width() > area.right():
            x = near.x() - CARD_OFFSET - size.width()
        if y + size.height() > area.bottom():
            y = near.y() - CARD_OFFSET - size.height()
        return QPoint(max(x, 0), max(y, 0))

    def dismiss(self) -> None:
        self.index = None
        self.hide()
