"""Pascal VOC segmentation: ``VOCdevkit/VOC20xx/`` with JPEGImages, SegmentationClass, ImageSets.

``ImageSets/Segmentation/{train,val,trainval}.txt`` list image ids; ``JPEGImages/<id>.jpg``
is the image and ``SegmentationClass/<id>.png`` a palette PNG whose indices are the 21
classes (0 = background) and 255 the void border. Masks saved as RGB are mapped back
through the VOC colours. The dataset root is the ``VOC20xx`` folder; picking ``VOCdevkit``
or torchvision's root above it works too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.datasets.base import DatasetError, default_split
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers.files import FileDataset
from core.datasets.readers.listing import subdirs
from core.datasets.readers.masks import bit_palette, checked_mask, colours_to_indices, image_size, read_label_image
from core.datasets.readers.torchvision_names import class_names

NUM_CLASSES = 21
VOID_COLOUR = (224, 224, 192)
SETS = Path("ImageSets", "Segmentation")


class VOCDataset(FileDataset):
    """Sample ids are VOC image ids (``2007_000032``)."""

    def sample_path(self, index: int) -> Path:
        return self.root / "JPEGImages" / f"{self.sample_ids[index]}.jpg"

    def mask_path(self, index: int) -> Path:
        return self.root / "SegmentationClass" / f"{self.sample_ids[index]}.png"

    def load_mask(self, index: int) -> np.ndarray:
        path = self.mask_path(index)
        raw = read_label_image(path)
        if raw.ndim == 3:
            raw = colours_to_indices(raw, self.palette, path.name, ignore=VOID_COLOUR)
        return checked_mask(raw, image_size(self.checked_path(index)), NUM_CLASSES, path.name)


def _read_ids(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"VOC: cannot read {path} ({exc})") from None
    ids = []
    for number, line in enumerate(lines, 1):
        words = line.split()
        if len(words) > 1:  # the classification lists hold "<id> <1|-1>"; segmentation lists only ids
            raise DatasetError(f"VOC: {path}:{number}: expected one image id, found {line!r}")
        ids.extend(words)
    return ids


def open_voc(root: Path, split: str | None = None) -> VOCDataset:
    splits = sorted(p.stem for p in (root / SETS).glob("*.txt"))
    split = split or default_split(splits)
    if split not in splits:
        raise DatasetError(f"VOC at {root} has no split {split!r}; it has {splits} in {SETS}")
    names = class_names("models._meta", "_VOC_CATEGORIES", None, NUM_CLASSES)
    names[0] = "background"  # torchvision says "__background__"
    return VOCDataset(
        root,
        layout="Pascal VOC",
        task="segmentation",
        classes=names,
        splits=splits,
        split=split,
        sample_ids=_read_ids(root / SETS / f"{split}.txt"),
        palette=bit_palette(NUM_CLASSES),
    )


def _why_not(path: Path) -> tuple[str, bool]:
    parts = ("JPEGImages", "SegmentationClass", str(SETS))
    found = [p for p in parts if (path / p).is_dir()]
    missing = [p for p in parts if p not in found]
    if not found:
        return "no JPEGImages/ with SegmentationClass/ and ImageSets/Segmentation/ (VOCdevkit/VOC20xx/)", False
    return (
        f"found {', '.join(found)} but no {', '.join(missing)}",
        "SegmentationClass" in found or path.name.startswith("VOC"),
    )


def _is_voc(path: Path) -> bool:
    return all((path / p).is_dir() for p in ("JPEGImages", "SegmentationClass", SETS))


def probe_voc(path: Path) -> Probe:
    devkit = path / "VOCdevkit" if (path / "VOCdevkit").is_dir() else path
    years = [devkit / name for name in reversed(subdirs(devkit)) if name.startswith("VOC")]
    for candidate in [path, *years]:  # the newest year first
        if _is_voc(candidate):
            return Probe(candidate)
    why, partial = _why_not(years[0] if years and not (path / "JPEGImages").is_dir() else path)
    return Probe(None, why, partial=partial)


register(Layout("Pascal VOC", probe_voc, open_voc, priority=30))
