"""Fast folder listing for the readers: ``os.scandir`` only, no ``stat`` per file.

One bad entry never hides its folder: an image-named entry whose type cannot be read (a
looping or dangling-by-permission symlink) is listed, so that reading it fails on its own tile
with the reason, and a folder that cannot be listed is reported into ``problems`` when the
caller collects them.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.datasets.imageio import IMAGE_EXTENSIONS


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:  # ELOOP, EACCES...: kept, so the read error names it on its tile
        return True


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _entries(folder: Path, problems: list[str] | None) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError as exc:
        if problems is not None:
            problems.append(f"{folder}: cannot be listed ({exc.strerror or exc})")
        return []


def image_names(folder: Path, problems: list[str] | None = None) -> list[str]:
    """Sorted names of the image files directly in ``folder`` (hidden files skipped); [] if unreadable."""
    return sorted(
        e.name
        for e in _entries(folder, problems)
        if not e.name.startswith(".") and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS and _is_file(e)
    )


def subdirs(folder: Path, problems: list[str] | None = None) -> list[str]:
    """Sorted names of the visible sub-folders of ``folder``; [] if unreadable."""
    return sorted(e.name for e in _entries(folder, problems) if _is_dir(e) and not e.name.startswith("."))
