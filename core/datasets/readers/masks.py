"""Reading class masks: label PNGs as class indices, colour masks through a palette, checks.

A mask problem (missing file, size unlike the image's, a value that is no class) is a
SampleError of that one sample, never an error of the whole dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.datasets.base import IGNORE_INDEX, SampleError
from core.datasets.imageio import check_pixels
from core.system.files import open_regular


def read_label_image(path: Path) -> np.ndarray:
    """The raw values of a label image: H x W indices (palette, gray, 16-bit) or H x W x 3 colours.

    Palette PNGs give their indices, not their colours: that is how VOC stores classes.
    """
    from PIL import Image

    try:
        with open_regular(path) as file, Image.open(file) as img:
            check_pixels(img.size, path.name)
            if img.mode in ("RGBA", "LA"):
                img = img.convert(img.mode[:-1])
            elif img.mode not in ("P", "L", "I", "I;16", "I;16B", "1", "RGB"):
                img = img.convert("RGB")
            array = np.asarray(img)
    except FileNotFoundError:
        raise SampleError(f"{path.name}: mask file is missing") from None
    except SampleError:
        raise
    except Exception as exc:  # Pillow raises many types for broken files
        raise SampleError(f"{path.name}: cannot decode mask ({type(exc).__name__}: {exc})") from None
    return array.astype(np.uint8) if array.dtype == bool else array


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) of an image from its header, turned by its EXIF orientation as read_image does."""
    from PIL import Image

    try:
        with open_regular(path) as file, Image.open(file) as img:
            width, height = img.size
            if img.format == "JPEG" and img.getexif().get(0x0112, 1) in (5, 6, 7, 8):
                width, height = height, width
    except FileNotFoundError:
        raise SampleError(f"{path.name}: image file is missing") from None
    except Exception as exc:
        raise SampleError(f"{path.name}: cannot read the image header ({type(exc).__name__}: {exc})") from None
    return height, width


def colours_to_indices(colours: np.ndarray, palette: np.ndarray, name: str, ignore: tuple[int, ...] = ()) -> np.ndarray:
    """H x W x 3 colours -> H x W class indices by ``palette`` (K x 3); ``ignore`` colour -> 255."""
    keys = _keys(colours[:, :, :3])
    table = {int(k): i for i, k in enumerate(_keys(palette))}
    if ignore:
        table[int(_keys(np.asarray([ignore]))[0])] = IGNORE_INDEX
    unique, inverse = np.unique(keys, return_inverse=True)
    lookup = np.empty(len(unique), dtype=np.int64)
    for i, key in enumerate(unique):
        if int(key) not in table:
            rgb = (int(key) >> 16, (int(key) >> 8) & 255, int(key) & 255)
            raise SampleError(f"{name}: mask colour {rgb} is not in the palette")
        lookup[i] = table[int(key)]
    return lookup[inverse].reshape(keys.shape)


def _keys(colours: np.ndarray) -> np.ndarray:
    c = colours.astype(np.int64)
    return (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]


def checked_mask(mask: np.ndarray, size: tuple[int, int], num_classes: int, name: str) -> np.ndarray:
    """``mask`` as uint8 (int32 past 255 classes) after checking its size and values; else SampleError."""
    if mask.ndim != 2:
        raise SampleError(f"{name}: mask has shape {mask.shape}, expected one value per pixel")
    if mask.shape != tuple(size):
        raise SampleError(f"{name}: mask is {mask.shape[1]}x{mask.shape[0]} but the image is {size[1]}x{size[0]}")
    values = np.unique(mask)
    bad = values[((values < 0) | (values >= num_classes)) & (values != IGNORE_INDEX)]
    if len(bad):
        raise SampleError(
            f"{name}: mask value {int(bad[0])} is not a class (0..{num_classes - 1}) or {IGNORE_INDEX} (ignore)"
        )
    return mask.astype(np.uint8 if num_classes <= IGNORE_INDEX else np.int32, copy=False)


def bit_palette(n: int) -> np.ndarray:
    """The VOC colour map (bits of the index spread over R, G, B): distinct colours for n classes."""
    index = np.arange(n)
    palette = np.zeros((n, 3), dtype=np.int64)
    for bit in range(8):
        for channel in range(3):
            palette[:, channel] |= ((index >> (3 * bit + channel)) & 1) << (7 - bit)
    return palette.astype(np.uint8)
