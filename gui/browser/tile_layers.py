"""Segmentation tiles: the image and its masks at thumbnail size, composed as the toolbar says.

A tile shows the true mask, the predicted mask or the wrong pixels (``TILE_SHOWS``). Both masks are
brought to the thumbnail's size by the same nearest-neighbour sampling, so the error tile compares
the two masks at exactly the pixels it shows.
"""

from __future__ import annotations

import numpy as np

from core.datasets import Dataset
from core.masks.overlays import (
    OverlayStyle,
    blend,
    class_presence,
    error_colours,
    error_map,
    outlines,
    render,
    resize_mask,
)
from gui.decoding import THUMB_SIZE, thumbnail_array

TRUTH, PREDICTION, ERRORS = "truth", "prediction", "errors"
#: What segmentation tiles can show: value -> the toolbar's words.
TILE_SHOWS = {TRUTH: "truth", PREDICTION: "prediction", ERRORS: "wrong pixels"}


class Layers:
    """A segmentation thumbnail before composing: the image and its mask at the same size."""

    __slots__ = ("image", "mask")

    def __init__(self, image: np.ndarray, mask: np.ndarray) -> None:
        self.image, self.mask = image, mask


def make_layers(dataset: Dataset, index: int, box: int = THUMB_SIZE) -> tuple[Layers, np.ndarray]:
    """(image and mask at thumbnail size, the classes of the full mask); SampleError when either is unreadable."""
    image = thumbnail_array(dataset.load_image(index), box)
    mask = dataset.load_mask(index)
    if mask is None:
        raise ValueError(f"{dataset.sample_ids[index]}: the dataset gave no mask")
    presence = class_presence(mask, len(dataset.classes))
    return Layers(image, resize_mask(mask, image.shape[1], image.shape[0])), presence


def compose_tile(
    layers: Layers,
    predicted: np.ndarray | None,
    show: str,
    style: OverlayStyle,
    palette: np.ndarray,
    transparent: tuple[int, ...] = (),
) -> np.ndarray:
    """The tile's RGB: the image with the true mask, the ``predicted`` one, or the wrong pixels in red.
    Without a prediction (not predicted yet) the prediction and error tiles are the bare image; the error
    tile's image is grey."""
    if show == TRUTH:
        return render(layers.image, layers.mask, palette, style, transparent)
    if predicted is None or not style.visible or style.opacity <= 0:
        return layers.image
    if show == PREDICTION:
        return render(layers.image, predicted, palette, style, transparent)
    codes = error_map(layers.mask, predicted)
    rgba = error_colours(codes)
    if style.outlines:
        rgba[~outlines(codes), 3] = 0
    return blend(grey(layers.image), rgba, style.opacity)


def grey(image: np.ndarray) -> np.ndarray:
    """The image in grey (BT.601 luma), so that the red of wrong pixels stands out on a colourful tile."""
    luma = image[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.repeat((luma + 0.5).astype(np.uint8)[..., None], 3, axis=2)
