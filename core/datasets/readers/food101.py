"""Food-101: ``images/<class>/<id>.jpg`` with the split lists in ``meta/``.

``meta/train.json`` / ``meta/test.json`` map each class to its ``"<class>/<id>"`` entries
(``meta/train.txt`` / ``meta/test.txt`` hold the same, one per line); ``meta/classes.txt``
lists the class folders (``apple_pie``) and ``meta/labels.txt`` their names ("Apple pie").
Classes are numbered in the order of ``classes.txt``, which is sorted, as torchvision's
``Food101`` numbers them; the readable names are in ``Dataset.class_labels``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.datasets.base import DatasetError, default_split
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers.files import FileDataset

SPLITS = ("train", "test")


def _lines(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"Food-101: cannot read {path} ({exc})") from None


def _entries_from_json(path: Path) -> list[tuple[str, str]]:
    """(class, "class/id") pairs of a split json."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"Food-101: {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"Food-101: cannot read {path} ({exc})") from None
    if not isinstance(data, dict):
        raise DatasetError(f"Food-101: {path} should map class names to image lists")
    pairs = []
    for name, items in data.items():
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise DatasetError(f"Food-101: {path} key {name!r} should hold a list of 'class/id' strings")
        pairs.extend((name, item) for item in items)
    return pairs


def _entries_from_txt(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for number, line in enumerate(_lines(path), 1):
        if not line:
            continue
        if "/" not in line:
            raise DatasetError(f"Food-101: {path}:{number}: expected 'class/id', found {line!r}")
        pairs.append((line.split("/", 1)[0], line))
    return pairs


def _split_file(meta: Path, split: str) -> Path | None:
    for candidate in (meta / f"{split}.json", meta / f"{split}.txt"):
        if candidate.is_file():
            return candidate
    return None


def open_food(root: Path, split: str | None = None) -> FileDataset:
    meta = root / "meta"
    splits = [s for s in SPLITS if _split_file(meta, s)]
    split = split or default_split(splits)
    path = _split_file(meta, split) if split in SPLITS else None
    if path is None:
        raise DatasetError(f"Food-101 at {root} has no split {split!r}; it has {splits}")
    pairs = _entries_from_json(path) if path.suffix == ".json" else _entries_from_txt(path)
    classes = _lines(meta / "classes.txt") if (meta / "classes.txt").is_file() else sorted({c for c, _ in pairs})
    classes = [c for c in classes if c]
    index = {name: i for i, name in enumerate(classes)}
    targets = np.empty(len(pairs), dtype=np.int64)
    for i, (name, _) in enumerate(pairs):
        if name not in index:
            raise DatasetError(f"Food-101: {path.name} names class {name!r}, which meta/classes.txt does not list")
        targets[i] = index[name]
    labels_path = meta / "labels.txt"
    labels = [line for line in _lines(labels_path) if line] if labels_path.is_file() else []
    dataset = FileDataset(
        root,
        layout="Food-101",
        image_root=root / "images",
        task="multiclass",
        classes=classes,
        splits=splits,
        split=split,
        sample_ids=[f"{item}.jpg" for _, item in pairs],
        targets=targets,
    )
    dataset.class_labels = labels if len(labels) == len(classes) else list(classes)
    return dataset


def probe_food(path: Path) -> Probe:
    has_images = (path / "images").is_dir()
    has_split = any(_split_file(path / "meta", s) for s in SPLITS)
    if has_images and has_split:
        return Probe(path)
    if has_images and (path / "meta").is_dir():
        partial = (path / "meta" / "classes.txt").is_file()
        return Probe(None, "found images/ and meta/ but no meta/train.json|txt or meta/test.json|txt", partial=partial)
    return Probe(None, "no images/ with meta/train.json|txt, meta/test.json|txt")


register(Layout("Food-101", probe_food, open_food, priority=30))
