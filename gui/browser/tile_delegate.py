"""How one tile of the grid is painted: thumbnail, label, prediction, right/wrong frame, errors."""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QPixmap, QStaticText, QTransform
from PySide6.QtWidgets import QAbstractItemView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from core.evaluation.selection import RIGHT, WRONG
from gui.browser.boxes import paint_boxes
from gui.browser.colors import ERROR_FILL, LOADING_FILL, RIGHT_COLOR, WRONG_COLOR
from gui.browser.grid_model import Tile, TileRole
from gui.browser.thumbnails import THUMB_SIZE
from gui.browser.tile_grid import TileGrid
from gui.browser.tile_marks import paint_marks

PAD = 4
STATIC_TEXTS = 4096  # lines kept laid out (a few screens of distinct labels and predictions)
LINE = 15
TILE_SIZE = QSize(THUMB_SIZE + 2 * PAD + 8, THUMB_SIZE + 2 * PAD + 2 * LINE + 4)


class TileStyle(NamedTuple):
    """What every tile of one paint shares, read from the view's option once per paint rather than per tile
    (a palette's colours, fonts and metrics read per tile were a fifth of a scroll step's paint)."""

    text: QColor
    base: QColor
    hover: QColor  # the tile's background under the mouse
    highlight: QColor  # the selected tile's outline
    tint: QColor  # the selected tile's (translucent) background
    loading: dict  # the tile's background's rgba -> the opaque colour of a decoding thumbnail's box over it
    font: QFont
    metrics: QFontMetrics
    bold: QFont
    bold_metrics: QFontMetrics
    font_key: str  # QFont.key() of font and bold: a laid-out line is kept per text and font
    bold_key: str


def tile_style(option: QStyleOptionViewItem) -> TileStyle:
    palette = option.palette
    tint = QColor(palette.highlight().color())
    tint.setAlpha(60)
    bold = QFont(option.font)
    bold.setBold(True)
    return TileStyle(
        palette.text().color(),
        palette.base().color(),
        palette.alternateBase().color(),
        palette.highlight().color(),
        tint,
        {},
        option.font,
        option.fontMetrics,
        bold,
        QFontMetrics(bold),
        option.font.key(),
        bold.key(),
    )


