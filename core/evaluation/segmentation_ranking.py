"""Per-image segmentation losses of the lecture, for ranking the images of a run worst first.

The losses of core.metrics.losses are binary (one mask against one probability map); a multi-class mask
is scored one class against the rest, over the classes present in the truth or the prediction,
and the per-class losses are averaged. Ignored pixels (255) take no part: their target and
probability are both zero, which costs nothing in any of the three losses' sums.
"""

from __future__ import annotations

import numpy as np

from core.datasets.base import IGNORE_INDEX
from core.inference.mask_store import nearest_indices
from core.metrics.losses import boundary_loss, dice_loss, weighted_binary_cross_entropy

#: name -> function(one-vs-rest targets K x H x W, probabilities K x H x W) -> K losses
SEGMENTATION_LOSSES = {
    "Dice loss": dice_loss,
    "weighted BCE": weighted_binary_cross_entropy,
    "boundary loss": boundary_loss,
}


def image_losses(truth: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Each loss of one image: ``truth`` H x W class indices (255 ignored), ``probs`` C x H x W.

    NaN for an image with no labelled pixel.
    """
    truth = np.asarray(truth)
    probs = np.asarray(probs, dtype=np.float64)
    if truth.shape != probs.shape[1:]:
        raise ValueError(f"a {truth.shape} mask cannot be scored with {probs.shape[1:]} probabilities")
    valid = truth != IGNORE_INDEX
    if not valid.any():
        return {name: float("nan") for name in SEGMENTATION_LOSSES}
    predicted = probs.argmax(axis=0)
    classes = np.union1d(np.unique(truth[valid]), np.unique(predicted[valid])).astype(np.int64)
    classes = classes[classes < probs.shape[0]]
    targets = (truth[None] == classes[:, None, None]) & valid[None]
    maps = probs[classes] * valid[None]
    return {name: float(np.mean(loss(targets, maps))) for name, loss in SEGMENTATION_LOSSES.items()}


def run_losses(predictions, dataset, indices=None) -> dict[str, np.ndarray]:
    """Per-image losses of a segmentation run (N arrays, NaN where there is no usable truth).

    The probabilities are the run's stored grid; the true mask is brought to that grid by the
    same nearest-neighbour rule the store uses, so no full-size C x H x W array is made.
    """
    n = len(predictions)
    out = {name: np.full(n, np.nan) for name in SEGMENTATION_LOSSES}
    chosen = np.flatnonzero(predictions.has_truth) if indices is None else np.asarray(indices, dtype=np.int64)
    for i in chosen:
        probs = predictions.probabilities(int(i))
        truth = dataset.load_mask(int(i))
        rows = nearest_indices(probs.shape[1], truth.shape[0])[:, None]
        cols = nearest_indices(probs.shape[2], truth.shape[1])[None, :]
        for name, value in image_losses(truth[rows, cols], probs).items():
            out[name][i] = value
    return out
