"""The one interface every dataset reader answers.

A reader builds a :class:`Dataset` from indexes and label files only. Pixels are decoded
when :meth:`Sample.image` or :meth:`Sample.mask` is called, so opening stays fast and
memory stays flat whatever the size of the dataset.

Labels are held as numpy arrays (``Dataset.targets``, ``Dataset.tags``) so that filters
and metrics over 100,000 samples are vectorised instead of looping over Sample objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets import layouts
from core.datasets.errors import DatasetError, SampleError
from core.datasets.imageio import read_encoded

__all__ = ["BOX_TASKS", "IGNORE_INDEX", "TASKS", "UNLABELED", "Dataset", "DatasetError", "Sample", "SampleError"]

TASKS = (
    "binary",
    "multiclass",
    "multilabel",
    "segmentation",
    "localization",
    "detection",
    "instance_segmentation",
)
#: Tasks a sample's objects (``Sample.boxes()``) are the truth of.
BOX_TASKS = ("localization", "detection", "instance_segmentation")
IGNORE_INDEX = 255
UNLABELED = -1


@dataclass(frozen=True)
class Sample:
    """A lightweight view of one sample of a dataset; nothing is decoded until asked."""

    dataset: Dataset = field(repr=False, compare=False)
    index: int

    @property
    def id(self) -> str:
        return self.dataset.sample_ids[self.index]

    @property
    def path(self) -> Path | None:
        return self.dataset.sample_path(self.index)

    @property
    def label(self) -> int | None:
        if self.dataset.targets is None:
            return None
        value = int(self.dataset.targets[self.index])
        return None if value == UNLABELED else value

    @property
    def labels(self) -> tuple[int, ...]:
        if self.dataset.tags is not None:
            return tuple(int(i) for i in np.flatnonzero(self.dataset.tags[self.index]))
        label = self.label
        return () if label is None else (label,)

    @property
    def meta(self) -> dict[str, Any]:
        return self.dataset.sample_meta(self.index)

    def image(self) -> np.ndarray:
        """The image as an H x W x 3 uint8 RGB array; raises SampleError when it cannot be read."""
        return self.dataset.load_image(self.index)

    def mask(self) -> np.ndarray | None:
        """The H x W integer class mask (255 = ignore), or None when the task has none."""
        return self.dataset.load_mask(self.index)

    def boxes(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The sample's objects: float32 N x 4 boxes ``(x0, y0, x1, y1)`` in pixels of :meth:`image` (0-based,
        as torchvision's detection models take them) and int64 N class indices into ``Dataset.classes``;
        None for datasets without boxes. Per-object extras (``iscrowd``, ``difficult``, ``truncated``) are in
        :attr:`meta` and :meth:`Dataset.box_extras`."""
        return self.dataset.load_boxes(self.index)

    def instances(self) -> np.ndarray | None:
        """One binary mask per object (N x H x W bool, in the order of :meth:`boxes`), decoded now; None for
        datasets without instance masks."""
        return self.dataset.load_instances(self.index)


