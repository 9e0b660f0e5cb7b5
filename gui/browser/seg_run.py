"""A segmentation run as the browser reads it: predicted masks for the sample view and the tiles,
the probabilities behind each pixel for hover, and the images worst first.

Everything here reads a :class:`~core.inference.mask_store.SegmentationPredictions`; :class:`RunSource`
is called on worker threads (the sample view's and the thumbnail loader's), never on the GUI thread.
"""

from __future__ import annotations

import numpy as np

from core.datasets import Dataset
from core.evaluation.ranking import worst_first
from core.evaluation.selection import Selection
from core.inference.mask_store import nearest_indices
from core.masks.overlays import resize_mask

#: The per-image scores the browser sorts by: name shown -> key of ``per_image_scores`` (lower is worse).
#: The names are the metrics view's, so "worst mean IoU first" is the same selection from either pane.
PER_IMAGE = {"mean IoU": "mean_iou", "mean Dice": "mean_dice", "pixel accuracy": "pixel_accuracy"}


def segmentation_run(dataset: Dataset | None, predictions) -> object | None:
    """``predictions`` when they are a segmentation run over ``dataset``'s samples, else None."""
    if dataset is None or predictions is None or getattr(predictions, "task", "") != "segmentation":
        return None
    return predictions if len(predictions) == len(dataset) else None


def worst_first_selection(predictions, metric: str) -> Selection:
    """The images with a score, the lowest per-image ``metric`` (a key of :data:`PER_IMAGE`) first;
    ties keep dataset order (as the metrics view's "Worst first")."""
    values = predictions.per_image_scores()[PER_IMAGE[metric]]
    return Selection.of(f"worst {metric} first", worst_first(values, higher_is_worse=False), ordered=True)


class PixelProbabilities:
    """One sample's C x h x w class probabilities and the map from image pixels to their grid cells.

    Pixel (y, x) of an H x W image reads cell ``(rows[y], cols[x])`` with ``rows = nearest_indices(H, h)``:
    the rule of ``SegmentationPredictions.pixel_probabilities``, computed once per sample so that a
    hover is an index lookup, not a file read.
    """

    def __init__(self, probabilities: np.ndarray, size: tuple[int, int]) -> None:
        self.probabilities = probabilities
        self.rows = nearest_indices(size[0], probabilities.shape[1])
        self.cols = nearest_indices(size[1], probabilities.shape[2])

    def at(self, y: int, x: int) -> np.ndarray:
        """The C probabilities behind image pixel (y, x)."""
        return self.probabilities[:, self.rows[y], self.cols[x]]

    def top(self, y: int, x: int, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` most probable classes at pixel (y, x) as (class, probability), most probable first."""
        p = self.at(y, x)
        order = np.argsort(-p, kind="stable")[:k]
        return [(int(c), float(p[c])) for c in order]

    def confidence(self, mask: np.ndarray) -> np.ndarray:
        """H x W float32: the probability of ``mask``'s class at every pixel (H x W values gathered,
        never a C x H x W array)."""
        classes = np.asarray(mask, dtype=np.intp)
        return self.probabilities[classes, self.rows[:, None], self.cols[None, :]]


class RunSource:
    """The browser's prediction source for a segmentation run (``BrowserPane.set_prediction_source``)."""

    def __init__(self, predictions) -> None:
        self.predictions = predictions

    def __call__(self, index: int) -> tuple[np.ndarray, np.ndarray, PixelProbabilities] | None:
        """(predicted mask, confidence, probabilities) of a predicted sample; None before it is predicted."""
        preds = self.predictions
        if not preds.done[index]:
            return None
        mask = preds.mask(index)
        pixels = PixelProbabilities(preds.probabilities(index), mask.shape[:2])
        return mask, pixels.confidence(mask), pixels

    def thumbnail_mask(self, index: int, width: int, height: int) -> np.ndarray | None:
        """The predicted mask at a tile's size (nearest neighbour, as the true mask's); None before it is predicted."""
        if not self.predictions.done[index]:
            return None
        return resize_mask(self.predictions.mask(index), width, height)
