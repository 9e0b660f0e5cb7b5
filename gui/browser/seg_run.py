"""A segmentation run as the browser reads it: predicted masks for the sample view and the tiles,
the probabilities behind each pixel for hover, and the images worst first.

Everything here reads a :class:`~core.inference.mask_store.SegmentationPredictions`; :class:`RunSource`
is called on worker threads (the sample view's and the thumbnail loader's), never on the GUI thread.
"""

from __future__ import annotations

import numpy as np

from core.evaluation.ranking import worst_first
from core.evaluation.selection import Selection
from core.inference.mask_store import PixelProbabilities
from core.masks.overlays import resize_mask

#: The per-image scores the browser sorts by: name shown -> key of ``per_image_scores`` (lower is worse).
#: The names are the metrics view's, so "worst mean IoU first" is the same selection from either pane.
PER_IMAGE = {"mean IoU": "mean_iou", "mean Dice": "mean_dice", "pixel accuracy": "pixel_accuracy"}


def worst_first_selection(predictions, metric: str) -> Selection:
    """The images with a score, the lowest per-image ``metric`` (a key of :data:`PER_IMAGE`) first;
    ties keep dataset order (as the metrics view's "Worst first")."""
    values = predictions.per_image_scores()[PER_IMAGE[metric]]
    return Selection.of(f"worst {metric} first", worst_first(values, higher_is_worse=False), ordered=True)


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
        pixels = preds.pixels(index, mask.shape[:2])
        return mask, pixels.confidence(mask), pixels

    def thumbnail_mask(self, index: int, width: int, height: int) -> np.ndarray | None:
        """The predicted mask at a tile's size (nearest neighbour, as the true mask's); None before it is predicted."""
        if not self.predictions.done[index]:
            return None
        return resize_mask(self.predictions.mask(index), width, height)
