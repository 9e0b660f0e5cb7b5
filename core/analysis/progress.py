"""How the analyses report progress and learn that they should stop.

Every analysis that can take more than a second takes two optional callables: ``progress(done, total)``
(called between steps, in the caller's units of work) and ``stop()`` (asked between steps; True cancels).
A cancelled analysis raises :class:`Cancelled` and leaves nothing half-made behind. The GUI wraps them in
a worker (stop = the worker was asked to quit), the CLI passes a progress bar, the tests pass nothing.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[int, int], None]
StopFn = Callable[[], bool]


class Cancelled(Exception):
    """The caller's ``stop()`` said so between two steps."""


def step(done: int, total: int, progress: ProgressFn | None, stop: StopFn | None) -> None:
    """Report ``done`` of ``total`` and raise :class:`Cancelled` if the caller asks to stop."""
    if stop is not None and stop():
        raise Cancelled(f"stopped after {done} of {total}")
    if progress is not None:
        progress(done, total)
