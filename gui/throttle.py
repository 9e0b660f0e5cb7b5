"""Calls that come at most once per interval (throttled) or once things are quiet (debounced), on the GUI thread.

The same behaviour as superqt's ``qthrottled``/``qdebounced`` (KDToolBox's signal throttler), which the panes
used: kept here because importing superqt imports qtpy and its Qt modules (OpenGL among them), a third of a
second that the panes' first paint would wait for. A call made while the timer runs is held back; only the last
one's arguments are kept.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import MethodType
from weakref import WeakMethod

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer


def throttled(func: Callable, timeout: int = 100, leading: bool = True, parent: QObject | None = None) -> Throttled:
    """``func`` called at most once per ``timeout`` ms: at once (``leading``) and/or at the end of the interval
    with the last arguments given."""
    return Throttled(func, timeout, leading=leading, restart=False, parent=parent)


def debounced(func: Callable, timeout: int = 100, leading: bool = False, parent: QObject | None = None) -> Throttled:
    """``func`` called once no call came for ``timeout`` ms (each call restarts the wait), with the last
    arguments given; with ``leading``, also at once when the wait was not running."""
    return Throttled(func, timeout, leading=leading, restart=True, parent=parent)


class Throttled(QObject):
    """A callable that holds calls of ``func`` back; ``cancel()`` drops a held call, ``flush()`` makes it now."""

    def __init__(
        self, func: Callable, timeout: int, *, leading: bool, restart: bool, parent: QObject | None = None
    ) -> None:
        owner = getattr(func, "__self__", None)
        if parent is None and isinstance(owner, QObject):
            parent = owner  # deleted with the object whose method it calls: no late call on a deleted widget
        super().__init__(parent)
        self._func = _weak(func)  # a bound method's object may own this: no cycle that keeps it alive
        self._max_args = _max_positional(func)  # a signal connected to it may pass more than func takes
        self._leading = leading
        self._restart = restart
        self._pending = False
        self._args: tuple = ()
        self._kwargs: dict = {}
        self._timer = QTimer(self, singleShot=True, interval=timeout, timerType=Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.flush)

    def __call__(self, *args, **kwargs) -> None:
        if not shiboken6.isValid(self):  # deleted with its parent, whose last signals may still call it
            return
        self._pending = True
        self._args, self._kwargs = args, kwargs
        running = self._timer.isActive()
        if self._leading and not running:
            self._call()
        elif self._restart or not running:
            self._timer.start()

    @property
    def pending(self) -> bool:
        """A call is held back, to be made when the interval ends."""
        return self._pending

    def cancel(self) -> None:
        """Drop the held call, if any."""
        self._pending = False

    def flush(self) -> None:
        """Make the held call now, if any."""
        if self._pending:
            self._call()

    def _call(self) -> None:
        self._pending = False
        self._timer.start()  # the interval starts again: the next call waits for its end
        args = self._args if self._max_args is None else self._args[: self._max_args]
        self._func(*args, **self._kwargs)


def _weak(func: Callable) -> Callable:
    if not isinstance(func, MethodType):
        return func
    method = WeakMethod(func)

    def call(*args, **kwargs):
        bound = method()
        if bound is not None:  # else its object is gone, and so is what it would update
            bound(*args, **kwargs)

    return call


def _max_positional(func: Callable) -> int | None:
    """How many positional arguments ``func`` takes (None: any number, or it cannot tell)."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return None
    kinds = [parameter.kind for parameter in parameters]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(kind in positional for kind in kinds)
