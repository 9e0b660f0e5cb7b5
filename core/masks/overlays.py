"""Masks made visible: class colours, blends, outlines, error maps. Pure numpy and OpenCV.

A mask is an H x W integer array of class indices with 255 (``IGNORE_INDEX``) for pixels
that carry no label. :func:`colourise` turns it into RGBA (alpha 0 where nothing is drawn),
:func:`blend` lays RGBA over an RGB image at an opacity:

    out = image * (1 - a * opacity) + colour * a * opacity,   a = alpha / 255

Ignored pixels are hatched in two greys, so "no label" never looks like a class colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

IGNORE = 255
IGNORE_LIGHT = (235, 235, 235)
IGNORE_DARK = (96, 96, 96)
HATCH_PERIOD = 4  # pixels per stripe pair of the ignore hatch
BACKGROUND_NAMES = {"background", "__background__", "_background_", "bg"}

#: Codes of :func:`error_map`.
NO_ERROR, TRUE_POSITIVE, FALSE_POSITIVE, FALSE_NEGATIVE, WRONG = 0, 1, 2, 3, 4
#: RGBA per error code: nothing, green, orange, blue, red (told apart with red-green colour blindness too).
ERROR_COLOURS = np.array(
    [(0, 0, 0, 0), (0, 158, 115, 255), (230, 159, 0, 255), (0, 114, 178, 255), (218, 54, 51, 255)], dtype=np.uint8
)
ERROR_NAMES = {TRUE_POSITIVE: "true positive", FALSE_POSITIVE: "false positive", FALSE_NEGATIVE: "false negative"}


@dataclass(frozen=True)
class OverlayStyle:
    """How masks are shown: on or off, how opaque, filled or as outlines only."""

    visible: bool = True
    opacity: float = 0.5
    outlines: bool = False


@lru_cache(maxsize=16)
def _distinct(n: int) -> np.ndarray:
    # Candidates: a 16-level RGB grid without greys, too-dark or too-light colours (those read as
    # shadow, paper or the ignore hatch). Greedy farthest-point in CIELab keeps every new colour as
    # far as possible from those already taken.
    levels = np.linspace(0, 255, 16).astype(np.uint8)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    lab = cv2.cvtColor(grid[None], cv2.COLOR_RGB2LAB)[0].astype(np.float32)
    lab[:, 0] *= 100 / 255
    lab[:, 1:] -= 128
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    keep = (chroma > 25) & (lab[:, 0] > 30) & (lab[:, 0] < 90)
    grid, lab = grid[keep], lab[keep]
    chosen = [int(np.argmax(lab[:, 1]))]  # the reddest first
    nearest = np.linalg.norm(lab - lab[chosen[0]], axis=1)
    for _ in range(1, n):
        pick = int(np.argmax(nearest))
        chosen.append(pick)
        nearest = np.minimum(nearest, np.linalg.norm(lab - lab[pick], axis=1))
    return grid[chosen[:n]]


def distinct_palette(n: int) -> np.ndarray:
    """``n`` x 3 uint8 colours, each as far (in CIELab) from the others as a greedy pick allows."""
    return _distinct(max(int(n), 0)).copy() if n > 0 else np.zeros((0, 3), np.uint8)


def palette_for(palette: np.ndarray | None, num_classes: int) -> np.ndarray:
    """The dataset's palette, completed with distinct colours when it is missing or too short."""
    if palette is None:
        return distinct_palette(num_classes)
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    if len(palette) >= num_classes:
        return palette
    return np.concatenate([palette, distinct_palette(num_classes)[len(palette) :]])


def background_classes(classes: list[str]) -> tuple[int, ...]:
    """Indices of classes that mean "nothing here": drawn transparent, so the image shows through."""
    return tuple(i for i, name in enumerate(classes) if name.strip().lower() in BACKGROUND_NAMES)


