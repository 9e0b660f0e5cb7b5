"""CelebA: ``img_align_celeba/`` (attributes) and ``img_celeba/`` (face boxes) with their annotation lists.

``list_attr_celeba.txt``: the image count, the 40 attribute names, then one row per image of
-1/1 values: a multilabel task whose labels are the attributes. ``list_eval_partition.txt``
gives each image's split (0 train, 1 valid, 2 test). ``identity_CelebA.txt``,
``list_bbox_celeba.txt`` and ``list_landmarks_align_celeba.txt``, when present, become each
sample's ``meta``. This is torchvision's ``CelebA`` layout (its root holds ``celeba/``);
Kaggle's copy nests the images one level deeper (``img_align_celeba/img_align_celeba/``).

The boxes of ``list_bbox_celeba.txt`` (``x_1 y_1 width height``) are on the original, in-the-wild images
(``img_celeba/``, unpacked from ``img_celeba.7z``), not on the aligned crops. When that folder is there the files
offer the ``"localization"`` task too (the default, as the richer): one box per image, ``(x_1, y_1, x_1 + width,
y_1 + height)`` in pixels, class ``"face"``; each sample's meta lists the attributes that hold for the face
(``attributes``). ``Dataset.tags`` of a box task are its classes (here "face"), so filtering by attribute is the
multilabel task's (``dataset.with_task("multilabel")``, on the aligned images).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import DatasetError, default_split
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers.boxes import BoxDataset, Objects
from core.datasets.readers.files import FileDataset
from core.datasets.readers.masks import bit_palette

IMAGES = "img_align_celeba"
WILD_IMAGES = "img_celeba"
ATTRIBUTES = "list_attr_celeba.txt"
BOXES = "list_bbox_celeba.txt"
TASKS = ("localization", "multilabel")  # richest first
PARTITION = "list_eval_partition.txt"
SPLITS = ("train", "valid", "test")
FIRST_WORD = re.compile(r"^[ \t]*(\S+)", re.MULTILINE)


class Table:
    """A CelebA list file: ``header`` column names, one image id and one row of integers per line."""

    def __init__(self, path: Path, header_lines: int) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(f"CelebA: cannot read {path} ({exc})") from None
        self.path = path
        parts = text.split("\n", header_lines)
        head, body = parts[:header_lines], parts[header_lines] if len(parts) > header_lines else ""
        self.header = head[-1].split() if head else []
        # Regular expressions over the whole text, not a Python loop over 200,000 lines: 10x faster.
        self.ids = FIRST_WORD.findall(body)
        first = next((line for line in body.splitlines()[:5] if line.strip()), "")
        width = len(first.split()) - 1
        values = _integers(FIRST_WORD.sub("", body))
        if values is None or values.size != len(self.ids) * width:
            self._raise_on_bad_row(body, header_lines, width)
        self.values = values.reshape(len(self.ids), width)
        if head and head[0].strip().isdigit() and int(head[0]) != len(self.ids):
            raise DatasetError(f"CelebA: {path.name} line 1 says {int(head[0])} images but {len(self.ids)} rows follow")

    def _raise_on_bad_row(self, body: str, header_lines: int, width: int) -> None:
        for number, line in enumerate(body.splitlines(), header_lines + 1):
            words = line.split()[1:]
            if line.strip() and (len(words) != width or not all(w.lstrip("-").isdigit() for w in words)):
                found = line.split(None, 1)[1] if len(line.split()) > 1 else ""
                raise DatasetError(f"CelebA: {self.path.name}:{number}: expected {width} integers, found {found!r}")
        raise DatasetError(f"CelebA: {self.path.name} could not be read as a table of integers")

    def column(self, ids: list[str]) -> np.ndarray:
        """The rows for ``ids`` (in that order); DatasetError naming the first id the file lacks."""
        if self.ids == ids:
            return self.values
        row = {name: i for i, name in enumerate(self.ids)}
        missing = next((name for name in ids if name not in row), None)
        if missing is not None:
            raise DatasetError(f"CelebA: {self.path.name} has no row for {missing}")
        return self.values[[row[name] for name in ids]]


def _integers(text: str) -> np.ndarray | None:
    """Whitespace-separated integers; None when something else is in the way."""
    with warnings.catch_warnings():  # numpy warns (and will raise) when the text is not all numbers
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return np.fromstring(text, dtype=np.int64, sep=" ")  # 10x faster than splitting in Python
        except ValueError:
            return None


def _images_folder(root: Path, name: str = IMAGES) -> Path:
    nested = root / name / name  # Kaggle's archive unpacks into a folder of the same name
    return nested if nested.is_dir() else root / name


def _split_rows(root: Path, ids: list[str], split: str | None) -> tuple[list[str], str | None, np.ndarray]:
    """(splits, the split, the rows of ``ids`` in it) by ``list_eval_partition.txt``; no splits without it."""
    if not (root / PARTITION).is_file():
        if split is not None:
            raise DatasetError(f"CelebA at {root} has no {PARTITION}, so no split {split!r}")
        return [], None, np.arange(len(ids))
    partition = Table(root / PARTITION, header_lines=0).column(ids)[:, 0]
    if len(partition) and (partition.min() < 0 or partition.max() > 2):
        raise DatasetError(f"CelebA: {PARTITION} has split {partition.max()}; expected 0 train, 1 valid, 2 test")
    split = split or default_split(SPLITS)
    if split not in SPLITS:
        raise DatasetError(f"CelebA has no split {split!r}; it has {list(SPLITS)}")
    return list(SPLITS), split, np.flatnonzero(partition == SPLITS.index(split))


def _attributes(root: Path) -> Table:
    attributes = Table(root / ATTRIBUTES, header_lines=2)
    if len(attributes.header) != attributes.values.shape[1]:
        raise DatasetError(
            f"CelebA: {ATTRIBUTES} line 2 names {len(attributes.header)} attributes "
            f"but rows hold {attributes.values.shape[1]}"
        )
    bad = np.argwhere((attributes.values != 1) & (attributes.values != -1))
    if len(bad):
        raise DatasetError(f"CelebA: {ATTRIBUTES}: {attributes.ids[bad[0][0]]} has a value other than -1 or 1")
    return attributes


def _meta(root: Path, split_ids: list[str]) -> dict[str, tuple[list[str], np.ndarray]]:
    meta = {}
    for name, file, header_lines in (
        ("identity", "identity_CelebA.txt", 0),
        ("bbox", BOXES, 2),
        ("landmarks", "list_landmarks_align_celeba.txt", 2),
    ):
        if (root / file).is_file():
            table = Table(root / file, header_lines)
            names = table.header[1:] if name == "bbox" else table.header  # the bbox header names image_id too
            meta[name] = (names, table.column(split_ids))
    return meta


def _multilabel(root: Path, split: str | None, tasks: tuple[str, ...]) -> CelebADataset:
    attributes = _attributes(root)
    splits, split, rows = _split_rows(root, attributes.ids, split)
    split_ids = [attributes.ids[i] for i in rows]
    return CelebADataset(
        root,
        meta=_meta(root, split_ids),
        layout="CelebA",
        image_root=_images_folder(root),
        task="multilabel",
        tasks=tasks,
        classes=attributes.header,
        splits=splits,
        split=split,
        sample_ids=split_ids,
        tags=(attributes.values[rows] == 1).astype(np.uint8),
    )


def _localization(root: Path, split: str | None, tasks: tuple[str, ...]) -> CelebAFaces:
    table = Table(root / BOXES, header_lines=2)
    if table.values.shape[1] != 4:
        raise DatasetError(f"CelebA: {BOXES} rows hold {table.values.shape[1]} numbers; expected x_1 y_1 width height")
    splits, split, rows = _split_rows(root, table.ids, split)
    split_ids = [table.ids[i] for i in rows]
    x, y, w, h = table.values[rows].T.astype(np.float32)
    meta = _meta(root, split_ids)
    if (root / ATTRIBUTES).is_file():
        attributes = _attributes(root)
        meta["attributes"] = (attributes.header, attributes.column(split_ids))
    return CelebAFaces(
        root,
        boxes=np.stack([x, y, x + w, y + h], axis=1),
        meta=meta,
        layout="CelebA",
        image_root=_images_folder(root, WILD_IMAGES),
        task="localization",
        tasks=tasks,
        classes=["face"],
        palette=bit_palette(2)[1:],
        splits=splits,
        split=split,
        sample_ids=split_ids,
        tags=np.ones((len(split_ids), 1), np.uint8),
    )


def celeba_tasks(root: Path) -> tuple[str, ...]:
    """Localization when the in-the-wild images and their boxes are there; multilabel for the aligned images."""
    found = {
        "localization": (root / BOXES).is_file() and (root / WILD_IMAGES).is_dir(),
        "multilabel": (root / ATTRIBUTES).is_file() and (root / IMAGES).is_dir(),
    }
    return tuple(task for task in TASKS if found[task])


def open_celeba(root: Path, split: str | None = None, task: str | None = None) -> CelebADataset:
    """CelebA at ``root`` on ``split`` (default: test) for ``task`` (default: localization when it can)."""
    tasks = celeba_tasks(root)
    task = task or tasks[0]
    if task not in tasks:
        raise DatasetError(f"CelebA at {root} offers {', '.join(tasks)}, not {task}")
    return _localization(root, split, tasks) if task == "localization" else _multilabel(root, split, tasks)


class CelebADataset(FileDataset):
    """CelebA; ``sample_meta`` gives identity, bbox and landmarks where their files exist."""

    def __init__(self, root: Path, *, meta: dict[str, tuple[list[str], np.ndarray]], **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self._meta = meta

    def sample_meta(self, index: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, (columns, values) in self._meta.items():
            row = [int(v) for v in values[index]]
            if name == "attributes":
                out[name] = [column for column, value in zip(columns, row) if value == 1]
            else:
                out[name] = row[0] if name == "identity" else dict(zip(columns, row))
        return out


class CelebAFaces(BoxDataset, CelebADataset):
    """CelebA's in-the-wild images, one face box each (class "face"); meta as CelebADataset's plus the
    attributes that hold for the face (``attributes``: the names whose value is 1)."""

    def __init__(self, root: Path, *, boxes: np.ndarray, **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self._boxes = boxes

    def objects(self, index: int) -> Objects:
        return Objects(self._boxes[index : index + 1], np.zeros(1, np.int64))

    def box_size(self, index: int) -> tuple[int, int]:
        return self.header_size(index)

    def sample_meta(self, index: int) -> dict[str, Any]:
        return CelebADataset.sample_meta(self, index) | self.box_meta(index)


def probe_celeba(path: Path) -> Probe:
    if celeba_tasks(path):
        return Probe(path)
    for listing, images in ((ATTRIBUTES, IMAGES), (BOXES, WILD_IMAGES)):
        if (path / listing).is_file() and not (path / images).is_dir():
            return Probe(None, f"found {listing} but no {images}/", partial=True)
        if (path / images).is_dir():
            return Probe(None, f"found {images}/ but no {listing}", partial=True)
    return Probe(None, f"no {IMAGES}/ with {ATTRIBUTES}, nor {WILD_IMAGES}/ with {BOXES}")


register(
    Layout("CelebA", probe_celeba, lambda root, split: open_celeba(root, split), priority=30, open_task=open_celeba)
)
