"""Every reader CV Lens has, registered: import this (``core.datasets`` does) before opening a dataset.

The recognising and opening itself is in :mod:`core.datasets.layouts`, below the readers.
"""

from __future__ import annotations

import core.datasets.readers  # noqa: F401  (importing the readers registers their layouts)
from core.datasets.layouts import Layout, find_layout, open_dataset, registered

__all__ = ["find_layout", "layouts", "open_dataset"]


def layouts() -> list[Layout]:
    """Every layout CV Lens reads, most specific first."""
    return registered()