class TileDelegate(QStyledItemDelegate):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: (text, font key) -> (its laid-out QStaticText, width, height): the tiles' lines, bounded.
        self._static: dict[tuple[str, str], tuple[QStaticText, int, int]] = {}
        self._elisions: dict[tuple[str, int, str], str] = {}  # (label, width, font key) -> the line shown

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return TILE_SIZE

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        State = QStyle.StateFlag
        selected, hover = bool(option.state & State.State_Selected), bool(option.state & State.State_MouseOver)
        self.paint_tile(painter, option.rect, index, tile_style(option), selected, hover)

    #: The style of a whole paint (TileGrid reads it once per paint event).
    tile_style = staticmethod(tile_style)

    def paint_tile(
        self,
        painter: QPainter,
        rect: QRect,
        index: QModelIndex | QPersistentModelIndex,
        style: TileStyle,
        selected: bool,
        hover: bool,
    ) -> None:
        """One tile in ``rect``: what :meth:`paint` draws, with the style read once for the whole grid
        (:class:`~gui.browser.tile_grid.TileGrid` calls this directly)."""
        shown: Tile | None = index.data(TileRole)  # one call for every field (a cache miss schedules the decode)
        painter.save()
        # Nearest-neighbour when the painter scales (HiDPI): small images stay sharp.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        tile = rect.adjusted(2, 2, -2, -2)
        background = style.base
        if selected:
            # A tinted tile with a strong outline: the green/red prediction text stays readable.
            painter.fillRect(tile, style.tint)
            background = blend(style.tint, background)
            painter.setPen(QPen(style.highlight, 2))
            painter.drawRect(tile.adjusted(1, 1, -1, -1))
        elif hover:
            background = style.hover
            painter.fillRect(tile, background)

        box = QRect(tile.center().x() - THUMB_SIZE // 2, tile.top() + PAD, THUMB_SIZE, THUMB_SIZE)
        if shown is None:  # no dataset
            painter.restore()
            return
        if shown.error:
            self._paint_error(painter, box, shown.error)
        elif shown.loading:
            # Opaque: a translucent fill costs ten times as much, and a scroll step paints ~50 of them.
            key = background.rgba()
            fill = style.loading.get(key)
            if fill is None:
                fill = style.loading[key] = blend(LOADING_FILL, background)
            painter.fillRect(box, fill)
        elif isinstance(shown.pixmap, QPixmap):
            size = shown.pixmap.deviceIndependentSize().toSize()
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(box.center())
            painter.drawPixmap(target, shown.pixmap)
            self._paint_boxes(painter, target, shown.boxes)

        outcome = shown.outcome
        if outcome in (RIGHT, WRONG):
            wrong = outcome == WRONG
            pen = QPen(WRONG_COLOR if wrong else RIGHT_COLOR, 3 if wrong else 1.5)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(box.adjusted(-2, -2, 1, 1))
        if shown.edited or shown.status or shown.note:
            paint_marks(painter, box, shown.edited, shown.status, bool(shown.note))

        text = QRect(tile.left() + 2, box.bottom() + 4, tile.width() - 4, LINE)
        tags = shown.tags
        if tags is not None:
            line = fit_names(tags, text.width(), style.metrics)
        else:
            line = self._elided(shown.label, text.width(), style)
        self._text(painter, text, line, style.text, style.font, style.metrics, style.font_key)
        wrong = outcome == WRONG
        color = WRONG_COLOR if wrong else RIGHT_COLOR if outcome == RIGHT else style.text
        prediction, predicted_tags = shown.prediction, shown.predicted_tags
        if prediction is not None or predicted_tags is not None:
            font, metrics, key = (
                (style.bold, style.bold_metrics, style.bold_key)
                if wrong
                else (style.font, style.metrics, style.font_key)
            )
            if prediction is not None:
                line = prediction_line(str(prediction), text.width(), metrics)
            else:
                line = differences_line(tags or [], predicted_tags, text.width(), metrics)
            self._text(painter, text.translated(0, LINE), line, color, font, metrics, key)
        painter.restore()

    def _paint_boxes(self, painter: QPainter, target: QRect, boxes) -> None:
        """The objects over a box dataset's thumbnail; labels only over boxes wide enough for them."""
        if boxes is None:
            return
        size, drawn = boxes
        paint_boxes(painter, QRectF(target), size, drawn, labels=True, width=1.5)

    def _elided(self, label: str, width: int, style: TileStyle) -> str:
        """``label`` elided in its middle to ``width`` pixels, kept per label (they recur on every screen)."""
        key = (label, width, style.font_key)
        line = self._elisions.get(key)
        if line is None:
            if len(self._elisions) >= STATIC_TEXTS:
                self._elisions.clear()
            line = self._elisions[key] = style.metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, width)
        return line

    def _text(
        self,
        painter: QPainter,
        rect: QRect,
        text: str,
        color: QColor,
        font: QFont,
        metrics: QFontMetrics,
        font_key: str,
    ) -> None:
        """``text`` centred in ``rect``: a QStaticText per line and font, laid out once (drawText laid the line
        out on every paint, a fifth of a tile's time), as the same few class names recur on every screen."""
        key = (text, font_key)
        static = self._static.get(key)
        if static is None:
            if len(self._static) >= STATIC_TEXTS:
                self._static.clear()
            laid_out = QStaticText(text)
            laid_out.setTextFormat(Qt.TextFormat.PlainText)  # a label such as "<b>" is text, not markup
            laid_out.prepare(QTransform(), font)
            static = self._static[key] = (laid_out, metrics.horizontalAdvance(text), metrics.height())
        line, width, height = static
        painter.setFont(font)
        painter.setPen(color)
        x, y = rect.left() + (rect.width() - width) / 2, rect.top() + (rect.height() - height) / 2
        painter.drawStaticText(QPointF(x, y), line)

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


