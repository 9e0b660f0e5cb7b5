"""A Dataset whose samples are image files under its root, listed at open time or named by an index.

An index (COCO's ``file_name``, a CSV, a list file) can name any path: ``../../../etc/x.jpg`` or
``/dev/zero``. Samples are read only from inside ``image_root`` unless the user allows it
(``allow_outside_root``); the check is on the path as written, so a dataset folder that is itself
a symlink, or symlinks the user placed inside it, still work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import Dataset, SampleError
from core.datasets.imageio import read_encoded, read_image


class FileDataset(Dataset):
    """Samples are files: ``sample_ids`` are paths relative to ``image_root`` (default: ``root``)."""

    def __init__(self, root: Path, *, layout: str, image_root: Path | None = None, **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self.layout = layout
        self.image_root = image_root or root

    #: Read files that the index names outside ``image_root`` (off by default; a per-dataset choice).
    allow_outside_root = False

    def sample_path(self, index: int) -> Path:
        return self.image_root / self.sample_ids[index]

    def checked_path(self, index: int) -> Path:
        """The sample's path, or SampleError when it leads outside the dataset's folder."""
        name = self.sample_ids[index]
        if not self.allow_outside_root and not is_inside(name):
            raise SampleError(
                f"{name}: the dataset names a file outside its folder {self.image_root}; "
                "not read unless you allow files outside the dataset's folder"
            )
        return self.sample_path(index)

    def load_image(self, index: int) -> np.ndarray:
        return read_image(self.checked_path(index))

    def read_encoded(self, index: int) -> bytes:
        return read_encoded(self.checked_path(index))


def is_inside(relative: str) -> bool:
    """A relative path that stays inside its base folder as written (no leading / or ~, no escaping ..)."""
    if not relative or os.path.isabs(relative) or relative.startswith("~"):
        return False
    normal = os.path.normpath(relative)
    return normal != ".." and not normal.startswith(".." + os.sep)
