"""A Dataset whose samples are image files under its root, listed at open time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import Dataset
from core.datasets.imageio import read_image


class FileDataset(Dataset):
    """Samples are files: ``sample_ids`` are paths relative to ``image_root`` (default: ``root``)."""

    def __init__(self, root: Path, *, layout: str, image_root: Path | None = None, **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self.layout = layout
        self.image_root = image_root or root

    def sample_path(self, index: int) -> Path:
        return self.image_root / self.sample_ids[index]

    def load_image(self, index: int) -> np.ndarray:
        return read_image(self.sample_path(index))