def blend(color: QColor, background: QColor) -> QColor:
    """The opaque colour of translucent ``color`` painted over opaque ``background``."""
    a = color.alphaF()
    return QColor.fromRgbF(*(c * a + b * (1 - a) for c, b in zip(color.getRgbF()[:3], background.getRgbF()[:3])))


def short_reason(error: str) -> str:
    """What fits on a tile: "cannot decode" of "0012.png: cannot decode (OSError: ...)"; the tooltip has all."""
    reason = error.split(": ", 1)[-1]
    return reason.split(" (", 1)[0][:40]


def fit_names(names: list[str], width: int, metrics: QFontMetrics, prefix: str = "") -> str:
    """As many of ``names`` as fit in ``width`` pixels, then "+N" for the rest: "Smiling, Young +8"."""
    if not names:
        return prefix.strip()
    best = ""
    for k in range(1, len(names) + 1):
        rest = len(names) - k
        text = prefix + ", ".join(names[:k]) + (f" +{rest}" if rest else "")
        if metrics.horizontalAdvance(text) > width:
            break
        best = text
    if best:
        return best
    suffix = f" +{len(names) - 1}" if len(names) > 1 else ""
    room = width - metrics.horizontalAdvance(prefix + suffix)
    return prefix + metrics.elidedText(names[0], Qt.TextElideMode.ElideRight, max(room, 0)) + suffix


def prediction_line(prediction: str, width: int, metrics: QFontMetrics) -> str:
    """The tile's prediction in ``width`` pixels: "pred: 2 TP · 1 FN" when it fits, else without "pred: ", else
    cut at its end ("2 TP · 1 F…"): the start says most (the class, the true positives), never "pred: …· 1 FN"."""
    for text in (f"pred: {prediction}", prediction):
        if metrics.horizontalAdvance(text) <= width:
            return text
    return metrics.elidedText(prediction, Qt.TextElideMode.ElideRight, width)


def differences_line(truth: list[str], predicted: list[str], width: int, metrics: QFontMetrics) -> str:
    """A multilabel prediction on one line: "−Smiling +Bald" (missed, extra) when the names fit,
    else "2 missed, 3 extra"; "pred: all right" when there is no difference."""
    missed = [f"−{name}" for name in truth if name not in predicted]
    extra = [f"+{name}" for name in predicted if name not in truth]
    if not missed and not extra:
        return "pred: all right"
    names = " ".join(missed + extra)
    if metrics.horizontalAdvance(names) <= width:
        return names
    counts = [f"{len(missed)} missed"] * bool(missed) + [f"{len(extra)} extra"] * bool(extra)
    text = ", ".join(counts)
    return text if metrics.horizontalAdvance(text) <= width else f"−{len(missed)} +{len(extra)}"


class GridView(TileGrid):
    def keyboardSearch(self, search: str) -> None:
        """No jumping to a tile by typing its label: letters are labeling keys here."""

    def repaint_row(self, row: int) -> None:
        """Paint one tile again (-1: all tiles on screen), without any relayout."""
        if row < 0:
            self.viewport().update()
            return
        rect = self.visualRect(self.model().index(row, 0))
        if rect.intersects(self.viewport().rect()):
            self.viewport().update(rect)


def make_grid_view(model: QAbstractItemModel, parent: QWidget | None = None) -> GridView:
    """The thumbnail grid: a wrapping grid of fixed-size tiles painted by :class:`TileDelegate`."""
    # TileGrid places a tile by arithmetic on its row: a model reset, a scroll step or a selection
    # costs the tiles on screen only (QListView's IconMode built an item per row on every reset:
    # seconds at 1.28M rows). The model never sends dataChanged for thumbnails, predictions or
    # labels: it asks the view to repaint (repaint_requested) and data() reads the current values.
    view = GridView(TILE_SIZE, parent)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # label many at once
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.setMouseTracking(True)
    view.setItemDelegate(TileDelegate(view))
    view.setModel(model)
    model.repaint_requested.connect(view.repaint_row)
    view.setToolTip("")
    return view
