"""Folder listing for the readers, over :mod:`core.datasets.scan` (one scan a folder per open).

No reader lists a folder itself (``os.scandir``, ``glob``, ``os.walk``): everything goes through here, so
that under torchrun rank 0's listing, broadcast to the other ranks, covers every folder a reader looks into.
A folder that cannot be listed reads as empty, and is reported into ``problems`` when the caller
collects them.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.datasets.scan import listing


def image_names(folder: Path, problems: list[str] | None = None) -> list[str]:
    """Sorted names of the image files directly in ``folder`` (hidden files skipped); [] if unreadable."""
    found = listing(folder)
    if found.error and problems is not None:
        problems.append(found.error)
    return list(found.images)


def subdirs(folder: Path, problems: list[str] | None = None) -> list[str]:
    """Sorted names of the visible sub-folders of ``folder``; [] if unreadable."""
    found = listing(folder)
    if found.error and problems is not None:
        problems.append(found.error)
    return list(found.folders)


def file_names(folder: Path, prefix: str = "", suffix: str = "") -> list[str]:
    """Sorted names of the visible files directly in ``folder`` (images or not) that start with ``prefix`` and
    end with ``suffix`` (as ``glob(prefix*suffix)`` would find them, folders left out); [] if unreadable."""
    found = listing(folder)
    names = found.images + found.others
    return sorted(n for n in names if n.startswith(prefix) and n.endswith(suffix) and len(n) >= len(prefix + suffix))


def walk_images(folder: Path, problems: list[str] | None = None) -> list[str]:
    """The image files under ``folder`` at every depth, as sorted ``/``-separated paths relative to it.

    Each folder is listed once (hidden ones skipped). A linked folder is followed once: a link back to a folder
    already walked (a loop) is not walked again."""
    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    pending = [(folder, "")]
    while pending:
        here, prefix = pending.pop()
        try:
            where = os.stat(here)
        except OSError:
            where = None
        if where is not None:
            if (where.st_dev, where.st_ino) in seen:
                continue
            seen.add((where.st_dev, where.st_ino))
        listed = listing(here)
        if listed.error and problems is not None:
            problems.append(listed.error)
        found += [prefix + name for name in listed.images]
        pending += [(here / name, f"{prefix}{name}/") for name in listed.folders]
    return sorted(found)
