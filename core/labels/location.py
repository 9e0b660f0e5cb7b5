"""Where a dataset's project store lives, and how the same dataset finds it again.

Next to the dataset, in ``<dataset root>/.cvlens/<layout>/``, when the dataset's folder is
writable: the store then travels with the dataset when it is moved or copied. Otherwise in
the user's data folder, in ``projects/<layout>-<key>/``, where ``key`` hashes the resolved
root path and the layout (:func:`dataset_key`); so are the stores of an installed CV Lens's
bundled demos. An existing store is preferred wherever it is, so a dataset that became
read-only (or writable) finds its labels again.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from core.system.paths import data_dir
from core.system.resources import is_installed_data

DB_NAME = "project.sqlite"
LOCK_NAME = "project.lock"
RUNS_FOLDER = "runs"
BESIDE_FOLDER = ".cvlens"


def layout_slug(layout: str) -> str:
    """A folder name for a layout: "CIFAR-10" -> "cifar-10", "Image folder" -> "image-folder"."""
    return re.sub(r"[^a-z0-9]+", "-", layout.lower()).strip("-") or "dataset"


def dataset_key(root: str | Path, layout: str) -> str:
    """A stable identity of a dataset: its resolved root path and its layout, hashed."""
    text = f"{Path(root).expanduser().resolve()}\n{layout}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def beside_folder(root: str | Path, layout: str) -> Path:
    return Path(root) / BESIDE_FOLDER / layout_slug(layout)


def central_folder(root: str | Path, layout: str) -> Path:
    return data_dir() / "projects" / f"{layout_slug(layout)}-{dataset_key(root, layout)}"


def can_write(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (created if missing), tried for real.

    ``os.access`` is not enough: it says yes to root on a read-only mount, and no on some
    network shares that would accept the write.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
        return True
    except OSError:
        return False


def store_folder(root: str | Path, layout: str) -> Path:
    """The folder holding the dataset's store: an existing one, else beside the dataset if writable and not a
    demo of an installed CV Lens (written into, it would be left behind by pip uninstall)."""
    beside, central = beside_folder(root, layout), central_folder(root, layout)
    for folder in (beside, central):
        if (folder / DB_NAME).exists():
            return folder
    if is_installed_data(root):
        return central
    return beside if Path(root).is_dir() and can_write(beside) else central
