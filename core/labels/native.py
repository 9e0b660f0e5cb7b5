"""Writers of datasets' own annotation formats: CelebA lists, Food-101 meta lists, ImageNet synset folders.

Each writes what its reader in ``core.datasets.readers`` reads back, so an export opens with
``open_dataset`` like the original did, with the user's labels.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.labels.errors import ExportError
from core.labels.writers import Placer, SplitLabels, file_name, folder_names, require_classes, total

if TYPE_CHECKING:
    from core.labels.export import ExportResult

CELEBA_SPLITS = {"train": 0, "valid": 1, "test": 2}
CELEBA_EXTRA_LISTS = ("identity_CelebA.txt", "list_bbox_celeba.txt", "list_landmarks_align_celeba.txt")
FOOD_SPLITS = ("train", "test")
JPEG_SUFFIXES = (".jpg", ".jpeg")


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _check_splits(splits: list[SplitLabels], known, format: str) -> None:
    odd = [part.split for part in splits if part.split and part.split not in known]
    if odd:
        raise ExportError(f"{format} knows the splits {list(known)}, not {odd}; export to CSV instead")


def write_celeba(temp: Path, splits: list[SplitLabels], result: ExportResult, *, link: str, progress) -> None:
    """``img_align_celeba/``, ``list_attr_celeba.txt`` (1 / -1 per tag) and ``list_eval_partition.txt``."""
    if splits[0].tags is None:
        raise ExportError("the CelebA format holds tags (multilabel); this dataset has none")
    _check_splits(splits, CELEBA_SPLITS, "CelebA's partition")
    names = [re.sub(r"\s+", "_", name) for name in splits[0].dataset.classes]
    placer = Placer(temp, result, link, progress, total(splits))
    (temp / "img_align_celeba").mkdir()
    attributes, partition = [], []
    for part in splits:
        for i in np.flatnonzero(part.keep):
            relative = placer.put(part, i, "img_align_celeba", file_name(part.dataset, i))
            if relative is None:
                continue
            image = relative.split("/", 1)[1]
            attributes.append(f"{image} " + " ".join(" 1" if v else "-1" for v in part.tags[i]))
            if part.split:
                partition.append(f"{image} {CELEBA_SPLITS[part.split]}")
    _write(temp / "list_attr_celeba.txt", [str(len(attributes)), " ".join(names), *attributes])
    if partition:
        _write(temp / "list_eval_partition.txt", partition)
    root = splits[0].dataset.root
    for extra in CELEBA_EXTRA_LISTS:  # looked up by image name, so extra rows of left-out images do no harm
        if splits[0].dataset.layout == "CelebA" and (root / extra).is_file():
            shutil.copyfile(root / extra, temp / extra)


def write_food101(temp: Path, splits: list[SplitLabels], result: ExportResult, *, link: str, progress) -> None:
    """``images/<class>/<id>.jpg`` with ``meta/classes.txt``, ``labels.txt``, ``train.txt``, ``test.txt``."""
    require_classes(splits, "Food-101's meta lists")
    _check_splits(splits, FOOD_SPLITS, "Food-101")
    dataset = splits[0].dataset
    for part in splits:
        for i in np.flatnonzero(part.keep):
            if not file_name(part.dataset, i).lower().endswith(JPEG_SUFFIXES):
                raise ExportError(
                    f"Food-101 lists JPEG images only, and {part.dataset.sample_ids[i]} is not one; "
                    "export to an image folder instead"
                )
    folders = folder_names(dataset.classes)
    placer = Placer(temp, result, link, progress, total(splits))
    lists: dict[str, list[str]] = {}
    for part in splits:
        entries = lists.setdefault(part.split or "test", [])
        for i in np.flatnonzero(part.keep):
            stem = Path(file_name(part.dataset, i)).stem
            relative = placer.put(part, i, f"images/{folders[part.targets[i]]}", f"{stem}.jpg")
            if relative is not None:
                entries.append(relative[len("images/") : -len(".jpg")])
    (temp / "images").mkdir(exist_ok=True)
    readable = getattr(dataset, "class_labels", None) or list(dataset.classes)
    _write(temp / "meta" / "classes.txt", folders)
    _write(temp / "meta" / "labels.txt", list(readable))
    for split, entries in lists.items():
        _write(temp / "meta" / f"{split}.txt", entries)


def write_imagenet(temp: Path, splits: list[SplitLabels], result: ExportResult, *, link: str, progress) -> None:
    """``<split>/<wnid>/<file>`` synset folders and ``LOC_synset_mapping.txt`` (flat Kaggle val becomes folders)."""
    require_classes(splits, "ImageNet's synset folders")
    dataset = splits[0].dataset
    synsets = getattr(dataset, "synsets", None)
    if synsets is None:
        raise ExportError("ImageNet folders are named by synset (n01440764); this dataset has no synset ids")
    placer = Placer(temp, result, link, progress, total(splits))
    for part in splits:
        split = part.split or "val"
        for i in np.flatnonzero(part.keep):
            placer.put(part, i, f"{split}/{synsets[part.targets[i]]}", file_name(part.dataset, i))
    mapping = dataset.root / "LOC_synset_mapping.txt"
    if mapping.is_file():
        shutil.copyfile(mapping, temp / mapping.name)
    else:
        _write(temp / mapping.name, [f"{wnid} {name}" for wnid, name in zip(synsets, dataset.classes)])
