"""A saliency map as a coloured layer to lay over its image.

The colours are the "turbo" map (blue for little, red for most, readable in grey as well); the layer is
transparent where the map is low, so the image shows through where the network did not look and the
reds sit on what it looked at. The view's opacity fades the whole layer on top of that.
"""

from __future__ import annotations

import numpy as np

#: At and above this share of the map's peak the layer is opaque; below it fades out linearly (at 0.5 the
#: layer hid small images such as the 8 x 8 digits almost whole).
FULL_AT = 0.9


def heat_rgba(cam: np.ndarray) -> np.ndarray:
    """H x W map in [0, 1] -> H x W x 4 uint8 RGBA: turbo colours, alpha rising from 0 to 255 at FULL_AT."""
    import cv2

    values = np.clip(np.nan_to_num(np.asarray(cam, dtype=np.float32)), 0.0, 1.0)
    grey = np.round(values * 255).astype(np.uint8)
    rgb = cv2.applyColorMap(grey, cv2.COLORMAP_TURBO)[:, :, ::-1]
    alpha = np.round(np.clip(values / FULL_AT, 0.0, 1.0) * 255).astype(np.uint8)
    return np.ascontiguousarray(np.dstack([rgb, alpha]))
