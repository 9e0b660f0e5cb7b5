"""Workers: superqt's, made through :func:`create_worker`; importing torch from worker threads, one at a time.

Two threads that import torch at the same moment can see it half-initialised (Python's import
deadlock avoidance hands the second thread the partial module: "'prims' object has no attribute
'sum'"). Every worker that may touch torch calls :func:`import_torch` first; the first caller
imports it, the others wait for that and then find it in sys.modules.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_importing = threading.Event()


def create_worker(function, *args, **kwargs):
    """superqt's ``create_worker(function, *args, **kwargs)``, superqt imported on the first one: it imports qtpy
    and its Qt modules (OpenGL among them), a third of a second that no pane's first paint needs to wait for."""
    from superqt.utils import create_worker as make

    return make(function, *args, **kwargs)


def import_torch() -> None:
    """Import torch and torchvision, serialised across threads (instant once done)."""
    with _lock:
        _importing.set()
        try:
            import torch  # noqa: F401
            import torchvision  # noqa: F401
        finally:
            _importing.clear()


def torch_import_under_way() -> bool:
    """Whether a worker is importing torch right now (the app waits for it as it quits: Python cannot stop an
    import, and one that the interpreter's exit cuts short ends in a traceback of half-torn-down modules)."""
    return _importing.is_set()


def with_torch(function):
    """``function`` wrapped so that it first waits for a complete torch import."""

    def call(*args, **kwargs):
        import_torch()
        return function(*args, **kwargs)

    call.__name__ = getattr(function, "__name__", "call")
    call.__doc__ = function.__doc__
    return call


def ready_device(device: str) -> str:
    """torch imported and ``device`` ("auto" or a name) resolved and initialised; the device it resolves to.

    A worker's first step before a run: CUDA sets itself up on first use (a second or more), so the job
    built next on the GUI thread finds everything in place and is cheap to make."""
    import_torch()
    import torch

    from core.inference import pick_device

    resolved = pick_device(device)
    if resolved.startswith("cuda"):
        torch.cuda.init()
    return resolved