class Dataset:
    """Base class of every reader.

    Subclasses set the attributes in ``__init__`` and implement :meth:`load_image`
    (and :meth:`load_mask` for segmentation). ``targets`` is an int64 array with
    ``UNLABELED`` (-1) for samples without a label, or None for datasets that have no
    class labels at all; ``tags`` is an N x L uint8 array for multilabel datasets.
    """

    #: Name of the layout, shown to the user ("Image folder", "CIFAR-10", ...).
    layout: str = "dataset"

    def __init__(
        self,
        root: Path,
        *,
        task: str,
        classes: Sequence[str],
        splits: Sequence[str],
        split: str | None,
        sample_ids: Sequence[str],
        targets: np.ndarray | None = None,
        tags: np.ndarray | None = None,
        palette: np.ndarray | None = None,
        tasks: Sequence[str] | None = None,
    ) -> None:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
        self.root = Path(root)
        self.task = task
        #: Every task the files hold (COCO instances: instance segmentation, detection, segmentation); the
        #: dataset is open as ``task``, and :meth:`with_task` opens it as another.
        self.tasks = tuple(tasks) if tasks else (task,)
        if task not in self.tasks:
            raise ValueError(f"task {task!r} is not one of the dataset's tasks {self.tasks}")
        unknown = [name for name in self.tasks if name not in TASKS]
        if unknown:
            raise ValueError(f"unknown tasks {unknown}; expected some of {TASKS}")
        self.classes = list(classes)
        self.splits = list(splits)
        self.split = split
        self.sample_ids = list(sample_ids)
        self.targets = None if targets is None else np.asarray(targets, dtype=np.int64)
        self.tags = None if tags is None else np.asarray(tags, dtype=np.uint8)
        self.palette = palette
        #: What went wrong at open without stopping it (a folder that cannot be listed...), for the user.
        self.notices: list[str] = []
        n = len(self.sample_ids)
        if self.targets is not None and len(self.targets) != n:
            raise ValueError(f"{len(self.targets)} labels for {n} samples")
        if self.tags is not None and self.tags.shape != (n, len(self.classes)):
            raise ValueError(f"tags of shape {self.tags.shape} for {n} samples x {len(self.classes)} labels")

    # -- the sequence protocol -------------------------------------------------------
    def __len__(self) -> int:
        return len(self.sample_ids)

    def __getitem__(self, index: int) -> Sample:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"sample {index} out of range for {n} samples")
        return Sample(self, int(index))

    def __iter__(self) -> Iterator[Sample]:
        return (Sample(self, i) for i in range(len(self)))

    def __repr__(self) -> str:
        split = f", split={self.split!r}" if self.split else ""
        return (
            f"<{self.layout} {str(self.root)!r}: {len(self)} samples, {self.task}, {len(self.classes)} classes{split}>"
        )

    # -- what readers implement -------------------------------------------------------
    def load_image(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def load_mask(self, index: int) -> np.ndarray | None:
        return None

    def load_boxes(self, index: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(float32 N x 4 boxes x0, y0, x1, y1 in pixels; int64 N classes), or None: readers with boxes override."""
        return None

    def load_instances(self, index: int) -> np.ndarray | None:
        """N x H x W bool, one mask per object of :meth:`load_boxes`; None: readers with instance masks override."""
        return None

    def box_extras(self, index: int) -> dict[str, np.ndarray]:
        """Per-object flags beside :meth:`load_boxes`, each a bool array of N: ``iscrowd`` (COCO: a crowd region,
        matched as COCOeval matches crowds), ``difficult`` (VOC: ignored by the evaluation), ``truncated``.
        Only the flags the layout has; the metrics neither count these objects as misses nor punish
        detections on them."""
        return {}

    def sample_path(self, index: int) -> Path | None:
        return None

    def read_encoded(self, index: int) -> bytes:
        """The sample's encoded file (for decoders other than :meth:`load_image`), checked like a read."""
        path = self.sample_path(index)
        if path is None:
            raise SampleError(f"{self.sample_ids[index]}: not stored as an image file")
        return read_encoded(path)

    def sample_meta(self, index: int) -> dict[str, Any]:
        return {}

    def with_split(self, split: str) -> Dataset:
        """The same dataset opened on another of its splits."""
        if split == self.split:
            return self
        if split not in self.splits:
            raise DatasetError(f"{self.layout} at {self.root} has no split {split!r}; it has {self.splits}")
        return layouts.open_dataset(self.root, split=split, task=self.task)

    def with_task(self, task: str) -> Dataset:
        """The same dataset, same split, opened for another of its :attr:`tasks`."""
        if task == self.task:
            return self
        if task not in self.tasks:
            raise DatasetError(f"{self.layout} at {self.root} offers {', '.join(self.tasks)}, not {task}")
        return layouts.open_dataset(self.root, split=self.split, task=task)

    @property
    def has_boxes(self) -> bool:
        """Whether the dataset is open for a task whose truth is objects (boxes)."""
        return self.task in BOX_TASKS

    # -- conveniences ---------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.root.name or str(self.root)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> np.ndarray:
        """Samples per class (per label for multilabel); unlabeled samples are not counted."""
        if self.tags is not None:
            return self.tags.sum(axis=0).astype(np.int64)
        if self.targets is None:
            return np.zeros(len(self.classes), dtype=np.int64)
        labeled = self.targets[self.targets >= 0]
        return np.bincount(labeled, minlength=len(self.classes))[: len(self.classes)]


def default_split(splits: Sequence[str]) -> str | None:
    """The evaluation split: test, else val/valid, else the first one."""
    for name in ("test", "val", "valid", "validation"):
        if name in splits:
            return name
    return splits[0] if splits else None
