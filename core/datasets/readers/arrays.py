"""Datasets whose pixels arrive as one uint8 array (CIFAR pickles, MNIST IDX files).

Opening keeps the array as it was read; decoding a sample is slicing it, so these readers
open tens of thousands of images in a fraction of a second.
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import Dataset


class StackedRows:
    """Several arrays read as one along their first axis, without copying them into one.

    CIFAR's train split is five batch files, each mapped from its own pickle; concatenating them would
    read all 150 MB of pixels at open time.
    """

    def __init__(self, parts: Sequence[np.ndarray]) -> None:
        self.parts = list(parts)
        self.starts = [0]
        for part in self.parts:
            self.starts.append(self.starts[-1] + len(part))

    def __len__(self) -> int:
        return self.starts[-1]

    def __getitem__(self, index: int) -> np.ndarray:
        index = operator.index(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"row {index} of {len(self)}")
        part = bisect_right(self.starts, index) - 1
        return self.parts[part][index - self.starts[part]]


class ArrayDataset(Dataset):
    """A Dataset over ``images``: N x H x W (gray), N x H x W x 3, or N x 3 x H x W (``channels_first``)."""

    def __init__(
        self, root: Path, *, images: np.ndarray | StackedRows, channels_first: bool = False, **kwargs: Any
    ) -> None:
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
