"""Keeping the garbage collector's pauses out of scrolling.

A dataset of ImageNet's size brings lists of 1.28M sample ids (and a run another). CPython's cyclic collector
walks every element of a container in each generation it sits in: the first drag after opening stalled 40 ms
in a collection of the young generations that the new lists were still in, and every full collection walked
them again (~130 ms), due whenever enough thumbnails had survived since the last one. :func:`settle` runs one
collection at a moment the user already waits (a dataset or a run arriving) and then freezes what survived
(``gc.freeze``): later collections skip those objects. They are still freed by their reference counts when
dropped; cycles among them wait for the next :func:`settle`, which unfreezes everything first.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect now, then leave every surviving object out of later collections until the next call."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
