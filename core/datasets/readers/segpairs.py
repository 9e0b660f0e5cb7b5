"""Generic segmentation pairs: ``images/<stem>.<ext>`` with ``masks/<stem>.png``.

Optionally split: ``images/<split>/`` with ``masks/<split>/``. Masks hold class indices
(grayscale or palette PNGs, 255 = ignore), or colours when the classes file gives one per
class. The classes file is ``classes.txt`` (one class per line, ``name`` or
``name r g b``) or CVAT's ``labelmap.txt`` (``name:r,g,b::``). Without one, the classes are
numbered from the largest value found in a sample of the masks (``class 0`` ...).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import IGNORE_INDEX, DatasetError, SampleError, default_split
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers.files import FileDataset
from core.datasets.readers.listing import image_names, subdirs
from core.datasets.readers.masks import bit_palette, checked_mask, colours_to_indices, image_size, read_label_image

CLASS_LINE = re.compile(r"^(?P<name>.*?)(?:[\s,:]+(?P<r>\d{1,3})[\s,]+(?P<g>\d{1,3})[\s,]+(?P<b>\d{1,3}))?[\s:]*$")
SAMPLED_MASKS = 32


def read_classes(root: Path) -> tuple[list[str], np.ndarray | None] | None:
    """(names, K x 3 colours or None) from classes.txt or labelmap.txt, or None when neither exists."""
    for name in ("classes.txt", "labelmap.txt"):
        path = root / name
        if not path.is_file():
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(f"segmentation pairs: cannot read {path} ({exc})") from None
        names: list[str] = []
        colours: list[tuple[int, int, int]] = []
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            match = CLASS_LINE.match(line.strip())
            if match is None or not match["name"] or any(int(match[c] or 0) > 255 for c in "rgb"):
                raise DatasetError(
                    f"segmentation pairs: {path}:{number}: expected 'name' or 'name r g b', found {line!r}"
                )
            names.append(match["name"].strip())
            if match["r"] is not None:
                colours.append((int(match["r"]), int(match["g"]), int(match["b"])))
        if colours and len(colours) != len(names):
            raise DatasetError(f"segmentation pairs: {path} gives colours for {len(colours)} of {len(names)} classes")
        return names, np.asarray(colours, dtype=np.uint8) if colours else None
    return None


class SegmentationPairs(FileDataset):
    """Sample ids are image paths relative to ``images/``; masks are ``masks/<same stem>.png``."""

    def __init__(self, root: Path, *, masks: dict[str, str], colour_masks: bool, **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self.masks = masks
        self.colour_masks = colour_masks

    def mask_path(self, index: int) -> Path | None:
        name = self.masks.get(_stem(self.sample_ids[index]))
        return None if name is None else self.root / "masks" / name

    def load_mask(self, index: int) -> np.ndarray:
        path = self.mask_path(index)
        if path is None:
            raise SampleError(f"{self.sample_ids[index]}: no mask with the same name in masks/")
        raw = read_label_image(path)
        if raw.ndim == 3:
            if not self.colour_masks:
                raise SampleError(f"{path.name}: a colour mask, but the classes file gives no colours")
            raw = colours_to_indices(raw, self.palette, path.name)
        return checked_mask(raw, image_size(self.checked_path(index)), len(self.classes), path.name)


def _stem(relative: str) -> str:
    return os.path.splitext(relative)[0]


def _pairs(root: Path, prefix: str) -> tuple[list[str], dict[str, str]]:
    """(image paths, stem -> mask path), relative to images/ and masks/, for one split (or none)."""
    images = [prefix + name for name in image_names(root / "images" / prefix)]
    masks = [prefix + name for name in image_names(root / "masks" / prefix)]
    seen: dict[str, str] = {}
    for name in images:
        if _stem(name) in seen:
            raise DatasetError(f"segmentation pairs: images/{seen[_stem(name)]} and images/{name} share one mask name")
        seen[_stem(name)] = name
    return images, {_stem(name): name for name in masks}


def _num_classes(root: Path, masks: list[str]) -> tuple[int, bool]:
    """(1 + the largest class value in a sample of masks, whether they are colour masks)."""
    step = max(1, len(masks) // SAMPLED_MASKS)
    largest, colour = 0, False
    for name in masks[::step][:SAMPLED_MASKS]:
        try:
            raw = read_label_image(root / "masks" / name)
        except Exception:  # a broken mask is that sample's error, shown when it is viewed
            continue
        colour = colour or raw.ndim == 3
        values = np.unique(raw)
        values = values[values != IGNORE_INDEX]
        largest = max(largest, int(values.max()) if len(values) else 0)
    return largest + 1, colour


def open_pairs(root: Path, split: str | None = None) -> SegmentationPairs:
    splits = [s for s in subdirs(root / "images") if (root / "masks" / s).is_dir() and image_names(root / "images" / s)]
    if splits:
        split = split or default_split(splits)
        if split not in splits:
            raise DatasetError(f"segmentation pairs at {root} have no split {split!r}; they have {splits}")
    elif split is not None:
        raise DatasetError(f"segmentation pairs at {root} have no split folders, so no split {split!r}")
    ids, masks = _pairs(root, f"{split}/" if split else "")
    if not ids:
        raise DatasetError(f"segmentation pairs: {root / 'images'} holds no images")
    declared = read_classes(root)
    if declared is not None:
        names, colours = declared
        palette, colour_masks = (colours, True) if colours is not None else (bit_palette(len(names)), False)
    else:
        count, colour_masks = _num_classes(root, list(masks.values()))
        if colour_masks:
            raise DatasetError(
                f"segmentation pairs: {root / 'masks'} holds colour masks; add classes.txt with 'name r g b' lines"
            )
        names, palette = [f"class {i}" for i in range(count)], bit_palette(count)
    return SegmentationPairs(
        root,
        masks=masks,
        colour_masks=colour_masks,
        layout="Segmentation pairs",
        image_root=root / "images",
        task="segmentation",
        classes=names,
        splits=splits,
        split=split,
        sample_ids=ids,
        palette=palette,
    )


def probe_pairs(path: Path) -> Probe:
    if (path / "images").is_dir() and (path / "masks").is_dir():
        return Probe(path)
    return Probe(None, "no images/ with masks/ (matching file names)")


register(Layout("Segmentation pairs", probe_pairs, open_pairs, priority=60))
