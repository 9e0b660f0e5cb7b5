"""Thumbnails: decoded off the GUI thread, only for tiles on screen, into a bounded cache."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.datasets import Dataset
from gui.browser import BrowserPane
from gui.browser.grid_model import LoadingRole
from gui.browser.thumbnails import ThumbnailLoader, make_thumbnail


class SyntheticDataset(Dataset):
    """``n`` generated 8x8 images in 10 classes; records which thread decoded what."""

    layout = "synthetic"

    def __init__(self, n: int, gate: threading.Event | None = None) -> None:
        super().__init__(
            "synthetic",
            task="multiclass",
            classes=[str(c) for c in range(10)],
            splits=[],
            split=None,
            sample_ids=[f"{i:06d}" for i in range(n)],
            targets=np.arange(n) % 10,
        )
        self.gate = gate
        self.started = threading.Event()
        self.decoded: list[tuple[int, str]] = []

    def load_image(self, index: int) -> np.ndarray:
        self.started.set()
        if self.gate is not None:
            self.gate.wait(5)
        self.decoded.append((index, threading.current_thread().name))
        return np.full((8, 8, 3), index % 256, dtype=np.uint8)


@pytest.fixture
def loader(qapp):
    thumbnails = ThumbnailLoader()
    yield thumbnails
    thumbnails.shutdown()
    assert thumbnails.pool.activeThreadCount() == 0


def test_small_images_are_upscaled_sharp_with_their_aspect():
    checker = np.zeros((8, 16, 3), dtype=np.uint8)
    checker[::2, ::2] = 255
    checker[1::2, 1::2] = 255
    image = make_thumbnail(checker, 96)
    assert (image.width(), image.height()) == (96, 48)
    values = {image.pixelColor(x, y).red() for x in range(96) for y in range(48)}
    assert values == {0, 255}  # nearest-neighbour: no blurred in-between greys
    assert image.pixelColor(5, 5).red() == 255 and image.pixelColor(6, 5).red() == 0  # 6 px per pixel


def test_large_images_are_shrunk_to_fit():
    image = make_thumbnail(np.zeros((300, 200, 3), dtype=np.uint8), 96)
    assert (image.width(), image.height()) == (64, 96)


def test_thumbnails_are_decoded_off_the_gui_thread(qtbot, loader):
    dataset = SyntheticDataset(20)
    loader.set_dataset(dataset)
    assert all(loader.thumbnail(i) is None for i in range(20))  # placeholders first
    qtbot.waitUntil(lambda: len(loader) == 20)
    assert sorted(i for i, _ in dataset.decoded) == list(range(20))
    assert threading.main_thread().name not in {name for _, name in dataset.decoded}
    assert loader.thumbnail(3).width() == 96


def test_the_cache_is_bounded_and_keeps_the_most_recent(qtbot, qapp):
    loader = ThumbnailLoader(capacity=5)
    try:
        dataset = SyntheticDataset(12)
        loader.set_dataset(dataset)
        ready = []
        loader.thumbnail_ready.connect(ready.append)
        for i in range(12):
            loader.request(i)
        qtbot.waitUntil(lambda: len(ready) == 12)
        assert len(loader) == 5
        assert all(loader.is_cached(i) for i in ready[-5:])
    finally:
        loader.shutdown()


def test_requests_queued_before_a_scroll_are_dropped(qtbot, loader):
    gate = threading.Event()
    dataset = SyntheticDataset(50, gate)
    loader.pool.setMaxThreadCount(1)
    loader.set_dataset(dataset)
    for i in range(50):
        loader.request(i)
    qtbot.waitUntil(dataset.started.is_set)  # the first decode is running, 49 are queued
    loader.drop_pending()  # the user scrolled away
    gate.set()
    loader.wait()
    assert [i for i, _ in dataset.decoded] == [0]


def test_a_hundred_thousand_samples_decode_only_what_is_on_screen(qtbot, app_state):
    dataset = SyntheticDataset(100_000)
    pane = BrowserPane(app_state)
    qtbot.addWidget(pane)
    pane.resize(900, 600)
    try:
        pane.show()
        qtbot.waitExposed(pane)
        start = time.perf_counter()
        app_state.set_dataset(dataset)
        pane.set_class_filter(3)
        pane.set_class_filter(None)
        assert time.perf_counter() - start < 2.0
        assert pane.model.rowCount() == 100_000

        def all_visible_ready() -> bool:
            model, view = pane.model, pane.view
            rows = [r for r in range(0, 200) if view.visualRect(model.index(r)).intersects(view.viewport().rect())]
            return bool(rows) and not any(model.index(r).data(LoadingRole) for r in rows)

        qtbot.waitUntil(all_visible_ready)
        first_screen = len(dataset.decoded)
        assert 0 < first_screen < 200

        pane.view.scrollToBottom()
        last = pane.model.index(99_999)
        qtbot.waitUntil(lambda: pane.loader.is_cached(99_999))
        assert len(dataset.decoded) < 400
        rect = pane.view.visualRect(last)
        with qtbot.waitSignal(app_state.sample_selected) as blocker:
            qtbot.mouseClick(pane.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        assert blocker.args == [99_999]
    finally:
        pane.shutdown()


def test_decodes_asked_for_during_a_paint_start_after_it_and_a_scroll_meanwhile_drops_them(qtbot, loader):
    """A paint starts no decode thread (handing the GIL to one per tile stalled the paint): the misses start
    when control is back in the event loop, and those a scroll made stale never start."""
    dataset = SyntheticDataset(20)
    loader.set_dataset(dataset)
    for i in range(5):
        assert loader.thumbnail(i) is None  # a miss, as a tile's paint asks
    assert loader.pool.activeThreadCount() == 0 and dataset.decoded == []
    qtbot.waitUntil(lambda: all(loader.is_cached(i) for i in range(5)))
    for i in range(5, 10):
        loader.thumbnail(i)
    loader.drop_pending()  # scrolled away before the paint's turn ended
    for i in range(10, 12):
        loader.thumbnail(i)
    qtbot.waitUntil(lambda: loader.is_cached(10) and loader.is_cached(11))
    loader.wait()
    assert sorted(i for i, _ in dataset.decoded) == [0, 1, 2, 3, 4, 10, 11]


def test_a_tile_is_read_in_one_call_that_agrees_with_every_role(qtbot, app_state):
    from gui.browser.grid_model import (
        BoxesRole,
        EditedRole,
        ErrorRole,
        LabelRole,
        NoteRole,
        OutcomeRole,
        PredictedTagsRole,
        PredictionRole,
        StatusRole,
        TagsRole,
        TileRole,
    )

    pane = BrowserPane(app_state)
    qtbot.addWidget(pane)
    try:
        app_state.set_dataset(SyntheticDataset(30))
        index = pane.model.index(3)
        qtbot.waitUntil(lambda: pane.loader.is_cached(3) or index.data(Qt.ItemDataRole.DecorationRole) is None)
        qtbot.waitUntil(lambda: pane.loader.is_cached(3))
        tile = index.data(TileRole)
        roles = (ErrorRole, LabelRole, TagsRole, PredictionRole, PredictedTagsRole, OutcomeRole, EditedRole,
                 StatusRole, NoteRole, BoxesRole)  # fmt: skip
        fields = (tile.error, tile.label, tile.tags, tile.prediction, tile.predicted_tags, tile.outcome, tile.edited,
                  tile.status, tile.note, tile.boxes)  # fmt: skip
        assert fields == tuple(index.data(role) for role in roles)
        assert tile.label == "3" and not tile.loading and tile.pixmap.width() == 96
    finally:
        pane.shutdown()
