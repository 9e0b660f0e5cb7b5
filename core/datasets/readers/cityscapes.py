"""Cityscapes fine annotations: ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` and
``gtFine/<split>/<city>/*_gtFine_labelIds.png``.

The label images hold Cityscapes' 34 label ids; evaluation uses 19 of them, renumbered as
"train ids" 0..18, and every other id is ignored (255). The table of ids, train ids and
colours is torchvision's ``Cityscapes.classes``. The evaluation split is ``val``: the
public ``test`` labels are blank.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import IGNORE_INDEX, DatasetError, SampleError
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers.files import FileDataset
from core.datasets.readers.listing import image_names, subdirs
from core.datasets.readers.masks import checked_mask, image_size, read_label_image
from core.datasets.readers.torchvision_names import torchvision_literal

IMAGE_SUFFIX = "_leftImg8bit.png"
LABEL_SUFFIX = "_gtFine_labelIds.png"


def train_id_table() -> tuple[list[str], np.ndarray, np.ndarray]:
    """(19 class names, their K x 3 colours, a 256-entry label id -> train id lookup, 255 elsewhere)."""
    table = torchvision_literal("datasets.cityscapes", "Cityscapes", "classes")
    if not table:
        raise DatasetError(
            "Cityscapes: torchvision's Cityscapes.classes table (label ids -> train ids) is not available"
        )
    train = sorted((row[2], row[0], row[7], row[1]) for row in table if 0 <= row[2] < IGNORE_INDEX and row[1] >= 0)
    lookup = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for train_id, _, _, label_id in train:
        lookup[label_id] = train_id
    names = [name for _, name, _, _ in train]
    colours = np.asarray([colour for _, _, colour, _ in train], dtype=np.uint8)
    return names, colours, lookup


class CityscapesDataset(FileDataset):
    """Sample ids are ``<city>/<city>_<sequence>_<frame>``."""

    def __init__(self, root: Path, *, lookup: np.ndarray, **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self.lookup = lookup

    def sample_path(self, index: int) -> Path:
        return self.root / "leftImg8bit" / self.split / f"{self.sample_ids[index]}{IMAGE_SUFFIX}"

    def mask_path(self, index: int) -> Path:
        return self.root / "gtFine" / self.split / f"{self.sample_ids[index]}{LABEL_SUFFIX}"

    def load_mask(self, index: int) -> np.ndarray:
        path = self.mask_path(index)
        label_ids = read_label_image(path)
        if label_ids.ndim != 2 or label_ids.dtype != np.uint8:
            raise SampleError(
                f"{path.name}: expected 8-bit label ids, found {label_ids.dtype} of shape {label_ids.shape}"
            )
        return checked_mask(self.lookup[label_ids], image_size(self.checked_path(index)), len(self.classes), path.name)


def _frames(folder: Path, problems: list[str]) -> list[str]:
    """``<city>/<frame>`` of every image of the split's city folders (a city that cannot be listed: a problem)."""
    ids = []
    for city in subdirs(folder, problems):
        names = [name for name in image_names(folder / city, problems) if name.endswith(IMAGE_SUFFIX)]
        ids.extend(f"{city}/{name[: -len(IMAGE_SUFFIX)]}" for name in names)
    return ids


def open_cityscapes(root: Path, split: str | None = None) -> CityscapesDataset:
    splits = [s for s in subdirs(root / "leftImg8bit") if (root / "gtFine" / s).is_dir()]
    split = split or ("val" if "val" in splits else (splits or [None])[0])
    if split not in splits:
        raise DatasetError(
            f"Cityscapes at {root} has no split {split!r} in both leftImg8bit/ and gtFine/; it has {splits}"
        )
    names, colours, lookup = train_id_table()
    problems: list[str] = []
    dataset = CityscapesDataset(
        root,
        lookup=lookup,
        layout="Cityscapes",
        task="segmentation",
        classes=names,
        splits=splits,
        split=split,
        sample_ids=_frames(root / "leftImg8bit" / split, problems),
        palette=colours,
    )
    dataset.notices += problems
    return dataset


def probe_cityscapes(path: Path) -> Probe:
    images, labels = (path / "leftImg8bit").is_dir(), (path / "gtFine").is_dir()
    if images and labels:
        return Probe(path)
    if images or labels:
        found, missing = ("leftImg8bit", "gtFine") if images else ("gtFine", "leftImg8bit")
        return Probe(None, f"found {found}/ but no {missing}/", partial=True)
    return Probe(None, "no leftImg8bit/ with gtFine/")


register(Layout("Cityscapes", probe_cityscapes, open_cityscapes, priority=30))
