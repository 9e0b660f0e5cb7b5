"""Quitting: queued workers never start, running ones get a few seconds, an import of torch under way is let
finish (cut short by the interpreter's exit, it printed a traceback of half-torn-down torch modules)."""

import threading
import time

from PySide6.QtCore import QRunnable, QThreadPool

import gui.app as app
import gui.workers as workers


class Job(QRunnable):
    def __init__(self, seconds: float, done: list, importing: bool = False) -> None:
        super().__init__()
        self.seconds, self.done, self.importing = seconds, done, importing

    def run(self) -> None:
        if self.importing:
            workers._importing.set()
        try:
            time.sleep(self.seconds)
        finally:
            if self.importing:
                workers._importing.clear()
        self.done.append(self.seconds)


def _pool() -> QThreadPool:
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    return pool


def _wait_until_running(pool: QThreadPool) -> None:
    deadline = time.monotonic() + 5
    while pool.activeThreadCount() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)


def test_queued_workers_do_not_start_and_running_ones_finish():
    pool, done = _pool(), []
    pool.start(Job(0.3, done))
    pool.start(Job(0.01, done))  # queued behind the first: dropped
    _wait_until_running(pool)
    app._wait_for_workers(pool)
    assert done == [0.3]


def test_an_import_of_torch_under_way_is_waited_for(monkeypatch):
    monkeypatch.setattr(app, "QUIT_WAIT_S", 0.1)
    pool, done = _pool(), []
    pool.start(Job(0.6, done, importing=True))
    assert workers._importing.wait(5)
    app._wait_for_workers(pool)
    assert done == [0.6] and not workers.torch_import_under_way()


def test_other_work_gets_only_the_quit_wait(monkeypatch):
    monkeypatch.setattr(app, "QUIT_WAIT_S", 0.1)
    pool, release = _pool(), threading.Event()

    class Stuck(QRunnable):
        def run(self) -> None:
            release.wait(10)

    pool.start(Stuck())
    _wait_until_running(pool)
    start = time.monotonic()
    app._wait_for_workers(pool)
    assert time.monotonic() - start < 2
    release.set()
    pool.waitForDone(5000)
