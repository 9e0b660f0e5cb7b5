"""The one stateful metric: a pixel confusion matrix accumulated image by image.

It keeps each image's matrix too (sparsely: only the non-empty cells), so that a subset of images is
re-evaluated by summing, a cell of the matrix maps back to the images that have pixels in it, and
per-image IoU/Dice come from the same counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .segmentation import dice, iou, pixel_confusion_matrix, segmentation_report


class SegmentationConfusion:
    """Accumulates ``pixel_confusion_matrix`` over images: ``update()`` per image, ``compute()`` for the total."""

    def __init__(self, num_classes: int, ignore_index: int | None = 255) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.reset()

    def reset(self) -> None:
        self._total = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        self._cells: list[np.ndarray] = []  # per image: flat indices of its non-empty cells
        self._counts: list[np.ndarray] = []  # per image: the pixel counts in those cells
        self._flat: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._cells)

    def update(self, target, pred) -> np.ndarray:
        """Add one image (truth and predicted mask of the same shape); returns that image's matrix."""
        cm = pixel_confusion_matrix(target, pred, self.num_classes, self.ignore_index)
        self._total += cm
        cells = np.flatnonzero(cm)
        self._cells.append(cells.astype(np.int32))
        self._counts.append(cm.reshape(-1)[cells])
        self._flat = None
        return cm

    def _concatenated(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(image index, flat cell, count) of every non-empty cell of every image, built once per change."""
        if self._flat is None:
            sizes = [len(c) for c in self._cells]
            images = np.repeat(np.arange(len(sizes)), sizes)
            cells = np.concatenate(self._cells) if sizes else np.zeros(0, dtype=np.int32)
            counts = np.concatenate(self._counts) if sizes else np.zeros(0, dtype=np.int64)
            self._flat = (images, cells, counts)
        return self._flat

    def compute(self, images: np.ndarray | None = None) -> np.ndarray:
        """The summed C x C matrix over all images, or over the given image indices (a filtered subset)."""
        if images is None:
            return self._total.copy()
        image_of, cells, counts = self._concatenated()
        chosen = np.isin(image_of, np.asarray(images, dtype=np.int64))
        size = self.num_classes * self.num_classes
        summed = np.bincount(cells[chosen], weights=counts[chosen], minlength=size)
        return np.rint(summed).astype(np.int64).reshape(self.num_classes, self.num_classes)

    def per_image(self, images: np.ndarray | None = None) -> np.ndarray:
        """Dense (n, C, C) matrices of all images or of the given image indices."""
        chosen = range(len(self)) if images is None else np.asarray(images, dtype=np.int64).reshape(-1)
        out = np.zeros((len(chosen), self.num_classes * self.num_classes), dtype=np.int64)
        for row, i in enumerate(chosen):
            out[row, self._cells[i]] = self._counts[i]
        return out.reshape(-1, self.num_classes, self.num_classes)

    def per_image_scores(self, images: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """(n, C) arrays "iou" and "dice" per image; NaN where a class is in neither its truth nor prediction."""
        cms = self.per_image(images)
        return {"iou": iou(cms), "dice": dice(cms)}

    def images_in_cell(self, true_class: int, pred_class: int) -> np.ndarray:
        """Indices of the images with at least one pixel of ``true_class`` predicted as ``pred_class``."""
        image_of, cells, _ = self._concatenated()
        return np.unique(image_of[cells == true_class * self.num_classes + pred_class])

    def report(self, images: np.ndarray | None = None) -> dict[str, Any]:
        """``segmentation_report`` of all images or of a subset."""
        return segmentation_report(self.compute(images))
