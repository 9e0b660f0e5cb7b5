"""Keeping the garbage collector's pauses out of scrolling.

A dataset of ImageNet's size brings lists of 1.28M sample ids (and a run another). CPython's cyclic collector
walks every element of a container in each generation it sits in: the first drag after opening stalled 40 ms
in a collection of the young generations that the new lists were still in, and every full collection walked
them again (~130 ms), due whenever enough thumbnails had survived since the last one. :func:`settle` runs one
collection at a moment the user already waits (a dataset or a run arriving) and then freezes what survived
(``gc.freeze``): later collections skip those objects.

Frozen objects are still freed by their reference counts when dropped; only cycles among them wait. Sweeping the
frozen objects too walks the whole heap (0.2 s once torch is imported), so :func:`settle` sweeps only when the
last sweep is long enough ago that sweeps take at most ``SWEEP_SHARE`` of the time: a dataset opened minutes
after the last one sweeps, a run started right after opening one does not (its cycles wait for the next).
"""

from __future__ import annotations

import gc
import time

#: The most of the time between two sweeps that the sweeps may take.
SWEEP_SHARE = 0.02

_swept_at = float("-inf")  # time.monotonic() at the end of the last sweep
_sweep_cost = 0.0  # seconds it took


def settle() -> None:
    """Collect the objects made since the last call, then leave the survivors out of later collections."""
    global _swept_at, _sweep_cost
    start = time.monotonic()
    sweep = start - _swept_at >= _sweep_cost / SWEEP_SHARE
    if sweep:
        gc.unfreeze()
    gc.collect()
    gc.freeze()
    if sweep:
        _swept_at = time.monotonic()
        _sweep_cost = _swept_at - start
