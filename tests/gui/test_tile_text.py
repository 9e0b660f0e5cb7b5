"""The tiles' lines of text (gui/browser/tile_delegate.py): laid out once, drawn centred, always as plain text."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPainter, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QListView, QStyleOptionViewItem

from core.evaluation.selection import UNKNOWN
from gui.browser.grid_model import Tile, TileRole
from gui.browser.thumbnails import THUMB_SIZE
from gui.browser.tile_delegate import LINE, PAD, STATIC_TEXTS, TILE_SIZE, TileDelegate
from tests.gui.helpers import qimage_array


def tile(label: str) -> Tile:
    return Tile(None, None, True, label, None, None, None, UNKNOWN, False, "", "", None)


def paint(qtbot, label: str, delegate: TileDelegate | None = None) -> tuple[np.ndarray, QListView]:
    """The label line of a tile whose label is ``label``, painted by the delegate; and the view it used."""
    view = QListView()
    qtbot.addWidget(view)
    model = QStandardItemModel()
    item = QStandardItem()
    item.setData(tile(label), TileRole)
    model.appendRow(item)
    delegate = delegate or TileDelegate(view)
    image = QImage(TILE_SIZE, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, TILE_SIZE.width(), TILE_SIZE.height())
    option.palette, option.font, option.fontMetrics = view.palette(), view.font(), view.fontMetrics()
    delegate.paint(painter, option, model.index(0, 0))
    painter.end()
    top = 2 + PAD + THUMB_SIZE + 4  # the first line under the thumbnail
    return qimage_array(image)[top : top + LINE], view


def ink_columns(line: np.ndarray) -> np.ndarray:
    return np.flatnonzero((line < 128).any(axis=(0, 2)))


def test_a_label_is_drawn_centred_under_the_thumbnail(qtbot):
    line, view = paint(qtbot, "airplane")
    ink = ink_columns(line)
    assert len(ink), "the label was not drawn"
    assert abs((ink[0] + ink[-1]) / 2 - TILE_SIZE.width() / 2) <= 2
    assert abs((ink[-1] - ink[0]) - view.fontMetrics().horizontalAdvance("airplane")) <= 3


def test_a_label_that_looks_like_markup_is_shown_as_typed(qtbot):
    line, view = paint(qtbot, "<b>x</b>")
    ink = ink_columns(line)
    typed = view.fontMetrics().horizontalAdvance("<b>x</b>")
    assert abs((ink[-1] - ink[0]) - typed) <= 6  # all eight characters (less side bearings), not a bold "x"


def test_the_laid_out_lines_are_bounded(qtbot):
    delegate = TileDelegate()
    for k in range(STATIC_TEXTS + 10):
        delegate._static[(f"label {k}", "font")] = None  # as many lines as the bound, then one more painted
    paint(qtbot, "one more", delegate)
    assert len(delegate._static) <= STATIC_TEXTS
