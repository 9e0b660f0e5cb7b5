"""ImageNet (ILSVRC 2012 classification) as people keep it on disk.

- ``train/`` and ``val/`` holding one folder per synset (``n01440764/*.JPEG``), as
  torchvision's ``ImageNet`` and ``ImageFolder`` expect;
- Kaggle's layout: ``ILSVRC/Data/CLS-LOC/{train,val,test}/`` next to
  ``LOC_synset_mapping.txt``, with a flat ``val/`` labelled by ``LOC_val_solution.csv``
  (``ImageId,PredictionString``; the first word of the prediction string is the synset).

Classes are the synsets in ``LOC_synset_mapping.txt`` order (``n01440764 tench, Tinca tinca``),
else in sorted order, which is the order torchvision's ImageNet models predict in; without
the mapping file the 1000 standard synsets get torchvision's category names.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import numpy as np

from core.datasets.base import UNLABELED, DatasetError, default_split
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers.files import FileDataset
from core.datasets.readers.listing import image_names, subdirs
from core.datasets.readers.torchvision_names import torchvision_literal

SYNSET = re.compile(r"n\d{8}")
SPLITS = ("train", "val", "test")
MAPPING = "LOC_synset_mapping.txt"
KAGGLE_IMAGES = Path("ILSVRC", "Data", "CLS-LOC")


def _image_root(root: Path) -> Path:
    return root / KAGGLE_IMAGES if (root / KAGGLE_IMAGES).is_dir() else root


def _synset_dirs(folder: Path) -> list[str]:
    return [name for name in subdirs(folder) if SYNSET.fullmatch(name)]


def _splits(image_root: Path) -> dict[str, list[str]]:
    """split -> its synset folders ([] for a flat folder of images)."""
    found = {}
    for split in SPLITS:
        synsets = _synset_dirs(image_root / split)
        if synsets or image_names(image_root / split):
            found[split] = synsets
    return found


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"ImageNet: cannot read {path} ({exc})") from None


def _read_mapping(path: Path) -> tuple[list[str], list[str]]:
    """(synsets, names) of LOC_synset_mapping.txt; a name is the first of its synonyms."""
    synsets, names = [], []
    for number, line in enumerate(_lines(path), 1):
        if not line.strip():
            continue
        wnid, _, words = line.strip().partition(" ")
        if not SYNSET.fullmatch(wnid):
            raise DatasetError(f"ImageNet: {path}:{number}: expected 'n01440764 tench, ...', found {line!r}")
        synsets.append(wnid)
        names.append(words.split(",")[0].strip() or wnid)
    return synsets, names


def _read_solution(path: Path) -> dict[str, str]:
    """ImageId -> synset of a LOC_<split>_solution.csv."""
    labels = {}
    reader = csv.reader(_lines(path))
    header = next(reader, None)
    if header is None or [h.strip() for h in header[:2]] != ["ImageId", "PredictionString"]:
        raise DatasetError(f"ImageNet: {path} should start with the header 'ImageId,PredictionString'")
    for number, row in enumerate(reader, 2):
        words = row[1].split() if len(row) >= 2 else []
        if not words or not SYNSET.fullmatch(words[0]):
            raise DatasetError(f"ImageNet: {path}:{number}: no synset in {','.join(row)!r}")
        labels[row[0]] = words[0]
    return labels


def _unique(names: list[str], synsets: list[str]) -> list[str]:
    """ImageNet repeats some names ("crane", "maillot"); the synset tells them apart."""
    counts = Counter(names)
    return [f"{n} ({s})" if counts[n] > 1 else n for n, s in zip(names, synsets)]


def _classes(root: Path, splits: dict[str, list[str]], solution: dict[str, str]) -> tuple[list[str], list[str]]:
    if (root / MAPPING).is_file():
        synsets, names = _read_mapping(root / MAPPING)
        return synsets, _unique(names, synsets)
    synsets = sorted({s for found in splits.values() for s in found} | set(solution.values()))
    categories = torchvision_literal("models._meta", "_IMAGENET_CATEGORIES")
    names = categories if isinstance(categories, list) and len(categories) == len(synsets) == 1000 else synsets
    return synsets, _unique(list(names), synsets)


def open_imagenet(root: Path, split: str | None = None) -> FileDataset:
    image_root = _image_root(root)
    splits = _splits(image_root)
    split = split or default_split(list(splits))
    if split not in splits:
        raise DatasetError(f"ImageNet at {root} has no split {split!r}; it has {list(splits)}")
    solution_path = root / f"LOC_{split}_solution.csv"
    solution = _read_solution(solution_path) if not splits[split] and solution_path.is_file() else {}
    synsets, names = _classes(root, splits, solution)
    index = {wnid: i for i, wnid in enumerate(synsets)}
    ids: list[str] = []
    targets: list[int] | np.ndarray = []
    if splits[split]:
        counts = []
        for wnid in splits[split]:
            if wnid not in index:
                raise DatasetError(f"ImageNet: folder {split}/{wnid} is not a synset of {MAPPING}")
            files = image_names(image_root / split / wnid)
            ids += map(f"{split}/{wnid}/".__add__, files)  # C-level: 1.28M f-strings in a generator cost 0.2 s more
            counts.append(len(files))
        targets = np.repeat([index[wnid] for wnid in splits[split]], counts)
    else:
        for name in image_names(image_root / split):
            wnid = solution.get(name.rsplit(".", 1)[0])
            if wnid is not None and wnid not in index:
                raise DatasetError(f"ImageNet: {solution_path.name} labels {name} {wnid}, not a synset of {MAPPING}")
            ids.append(f"{split}/{name}")
            targets.append(index[wnid] if wnid else UNLABELED)
    dataset = FileDataset(
        root,
        layout="ImageNet",
        image_root=image_root,
        task="multiclass",
        classes=names,
        splits=list(splits),
        split=split,
        sample_ids=ids,
        targets=np.asarray(targets, dtype=np.int64),
    )
    dataset.synsets = synsets
    return dataset


def probe_imagenet(path: Path) -> Probe:
    image_root = _image_root(path)
    splits = _splits(image_root)
    if any(splits.values()) or (splits and (path / MAPPING).is_file()):
        return Probe(path)
    if (path / MAPPING).is_file():
        return Probe(
            None, f"found {MAPPING} but no train/ or val/ (nor ILSVRC/Data/CLS-LOC/) with images", partial=True
        )
    return Probe(None, "no train/ or val/ with synset folders (n01440764/...), nor ILSVRC/Data/CLS-LOC/")


register(Layout("ImageNet", probe_imagenet, open_imagenet, priority=40))
