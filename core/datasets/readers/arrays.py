"""Datasets whose pixels arrive as one uint8 array (CIFAR pickles, MNIST IDX files).

Opening keeps the array as it was read; decoding a sample is slicing it, so these readers
open tens of thousands of images in a fraction of a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import Dataset


class ArrayDataset(Dataset):
    """A Dataset over ``images``: N x H x W (gray), N x H x W x 3, or N x 3 x H x W (``channels_first``)."""

    def __init__(self, root: Path, *, images: np.ndarray, channels_first: bool = False, **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        if len(images) != len(self):
            raise ValueError(f"{len(images)} images for {len(self)} samples")
        self.images = images
        self.channels_first = channels_first

    def load_image(self, index: int) -> np.ndarray:
        image = self.images[index]
        if image.ndim == 2:
            return np.repeat(image[:, :, None], 3, axis=2)
        if self.channels_first:
            image = image.transpose(1, 2, 0)
        return np.array(image, order="C")  # a copy: callers may draw on it
