"""The thumbnail grid's view (gui.browser.tile_grid): a reset costs the tiles on screen, not the rows."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QPoint, QRect, Qt
from PySide6.QtWidgets import QAbstractItemView

from gui.browser.grid_model import SampleGridModel
from gui.browser.thumbnails import ThumbnailLoader
from gui.browser.tile_delegate import TILE_SIZE, make_grid_view


class CountingModel(SampleGridModel):
    """The real grid model, counting how often the view asks for its row count."""

    calls = 0

    def rowCount(self, parent=None):
        CountingModel.calls += 1
        return super().rowCount(parent) if parent is not None else super().rowCount()


def grid(qtbot, rows: int):
    model = CountingModel(ThumbnailLoader())
    model._row_of = np.full(rows, -1, dtype=np.int64)  # a dataset of `rows` samples, none read
    view = make_grid_view(model)
    qtbot.addWidget(view)
    view.resize(TILE_SIZE.width() * 4 + 40, TILE_SIZE.height() * 3)
    view.show()
    qtbot.waitExposed(view)
    return model, view


def test_showing_a_million_rows_asks_the_model_a_handful_of_times(qtbot):
    model, view = grid(qtbot, 1_000_000)
    CountingModel.calls = 0
    model.set_rows(np.arange(1_000_000)[::-1])
    qtbot.wait(50)
    assert CountingModel.calls < 50  # QListView's IconMode asked once per row: a million calls, seconds
    assert view.verticalScrollBar().maximum() > 0


def test_tiles_wrap_in_rows_and_points_find_them(qtbot):
    model, view = grid(qtbot, 10)
    model.set_rows(np.arange(10))
    columns = view.columns()
    assert columns == 4
    w, h = TILE_SIZE.width(), TILE_SIZE.height()
    assert view.visualRect(model.index(5)) == QRect(w, h, w, h)
    assert view.indexAt(QPoint(w + 3, h + 3)).row() == 5
    assert not view.indexAt(QPoint(3 * w, 2 * h + 3)).isValid()  # past the last of 10 tiles (row 11)
    view.setCurrentIndex(model.index(1))
    down = view.moveCursor(QAbstractItemView.CursorAction.MoveDown, Qt.KeyboardModifier.NoModifier)
    assert down.row() == 5


def test_a_rectangle_selects_the_tiles_it_touches_and_ctrl_a_everything(qtbot):
    model, view = grid(qtbot, 10)
    model.set_rows(np.arange(10))
    w, h = TILE_SIZE.width(), TILE_SIZE.height()
    view.setSelection(QRect(w + 2, 2, w, h), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    assert sorted(i.row() for i in view.selectedIndexes()) == [1, 2, 5, 6]
    view.selectAll()
    assert len(view.selectedIndexes()) == 10


def test_scrolling_to_a_tile_brings_it_on_screen(qtbot):
    model, view = grid(qtbot, 1000)
    model.set_rows(np.arange(1000))
    view.scrollTo(model.index(999))
    rect = view.visualRect(model.index(999))
    assert view.viewport().rect().contains(rect.center())


def test_a_tiles_prediction_keeps_its_start_and_drops_the_prefix_before_cutting(qapp):
    """ "pred: 2 TP · 1 FN" on a wide tile; without "pred: " when only that fits; cut at the end past that,
    never "pred: …· 1 FN" (the middle elided, its start lost)."""
    from PySide6.QtGui import QFont, QFontMetrics

    from gui.browser.tile_delegate import TILE_SIZE, prediction_line

    font = QFont()
    font.setBold(True)
    metrics = QFontMetrics(font)
    full, counts = "pred: 2 TP · 1 FN", "2 TP · 1 FN"
    assert prediction_line(counts, metrics.horizontalAdvance(full), metrics) == full
    assert prediction_line(counts, metrics.horizontalAdvance(full) - 1, metrics) == counts
    cut = prediction_line(counts, metrics.horizontalAdvance(counts) - 4, metrics)
    assert cut.endswith("…") and counts.startswith(cut[:-1]) and len(cut) > 2
    assert prediction_line("cat", TILE_SIZE.width() - 8, metrics) == "pred: cat"
