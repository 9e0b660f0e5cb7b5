"""What the box readers (COCO, VOC, YOLO, CelebA) share: objects per image, checked when a sample is read.

Readers keep each image's objects as the files give them (:class:`Objects`); :class:`BoxDataset` checks them
when a sample's boxes are asked for, so one bad annotation is that sample's error (SampleError), never the
whole dataset's. The rules, the same for every layout:

- a coordinate that is not a finite number (NaN, inf, text) is an error of the sample;
- a box whose right edge is left of its left edge (or bottom above top) is an error of the sample;
- a box reaching outside the image is clipped to it (COCO's own boxes overshoot by a fraction of a pixel);
  ``sample_meta`` says how many were (``boxes_clipped``);
- a class index outside ``Dataset.classes`` is an error of the sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import BOX_TASKS, SampleError
from core.datasets.readers.files import FileDataset
from core.datasets.readers.masks import image_size
from core.system.files import open_regular


def no_boxes() -> tuple[np.ndarray, np.ndarray]:
    """An image without objects: (0 x 4 float32, 0 int64)."""
    return np.zeros((0, 4), np.float32), np.zeros(0, np.int64)


@dataclass
class Objects:
    """One image's objects as its annotation file says them, not yet checked."""

    boxes: np.ndarray  # float32 N x 4 (x0, y0, x1, y1) pixels, 0-based
    classes: np.ndarray  # int64 N
    flags: dict[str, np.ndarray] = field(default_factory=dict)  # name -> bool N
    #: Why the image's annotation could not be read (then it has no objects and reading it is a SampleError).
    error: str | None = None

    @classmethod
    def failed(cls, error: str) -> Objects:
        boxes, classes = no_boxes()
        return cls(boxes, classes, {}, error)


def checked_boxes(boxes: np.ndarray, size: tuple[int, int] | None, name: str) -> tuple[np.ndarray, int]:
    """(boxes clipped to the image of ``size`` (h, w), how many were clipped); SampleError on a broken box."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    bad = np.flatnonzero(~np.isfinite(boxes).all(axis=1))
    if len(bad):
        raise SampleError(f"{name}: object {bad[0]} has a box coordinate that is not a number ({boxes[bad[0]]})")
    inverted = np.flatnonzero((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]))
    if len(inverted):
        x0, y0, x1, y1 = boxes[inverted[0]].tolist()
        raise SampleError(f"{name}: object {inverted[0]} has a negative width or height (x {x0}..{x1}, y {y0}..{y1})")
    if size is None:
        return boxes, 0
    height, width = size
    clipped = boxes.copy()
    clipped[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
    clipped[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
    return clipped, int(np.count_nonzero((clipped != boxes).any(axis=1)))


def presence(objects: list[Objects], num_classes: int) -> np.ndarray:
    """N images x C uint8: whether each image holds an object of each class (``Dataset.tags`` of a box dataset)."""
    tags = np.zeros((len(objects), num_classes), np.uint8)
    for row, entry in enumerate(objects):
        known = entry.classes[(entry.classes >= 0) & (entry.classes < num_classes)]
        tags[row, known] = 1
    return tags


class BoxDataset(FileDataset):
    """A FileDataset whose samples have objects (when open for a box task): boxes, classes and flags.

    Subclasses give :meth:`objects` (one image's :class:`Objects`) and :meth:`box_size` (the image size the
    boxes are clipped to; None: not clipped).
    """

    #: The per-object flags the layout has (``box_extras`` keys): "iscrowd", "difficult", "truncated".
    flag_names: tuple[str, ...] = ()

    def objects(self, index: int) -> Objects:
        raise NotImplementedError

    def box_size(self, index: int) -> tuple[int, int] | None:
        return None

    def header_size(self, index: int) -> tuple[int, int]:
        """(height, width) of the sample's image from its header, read once (a box is drawn, checked and shown
        several times; the header read costs a file open)."""
        sizes = getattr(self, "_header_sizes", None)
        if sizes is None:
            sizes = self._header_sizes = np.full((len(self), 2), -1, np.int32)
        if sizes[index, 0] < 0:
            sizes[index] = image_size(self.checked_path(index))
        return int(sizes[index, 0]), int(sizes[index, 1])

    def _checked(self, index: int) -> tuple[np.ndarray, np.ndarray, int]:
        entry, name = self.objects(index), self.sample_ids[index]
        if entry.error:
            raise SampleError(f"{name}: {entry.error}")
        outside = np.flatnonzero((entry.classes < 0) | (entry.classes >= len(self.classes)))
        if len(outside):
            raise SampleError(
                f"{name}: object {outside[0]} has class {entry.classes[outside[0]]}; "
                f"the dataset has {len(self.classes)} classes (0..{len(self.classes) - 1})"
            )
        boxes, clipped = checked_boxes(entry.boxes, self.box_size(index), name)
        return boxes, entry.classes.astype(np.int64), clipped

    def load_boxes(self, index: int) -> tuple[np.ndarray, np.ndarray] | None:
        if self.task not in BOX_TASKS:
            return None
        boxes, classes, _ = self._checked(index)
        return boxes, classes

    def box_extras(self, index: int) -> dict[str, np.ndarray]:
        if self.task not in BOX_TASKS:
            return {}
        flags = self.objects(index).flags
        return {name: flags[name].astype(bool) for name in self.flag_names if name in flags}

    def box_meta(self, index: int) -> dict[str, Any]:
        """The objects' part of ``sample_meta``: counts, class names and flags as lists; the error if any (meta
        never raises: it is how a tile says what is wrong)."""
        if self.task not in BOX_TASKS:
            return {}
        try:
            entry = self.objects(index)
        except SampleError as exc:  # YOLO's boxes need the image's size: an unreadable image has none
            return {"objects": 0, "annotation_error": str(exc)}
        if entry.error:
            return {"objects": 0, "annotation_error": entry.error}
        meta: dict[str, Any] = {"objects": len(entry.classes)}
        meta |= {name: [bool(v) for v in entry.flags[name]] for name in self.flag_names if name in entry.flags}
        try:
            _, classes, clipped = self._checked(index)
        except SampleError as exc:
            return meta | {"annotation_error": str(exc)}
        meta["object_classes"] = [self.classes[c] for c in classes]
        if clipped:
            meta["boxes_clipped"] = clipped
        return meta

    def sample_meta(self, index: int) -> dict[str, Any]:
        return self.box_meta(index)


def read_capped(path: Path, limit: int, what: str) -> bytes:
    """A label file's bytes, or SampleError when it is larger than ``limit`` (read no further than that)."""

    try:
        with open_regular(path) as file:
            data = file.read(limit + 1)
    except FileNotFoundError:
        raise SampleError(f"{path.name}: {what} is missing") from None
    except OSError as exc:
        raise SampleError(f"{path.name}: cannot read {what} ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise SampleError(f"{path.name}: {what} is larger than {limit:,} bytes; not read")
    return data