def colourise(mask: np.ndarray, palette: np.ndarray, *, transparent: tuple[int, ...] = ()) -> np.ndarray:
    """H x W x 4 uint8 RGBA: each class in its palette colour, ``transparent`` classes and values
    without a colour at alpha 0, ignored pixels (255) hatched."""
    mask = np.asarray(mask)
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    lut = np.zeros((max(len(palette), IGNORE + 1) + 1, 4), dtype=np.uint8)
    lut[: len(palette), :3], lut[: len(palette), 3] = palette, 255
    lut[[c for c in transparent if 0 <= c < len(lut)], 3] = 0
    lut[IGNORE] = 0
    indices = mask if mask.dtype == np.uint8 else np.clip(mask, 0, len(lut) - 1)
    rgba = np.take(lut, indices, axis=0)  # 10x faster than lut[indices] on megapixel masks
    ignored = np.flatnonzero(mask.ravel() == IGNORE)
    if ignored.size:
        y, x = np.divmod(ignored, mask.shape[1])
        dark = (((x + y) % HATCH_PERIOD) < HATCH_PERIOD // 2)[:, None]
        greys = np.where(dark, np.array([*IGNORE_DARK, 255], np.uint8), np.array([*IGNORE_LIGHT, 255], np.uint8))
        rgba.reshape(-1, 4)[ignored] = greys
    return rgba


def outlines(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """H x W bool: pixels with a 4-neighbour of another value (both sides of every boundary),
    thickened to ``width`` pixels."""
    mask = np.asarray(mask)
    edge = np.zeros(mask.shape, dtype=bool)
    vertical = mask[1:, :] != mask[:-1, :]
    horizontal = mask[:, 1:] != mask[:, :-1]
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    if width > 1:
        edge = cv2.dilate(edge.astype(np.uint8), np.ones((width, width), np.uint8)) > 0
    return edge


def outline_colours(
    mask: np.ndarray, palette: np.ndarray, *, transparent: tuple[int, ...] = (), width: int = 1
) -> np.ndarray:
    """RGBA like :func:`colourise`, drawn only along the class boundaries."""
    rgba = colourise(mask, palette, transparent=transparent)
    rgba[~outlines(mask, width), 3] = 0
    return rgba


def blend(image: np.ndarray, rgba: np.ndarray, opacity: float) -> np.ndarray:
    """RGB uint8: ``rgba`` laid over the RGB ``image`` (same H x W) at ``opacity`` (0..1)."""
    if image.shape[:2] != rgba.shape[:2]:
        raise ValueError(f"overlay of {rgba.shape[:2]} for an image of {image.shape[:2]}")
    alpha = rgba[..., 3:4].astype(np.float32) * (float(np.clip(opacity, 0.0, 1.0)) / 255.0)
    out = image[..., :3].astype(np.float32) * (1.0 - alpha) + rgba[..., :3].astype(np.float32) * alpha
    return (out + 0.5).astype(np.uint8)


def render(
    image: np.ndarray, mask: np.ndarray, palette: np.ndarray, style: OverlayStyle, transparent: tuple[int, ...] = ()
) -> np.ndarray:
    """The image with its mask drawn as ``style`` says (the image itself when the style hides masks)."""
    if not style.visible or style.opacity <= 0:
        return image
    draw = outline_colours if style.outlines else colourise
    return blend(image, draw(mask, palette, transparent=transparent), style.opacity)


def error_map(truth: np.ndarray, predicted: np.ndarray, class_index: int | None = None) -> np.ndarray:
    """H x W uint8 codes comparing two masks; pixels ignored in ``truth`` are NO_ERROR.

    With ``class_index`` c: TRUE_POSITIVE where both say c, FALSE_POSITIVE where only the
    prediction says c, FALSE_NEGATIVE where only the truth does. Without: WRONG wherever they differ.
    """
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if truth.shape != predicted.shape:
        raise ValueError(f"predicted mask of {predicted.shape} for a true mask of {truth.shape}")
    labelled = truth != IGNORE
    codes = np.zeros(truth.shape, dtype=np.uint8)
    if class_index is None:
        codes[labelled & (truth != predicted)] = WRONG
        return codes
    is_true, is_pred = labelled & (truth == class_index), labelled & (predicted == class_index)
    codes[is_true & is_pred] = TRUE_POSITIVE
    codes[is_pred & ~is_true] = FALSE_POSITIVE
    codes[is_true & ~is_pred] = FALSE_NEGATIVE
    return codes


def error_colours(codes: np.ndarray) -> np.ndarray:
    """RGBA of an :func:`error_map` (alpha 0 where there is no error)."""
    return ERROR_COLOURS[np.clip(codes, 0, len(ERROR_COLOURS) - 1)]


def class_presence(mask: np.ndarray, num_classes: int) -> np.ndarray:
    """``num_classes`` uint8: 1 for each class with at least one pixel in ``mask`` (ignore excluded)."""
    values = np.asarray(mask).ravel()
    counts = np.bincount(values[(values >= 0) & (values < num_classes)].astype(np.int64), minlength=num_classes)
    return (counts[:num_classes] > 0).astype(np.uint8)


def classes_present(mask: np.ndarray, num_classes: int) -> list[int]:
    """The classes with at least one pixel in ``mask``, ascending."""
    return [int(c) for c in np.flatnonzero(class_presence(mask, num_classes))]


def resize_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """``mask`` at another size, nearest-neighbour sampled at pixel centres (no invented classes)."""
    mask = np.asarray(mask)
    wide = mask.dtype not in (np.uint8, np.uint16, np.int16)
    source = mask.astype(np.int32) if wide else mask
    out = cv2.resize(source, (width, height), interpolation=cv2.INTER_NEAREST_EXACT)
    return out.astype(mask.dtype, copy=False)


#: RGBA of pixels whose truth is suspect (label quality): magenta filled half-opaque, so the image shows through,
#: ringed by a line dashed black and white just outside the region: a pattern no class colour has (a generated
#: palette may hold magenta: it is the first colour of ``distinct_palette``), and outside, so that a thin
#: region (a digit's stroke) keeps its fill.
SUSPECT_FILL = (255, 0, 255, 150)
SUSPECT_EDGE = ((0, 0, 0, 255), (255, 255, 255, 255))


def suspect_ring(suspect: np.ndarray) -> np.ndarray:
    """H x W bool: the pixels just outside a region (its 8-neighbours that are not in it)."""
    suspect = np.asarray(suspect, dtype=bool)
    grown = cv2.dilate(suspect.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return grown & ~suspect


def suspect_colours(suspect: np.ndarray, *, ring: bool = True) -> np.ndarray:
    """H x W x 4 RGBA of a bool mask of suspect pixels: :data:`SUSPECT_FILL` on them, with ``ring`` a line
    dashed in the two :data:`SUSPECT_EDGE` colours (alternating pixel by pixel) around them, alpha 0 elsewhere."""
    suspect = np.asarray(suspect, dtype=bool)
    rgba = np.zeros((*suspect.shape, 4), np.uint8)
    rgba[suspect] = SUSPECT_FILL
    if ring:
        y, x = np.nonzero(suspect_ring(suspect))
        rgba[y, x] = np.asarray(SUSPECT_EDGE, np.uint8)[(x + y) % 2]
    return rgba
