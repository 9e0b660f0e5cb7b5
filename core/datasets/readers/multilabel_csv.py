"""Multilabel images listed in a CSV: ``labels.csv`` (image, its tags) beside an ``images/`` folder.

Two forms, with or without split folders::

    root/                          root/
      classes.txt   (optional)       classes.txt   (optional)
      labels.csv                     train/labels.csv, train/images/...
      images/...                     test/labels.csv,  test/images/...

``labels.csv`` has a header row naming an image column (``image``; also ``filename``, ``file``, ``path``,
``image_name``, ``image_id``, ``id``, ``name``) and a labels column (``labels``; also ``tags``, ``label``);
other columns are ignored. Each row gives an image path relative to ``images/`` (sub-folders allowed; a name
without an extension is matched to the image file of that stem, as Kaggle's lists often hold) and its tags,
separated by spaces; an empty field means no tag. ``classes.txt`` lists the tag names, one a line, in label
order; without it the labels are the sorted tags found in every split, so that label ``i`` means the same in
all splits. Any sub-folder holding ``labels.csv`` and ``images/`` is a split.

A tag that ``classes.txt`` does not name, a row without an image, or an image listed twice is a DatasetError
naming the file and line; an image file that is missing or broken is a SampleError of that one sample.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from core.datasets.base import DatasetError, default_split
from core.datasets.imageio import IMAGE_EXTENSIONS
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers.files import FileDataset
from core.datasets.readers.listing import subdirs, walk_images

LABELS = "labels.csv"
IMAGES = "images"
CLASSES = "classes.txt"
IMAGE_COLUMNS = ("image", "filename", "file", "path", "image_name", "image_id", "id", "name")
LABEL_COLUMNS = ("labels", "tags", "label")


def _is_listing(folder: Path) -> bool:
    return (folder / LABELS).is_file() and (folder / IMAGES).is_dir()


def split_folders(root: Path) -> list[str]:
    """Sub-folders of ``root`` that hold ``labels.csv`` and ``images/``, sorted."""
    return [name for name in subdirs(root) if _is_listing(root / name)]


def _column(header: list[str], names: tuple[str, ...], path: Path) -> int:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    raise DatasetError(f"{path}: line 1 needs a column named {' or '.join(repr(n) for n in names[:3])}; found {header}")


def read_labels(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line number, image path, tags) of every row of a ``labels.csv``."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            rows = list(csv.reader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"cannot read {path} ({exc})") from None
    if not rows:
        raise DatasetError(f"{path} is empty; expected a header row 'image,labels'")
    image_col, label_col = _column(rows[0], IMAGE_COLUMNS, path), _column(rows[0], LABEL_COLUMNS, path)
    out: list[tuple[int, str, list[str]]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        image = row[image_col].strip() if image_col < len(row) else ""
        if not image:
            raise DatasetError(f"{path}:{number}: no image in column {rows[0][image_col]!r}")
        if image in seen:
            raise DatasetError(f"{path}:{number}: {image} is listed again (first on line {seen[image]})")
        seen[image] = number
        tags = row[label_col].split() if label_col < len(row) else []
        out.append((number, image, tags))
    return out


def read_classes(root: Path) -> list[str] | None:
    """The names in ``classes.txt`` (blank lines skipped), or None when there is no such file."""
    path = root / CLASSES
    if not path.is_file():
        return None
    try:
        names = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read {path} ({exc})") from None
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DatasetError(f"{path} names {duplicates[0]!r} twice")
    return names


def _with_extensions(folder: Path, names: list[str]) -> list[str]:
    """Names without an image extension matched to the file of that stem in ``folder`` (one listing)."""
    if all(os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS for n in names):
        return names
    by_stem: dict[str, str] = {}
    for relative in walk_images(folder):
        by_stem.setdefault(os.path.splitext(relative)[0], relative)
    return [n if os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS else by_stem.get(n, n) for n in names]


def _tag_matrix(rows: list[tuple[int, str, list[str]]], classes: list[str], path: Path) -> np.ndarray:
    index = {name: i for i, name in enumerate(classes)}
    tags = np.zeros((len(rows), len(classes)), dtype=np.uint8)
    for row, (number, _, names) in enumerate(rows):
        for name in names:
            if name not in index:
                raise DatasetError(f"{path}:{number}: tag {name!r} is not in {CLASSES} ({len(classes)} labels)")
            tags[row, index[name]] = 1
    return tags


def open_multilabel_csv(root: Path, split: str | None = None) -> FileDataset:
    """Open either form of the layout (see the module docstring) on one split."""
    splits = split_folders(root) if not _is_listing(root) else []
    if splits:
        split = split or default_split(splits)
        if split not in splits:
            raise DatasetError(f"{root} has no split {split!r}; it has {splits}")
        base = root / split
    elif split is not None:
        raise DatasetError(f"{root} has no split folders, so no split {split!r}")
    else:
        base = root
    rows = read_labels(base / LABELS)
    classes = read_classes(root)
    if classes is None:  # every split's tags, so label i means the same in train and test
        found = {t for s in splits or [""] for _, _, tags in read_labels(root / s / LABELS) for t in tags}
        classes = sorted(found)
    names = _with_extensions(base / IMAGES, [image for _, image, _ in rows])
    return FileDataset(
        root,
        layout="Multilabel CSV",
        image_root=base / IMAGES,
        task="multilabel",
        classes=classes,
        splits=splits,
        split=split if splits else None,
        sample_ids=names,
        tags=_tag_matrix(rows, classes, base / LABELS),
    )


def probe_multilabel_csv(path: Path) -> Probe:
    if _is_listing(path) or split_folders(path):
        return Probe(path)
    if (path / LABELS).is_file():
        return Probe(None, f"found {LABELS} but no {IMAGES}/ beside it", partial=True)
    return Probe(None, f"no {LABELS} with an {IMAGES}/ folder (root/ or root/<split>/)")


register(Layout("Multilabel CSV", probe_multilabel_csv, open_multilabel_csv, priority=60))
