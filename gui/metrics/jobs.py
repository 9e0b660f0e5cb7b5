"""Background computations of the metrics pane, latest request wins (the GUI thread never sorts 100,000 scores):
:class:`BackgroundJob` for a function call, :class:`StoppableRun` for a long one that can be stopped between
its steps (the analysis, the label-quality pass)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal

from core.analysis import Cancelled
from gui.workers import create_worker, import_torch


def _tagged(generation: int, function: Callable, args: tuple) -> tuple[int, Any]:
    import_torch()  # losses and curves may use torch: never import it beside another thread
    return generation, function(*args)


class BackgroundJob(QObject):
    """Runs ``function(*args)`` in a worker thread and emits ``finished(result)`` on the GUI thread.

    A request made while one runs waits for it and replaces any earlier waiting request; only the
    result of the latest request is delivered, so a burst of changes costs at most two runs.
    """

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker = None
        self._pending: tuple[int, Callable, tuple] | None = None
        self._generation = 0

    @property
    def busy(self) -> bool:
        return self._worker is not None or self._pending is not None

    def submit(self, function: Callable, *args) -> None:
        self._generation += 1
        request = (self._generation, function, args)
        if self._worker is None:
            self._start(*request)
        else:
            self._pending = request

    def cancel(self) -> None:
        """Forget the waiting request and discard the running one's result."""
        self._generation += 1
        self._pending = None

    def _start(self, generation: int, function: Callable, args: tuple) -> None:
        worker = create_worker(_tagged, generation, function, args, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._returned)
        worker.errored.connect(self._errored)
        self._worker = worker
        worker.start()

    def _next(self) -> bool:
        """Start the waiting request, if any; True when one was started."""
        self._worker = None
        if self._pending is None:
            return False
        request, self._pending = self._pending, None
        self._start(*request)
        return True

    def _returned(self, tagged: tuple[int, Any]) -> None:
        generation, result = tagged
        if not self._next() and generation == self._generation:
            self.finished.emit(result)

    def _errored(self, exc: Exception) -> None:
        if not self._next():
            self.failed.emit(f"{type(exc).__name__}: {exc}")


class StoppableRun(QObject):
    """The bookkeeping of one stoppable background computation of the shown run, latest request wins.

    A subclass calls :meth:`_begin` (it stops any running one, and gives the new run's generation and stop
    event), hands its work to :meth:`_launch`, and passes every message its worker relays through
    :meth:`_current`, which is True only for the running request's generation. ``cancel`` stops it between
    two steps (the core functions raise ``Cancelled`` when ``stop()`` says so), ``_drop`` forgets it. The
    results land in :meth:`_finish` (override it); an exception is ``failed`` with its words.
    """

    reset = Signal()  # a run started, or what it found was dropped: views clear
    finished = Signal()
    failed = Signal(str)  # why it could not be made, in words
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._stop: threading.Event | None = None
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def cancel(self) -> None:
        """Stop the running request at its next step; what it found so far stays."""
        if self._stop is not None:
            self._stop.set()
        if self._running:
            self._running = False
            self._generation += 1
            self.cancelled.emit()

    def _begin(self) -> tuple[int, threading.Event]:
        """A new request: the running one (if any) is stopped and forgotten."""
        self._drop()
        self._generation += 1
        self._stop = threading.Event()
        self._running = True
        return self._generation, self._stop

    def _launch(self, work: Callable[[], Any], generation: int) -> None:
        worker = create_worker(work, _start_thread=False, _ignore_errors=True)
        # Lambdas, unlike bound methods, are not disconnected when this object is deleted (its pane closed while
        # the worker ran): they check that it still exists.
        worker.returned.connect(lambda result, g=generation: shiboken6.isValid(self) and self._returned(g, result))
        worker.errored.connect(lambda exc, g=generation: shiboken6.isValid(self) and self._errored(g, exc))
        worker.start()

    def _current(self, generation: int) -> bool:
        return generation == self._generation and self._running

    def _returned(self, generation: int, result: Any) -> None:
        if self._current(generation):
            self._running = False
            self._finish(result)
            self.finished.emit()

    def _errored(self, generation: int, exc: Exception) -> None:
        if not self._current(generation):
            return
        self._running = False
        if isinstance(exc, Cancelled):
            self.cancelled.emit()
        else:
            self.failed.emit(self._failure_text(exc))

    def _finish(self, result: Any) -> None:
        """Keep what the worker returned (before ``finished``)."""

    def _failure_text(self, exc: Exception) -> str:
        return str(exc) or type(exc).__name__

    def _found_anything(self) -> bool:
        """Whether there is something to forget (a subclass's findings)."""
        return False

    def _forget(self) -> None:
        """Drop the subclass's findings."""

    def _drop(self) -> None:
        """Forget the findings (a new run or dataset): a running request stops at its next step."""
        if self._stop is not None:
            self._stop.set()
        self._generation += 1
        was = self._found_anything() or self._running
        self._running = False
        self._forget()
        if was:
            self.reset.emit()
