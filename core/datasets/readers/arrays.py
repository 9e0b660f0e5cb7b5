"""Datasets whose pixels arrive as one uint8 array (CIFAR pickles, MNIST IDX files).

Opening keeps the array as it was read; decoding a sample is slicing it, so these readers
open tens of thousands of images in a fraction of a second.

Arrays mapped from their files (an uncompressed MNIST file, an indexed CIFAR batch) are read where they lie.
A file cut short while it is mapped (``tar x`` over the dataset rewrites its files in place) would make the
next read of a row past its new end kill the process with SIGBUS; :class:`MappedFile` checks the file's size
before each sample is read, and a shortened file is a :class:`SampleError` instead.
"""

from __future__ import annotations

import operator
import os
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import Dataset
from core.datasets.errors import SampleError


@dataclass(frozen=True)
class MappedFile:
    """Rows ``start``..``stop`` of a dataset's pixels are mapped from ``path``, whose first ``needed`` bytes the
    mapping covers; ``inode`` is the mapped file's (device, inode)."""

    path: str
    needed: int
    start: int
    stop: int
    inode: tuple[int, int]

    @classmethod
    def of(cls, rows: np.ndarray, start: int) -> MappedFile | None:
        """The file ``rows`` (the dataset's rows from ``start`` on) are a view of, None when they are in memory."""
        mapped = rows
        while isinstance(mapped, np.ndarray) and not isinstance(mapped, np.memmap):
            mapped = mapped.base  # a view's base: another array, the bytes it was parsed from, or None
        if not isinstance(mapped, np.memmap) or not mapped.filename:
            return None
        status = os.stat(mapped.filename)
        inode = (status.st_dev, status.st_ino)
        return cls(mapped.filename, mapped.offset + mapped.nbytes, start, start + len(rows), inode)

    def check(self) -> None:
        """Raise SampleError when the mapped file is now shorter than the mapping."""
        try:
            status = os.stat(self.path)
        except OSError:
            return  # removed or renamed: the mapping keeps the old file's pages, which stay readable
        if (status.st_dev, status.st_ino) == self.inode and status.st_size < self.needed:
            raise SampleError(
                f"{Path(self.path).name} was cut short on disk after the dataset was opened "
                f"({status.st_size:,} of {self.needed:,} bytes): open the dataset again"
            )


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
        parts = images.parts if isinstance(images, StackedRows) else [images]
        starts = images.starts if isinstance(images, StackedRows) else [0]
        mapped = (MappedFile.of(part, start) for part, start in zip(parts, starts))
        #: The files the pixels are mapped from (none when they were read into memory).
        self.mapped = [file for file in mapped if file is not None]

    def load_image(self, index: int) -> np.ndarray:
        for file in self.mapped:  # one stat per sample read: a few microseconds
            if file.start <= index < file.stop:
                file.check()
        image = self.images[index]
        if image.ndim == 2:
            return np.repeat(image[:, :, None], 3, axis=2)
        if self.channels_first:
            image = image.transpose(1, 2, 0)
        return np.array(image, order="C")  # a copy: callers may draw on it
