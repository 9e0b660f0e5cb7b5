"""Folder listing for the readers, over :mod:`core.datasets.scan` (one scan a folder per open).

A folder that cannot be listed reads as empty, and is reported into ``problems`` when the caller
collects them.
"""

from __future__ import annotations

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
