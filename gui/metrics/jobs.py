"""One background computation at a time, latest request wins (the GUI thread never sorts 100,000 scores)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker

from gui.workers import import_torch


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
