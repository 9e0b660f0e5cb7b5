"""Floors shared by several benchmarks (the least any program must do for the same result), and the one timer
they measure ours and the floors with."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def timed(function: Callable[[], object]) -> float:
    """Wall seconds of one call of ``function``."""
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def median_seconds(function: Callable[[], object], runs: int, *, warm_up: bool) -> float:
    """Median wall seconds of ``runs`` calls of ``function``. ``warm_up``: one untimed call first, so that the
    timed ones find the file cache and the imports warm (as a second look would); each benchmark says which it
    measures at its call."""
    if warm_up:
        function()
    return statistics.median(timed(function) for _ in range(runs))


def scandir_walk(root: Path) -> int:
    """Every entry of every folder under ``root``, listed once by a bare ``os.scandir`` walk (no stat, no
    sorting, nothing else): the floor of opening a folder tree. Returns the number of files."""
    count, stack = 0, [os.fspath(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir():
                    stack.append(entry.path)
                else:
                    count += 1
    return count
