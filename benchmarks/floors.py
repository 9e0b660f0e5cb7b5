"""Floors shared by several benchmarks: the least any program must do for the same result."""

from __future__ import annotations

import os
from pathlib import Path


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
