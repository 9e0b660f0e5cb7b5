"""Fast folder listing for the readers: ``os.scandir`` only, no ``stat`` per file."""

from __future__ import annotations

import os
from pathlib import Path

from core.datasets.imageio import IMAGE_EXTENSIONS


def image_names(folder: Path) -> list[str]:
    """Sorted names of the image files directly in ``folder`` (hidden files skipped); [] if unreadable."""
    try:
        with os.scandir(folder) as entries:
            return sorted(
                e.name
                for e in entries
                if not e.name.startswith(".")
                and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS
                and e.is_file()
            )
    except OSError:
        return []


def subdirs(folder: Path) -> list[str]:
    """Sorted names of the visible sub-folders of ``folder``; [] if unreadable."""
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    except OSError:
        return []
