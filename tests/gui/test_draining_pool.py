"""gui/decoding.py's DrainingPool: a batch of submits wakes one thread per core, not one per task."""

from __future__ import annotations

import threading

from PySide6.QtCore import QRunnable
from PySide6.QtGui import QColor

from gui.browser.tile_delegate import blend
from gui.decoding import DrainingPool


class Note(QRunnable):
    def __init__(self, log: list, key: int, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.log, self.key, self.gate = log, key, gate
        self.running = threading.Event()

    def run(self) -> None:
        self.running.set()
        if self.gate is not None:
            self.gate.wait(5)
        self.log.append((self.key, threading.get_ident()))


def test_fifty_submits_start_at_most_one_drain_per_thread_and_run_every_task_in_order(qtbot):
    pool = DrainingPool()
    pool.setMaxThreadCount(1)
    started = []
    start = pool.start
    pool.start = lambda runnable: (started.append(runnable), start(runnable))  # count the pool's own starts
    gate, log = threading.Event(), []
    pool.submit(Note(log, 0, gate))  # holds the only thread while the rest are submitted
    for key in range(1, 50):
        pool.submit(Note(log, key))
    assert len(started) == 1
    gate.set()
    assert pool.waitForDone(5000)
    assert [key for key, _ in log] == list(range(50))
    assert len({thread for _, thread in log}) == 1
    pool.submit(Note(log, 50))  # the drain ended with the queue: a later submit wakes a thread again
    assert pool.waitForDone(5000) and log[-1][0] == 50 and len(started) == 2


def test_discarded_tasks_never_run(qtbot):
    pool = DrainingPool()
    pool.setMaxThreadCount(1)
    gate, log = threading.Event(), []
    first = Note(log, 0, gate)
    pool.submit(first)
    assert first.running.wait(5)  # taken off the queue: only the later ones are discarded
    for key in range(1, 10):
        pool.submit(Note(log, key))
    pool.discard_queued()  # a scroll: what was queued is stale
    gate.set()
    assert pool.waitForDone(5000)
    assert [key for key, _ in log] == [0]
    pool.submit(Note(log, 10))
    assert pool.waitForDone(5000) and [key for key, _ in log] == [0, 10]


def test_two_threads_share_the_queue(qtbot):
    pool = DrainingPool()
    pool.setMaxThreadCount(2)
    log: list = []
    for key in range(200):
        pool.submit(Note(log, key))
    assert pool.waitForDone(5000)
    assert sorted(key for key, _ in log) == list(range(200))


def test_the_loading_fill_is_the_translucent_grey_over_the_tile_made_opaque():
    assert blend(QColor(128, 128, 128, 40), QColor(255, 255, 255)).getRgb() == (235, 235, 235, 255)
    assert blend(QColor(0, 0, 255, 255), QColor(255, 0, 0)).getRgb() == (0, 0, 255, 255)
    assert blend(QColor(0, 0, 0, 0), QColor(10, 20, 30)).getRgb() == (10, 20, 30, 255)
