"""Importing torch from worker threads, one thread at a time.

Two threads that import torch at the same moment can see it half-initialised (Python's import
deadlock avoidance hands the second thread the partial module: "'prims' object has no attribute
'sum'"). Every worker that may touch torch calls :func:`import_torch` first; the first caller
imports it, the others wait for that and then find it in sys.modules.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()


def import_torch() -> None:
    """Import torch and torchvision, serialised across threads (instant once done)."""
    with _lock:
        import torch  # noqa: F401
        import torchvision  # noqa: F401


def with_torch(function):
    """``function`` wrapped so that it first waits for a complete torch import."""

    def call(*args, **kwargs):
        import_torch()
        return function(*args, **kwargs)

    call.__name__ = getattr(function, "__name__", "call")
    call.__doc__ = function.__doc__
    return call
