"""Ultralytics YOLO: ``data.yaml`` with ``images/<split>/`` and ``labels/<split>/`` (or Roboflow's ``<split>/images``).

``data.yaml`` (also ``data.yml``, ``dataset.yaml``) names the splits and the classes::

    path: .                # optional: the dataset root, relative to the yaml's folder (see below)
    train: images/train    # a folder of images, a .txt listing images, or a list of these
    val: images/val
    test:                  # optional
    names: [person, car]   # or {0: person, 1: car}

Each image ``.../images/<rest>/x.jpg`` has its labels in ``.../labels/<rest>/x.txt``: one object a line,
``class cx cy w h`` (a box: centre and size, normalised to the image's width and height) or
``class x1 y1 x2 y2 ...`` (a polygon of at least 3 points, normalised: an instance mask). An image without a label
file, or with an empty one, has no objects. Boxes become pixels ``(cx - w/2) * W ...`` with the image's size
read from its header when the sample is read; a polygon's box is its extent. When any label holds a polygon the
dataset offers instance segmentation (the default) beside detection; a box line's mask is then its rectangle.

Roboflow's export puts ``data.yaml`` beside ``train/images``, ``valid/images``... and writes ``train:
../train/images``; as Ultralytics does, a ``../`` path that does not exist is read without its ``../``.

Bounds and safety: the yaml is read with ``yaml.safe_load`` (no Python objects; its ``download:`` script is never
run) and refused above MAX_YAML_BYTES; ``path``, split folders and list files must stay inside the yaml's folder
(an absolute ``path`` written on another machine, ``/content/datasets/x``, is ignored with a notice); a label file
above MAX_LABEL_BYTES, or with a line that is not numbers, is its image's error (``SampleError`` on
``boxes()``), counted in the dataset's ``notices``. Coordinates outside 0..1 are clipped to the image like every
box reader's (``readers/boxes.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from core.datasets.base import DatasetError, SampleError, default_split
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers.boxes import BoxDataset, Objects, presence, read_capped
from core.datasets.readers.coco import rasterise
from core.datasets.readers.files import is_inside
from core.datasets.readers.listing import walk_images
from core.datasets.readers.masks import bit_palette

YAML_NAMES = ("data.yaml", "data.yml", "dataset.yaml", "dataset.yml")
SPLIT_KEYS = ("train", "val", "test")
TASKS = ("instance_segmentation", "detection")
#: A data.yaml is a few KB (COCO's 80 names included); a larger one is not read.
MAX_YAML_BYTES = 1 << 20
#: A label file of 30,000 objects; a larger one is its image's error, not read.
MAX_LABEL_BYTES = 1 << 20
#: A .txt list of image paths (Ultralytics' ``train: train.txt``); 64 MB is over a million paths.
MAX_LIST_BYTES = 64 << 20


@dataclass
class Labels:
    """One image's label file: classes, normalised boxes (x0, y0, x1, y1) and polygons (None: a box line)."""

    classes: np.ndarray
    boxes: np.ndarray
    polygons: list[np.ndarray | None]
    error: str | None = None


def no_labels(error: str | None = None) -> Labels:
    """An image without objects (a new one each time: its arrays are the caller's)."""
    return Labels(np.zeros(0, np.int64), np.zeros((0, 4), np.float32), [], error)


def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = read_capped(path, MAX_YAML_BYTES, "the dataset yaml").decode("utf-8")
        data = yaml.safe_load(text)
    except SampleError as exc:
        raise DatasetError(f"YOLO: {exc}") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"YOLO: {path.name} is not UTF-8 text ({exc})") from None
    except yaml.YAMLError as exc:
        raise DatasetError(f"YOLO: {path.name} is not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise DatasetError(f"YOLO: {path.name} holds a {type(data).__name__}, not a mapping of path, train, val, names")
    return data


def _names(data: dict[str, Any], where: str) -> list[str]:
    """The class names of ``names`` (a list, or a mapping id -> name with ids 0..n-1), or ``nc`` unnamed ones."""
    names = data.get("names")
    if isinstance(names, list) and all(isinstance(n, (str, int, float)) for n in names):
        found = [str(n) for n in names]
    elif isinstance(names, dict):
        keys = list(names)
        if not all(isinstance(k, int) and not isinstance(k, bool) for k in keys) or sorted(keys) != list(
            range(len(keys))
        ):
            raise DatasetError(f"YOLO: {where} names has ids {keys[:10]}; expected the integers 0..{len(keys) - 1}")
        found = [str(names[k]) for k in range(len(keys))]
    elif names is None and isinstance(data.get("nc"), int) and 0 < data["nc"] <= 100_000:
        found = [f"class {i}" for i in range(data["nc"])]
    else:
        raise DatasetError(f"YOLO: {where} has no names (a list of class names, or {{0: name, ...}})")
    nc = data.get("nc")
    if nc is not None and nc != len(found):
        raise DatasetError(f"YOLO: {where} says nc: {nc} but names {len(found)} classes")
    return found


def _root(yaml_path: Path, data: dict[str, Any], notices: list[str]) -> Path:
    """The dataset root: the yaml's folder, or its ``path`` when that is a folder inside it."""
    folder = yaml_path.parent
    value = data.get("path")
    if value in (None, "", "."):
        return folder
    if isinstance(value, str) and is_inside(value) and (folder / value).is_dir():
        return folder / value
    notices.append(f"YOLO: {yaml_path.name} says path: {value}; read from the yaml's folder {folder} instead")
    return folder


def _resolve(root: Path, value: str, where: str) -> Path | None:
    """A split entry as a path inside ``root``; Roboflow's ``../train/images`` without its ``../``; None if absent."""
    candidates = [value] + ([value[3:]] if value.startswith("../") else [])
    for relative in candidates:
        if (root / relative).exists():
            if not is_inside(relative):
                raise DatasetError(f"YOLO: {where}: {value} is outside the dataset's folder {root}; not read")
            return root / relative
    return None


def _walk(folder: Path, root: Path) -> list[str]:
    """Image files under ``folder`` (all depths), as sorted paths relative to ``root``."""
    prefix = folder.relative_to(root).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    return [prefix + name for name in walk_images(folder)]


def _listed(path: Path, root: Path, where: str) -> list[str]:
    """The images a .txt list names (one path a line, relative to the dataset root or ``./`` to the list)."""
    try:
        text = read_capped(path, MAX_LIST_BYTES, "the image list").decode("utf-8")
    except (SampleError, UnicodeDecodeError) as exc:
        raise DatasetError(f"YOLO: {where}: {exc}") from None
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            relative = (path.parent.relative_to(root) / line[2:]) if line.startswith("./") else PurePosixPath(line)
            out.append(os.path.normpath(str(relative)).replace(os.sep, "/"))
    return out


def _split_images(root: Path, value: Any, where: str) -> list[str] | None:
    """Sample ids of one split entry; None when its folders are not there."""
    entries = value if isinstance(value, list) else [value]
    if not entries or not all(isinstance(e, str) and e for e in entries):
        raise DatasetError(
            f"YOLO: {where}: expected a folder, a .txt list of images, or a list of these; found {value!r}"
        )
    ids: list[str] = []
    for entry in entries:
        path = _resolve(root, entry, where)
        if path is None:
            return None
        ids += _listed(path, root, where) if path.is_file() else _walk(path, root)
    return ids


def label_path(sample_id: str) -> str:
    """Ultralytics' rule: the last ``images`` folder of the image's path becomes ``labels``, the suffix ``.txt``."""
    parts = list(PurePosixPath(sample_id).with_suffix(".txt").parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return str(PurePosixPath(*parts))


def _numbers(words: list[str], number: int) -> list[float]:
    try:
        return [float(w) for w in words]
    except ValueError:
        raise SampleError(f"line {number}: {' '.join(words)[:60]!r} is not numbers") from None


def parse_labels(text: str) -> Labels:
    """The objects of one label file (SampleError naming the line when one cannot be read)."""
    classes, boxes, polygons = [], [], []
    for number, line in enumerate(text.splitlines(), 1):
        values = _numbers(line.split(), number)
        if not values:
            continue
        if len(values) == 5:
            cx, cy, w, h = values[1:]
            boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
            polygons.append(None)
        elif len(values) >= 7 and len(values) % 2:
            points = np.asarray(values[1:], np.float32).reshape(-1, 2)
            boxes.append((*points.min(axis=0), *points.max(axis=0)))
            polygons.append(points)
        else:
            raise SampleError(
                f"line {number}: {len(values)} numbers; expected 'class cx cy w h' (5) or 'class x1 y1 x2 y2 x3 y3 "
                "...' (a polygon of 3 points or more)"
            )
        if not float(values[0]).is_integer():
            raise SampleError(f"line {number}: class {values[0]} is not a whole number")
        classes.append(int(values[0]))
    return Labels(np.asarray(classes, np.int64), np.asarray(boxes, np.float32).reshape(-1, 4), polygons)


def _read_labels(root: Path, sample_id: str) -> Labels:
    if not is_inside(sample_id):  # a list file may name any path; its labels are not looked for there
        return no_labels("the image is outside the dataset's folder")
    path = root / label_path(sample_id)
    if not path.is_file():
        return no_labels()
    try:
        data = read_capped(path, MAX_LABEL_BYTES, "the label file")
        return parse_labels(data.decode("utf-8"))
    except UnicodeDecodeError:
        return no_labels(f"{label_path(sample_id)} is not text")
    except SampleError as exc:
        message = str(exc)
        where = message if message.startswith(path.name) else f"{label_path(sample_id)} {message}"
        return no_labels(where)


class YoloDataset(BoxDataset):
    """Sample ids are the images' paths relative to the dataset root (``images/train/x.jpg``)."""

    def __init__(self, root: Path, *, labels: list[Labels], **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self.labels = labels

    def box_size(self, index: int) -> tuple[int, int]:
        return self.header_size(index)

    def objects(self, index: int) -> Objects:
        labels = self.labels[index]
        if labels.error:
            return Objects.failed(labels.error)
        height, width = self.box_size(index)
        return Objects(labels.boxes * np.array([width, height, width, height], np.float32), labels.classes)

    def load_instances(self, index: int) -> np.ndarray | None:
        """One mask per object: its polygon filled, or its box's rectangle for a box line."""
        if self.task != "instance_segmentation":
            return None
        boxes, _ = self.load_boxes(index)
        height, width = self.box_size(index)
        masks = np.zeros((len(boxes), height, width), bool)
        for mask, box, polygon in zip(masks, boxes, self.labels[index].polygons):
            if polygon is None:
                x0, y0, x1, y1 = np.round(box).astype(int)
                mask[y0:y1, x0:x1] = True
            else:  # drawn as COCO's polygons are (pycocotools), so that a mask's area is its polygon's
                points = polygon * np.array([width, height], np.float32)
                mask[:] = rasterise([points.ravel()], height, width).astype(bool)
        return masks

    def sample_meta(self, index: int) -> dict[str, Any]:
        return {"label_file": label_path(self.sample_ids[index])} | self.box_meta(index)


def _splits(root: Path, data: dict[str, Any], where: str, notices: list[str]) -> dict[str, list[str]]:
    splits = {}
    for key in SPLIT_KEYS:
        if data.get(key) in (None, ""):
            continue
        ids = _split_images(root, data[key], f"{where} {key}")
        if ids is None:
            notices.append(f"YOLO: {where} {key}: {data[key]} is not in {root}; that split is left out")
        else:
            splits[key] = ids
    if not splits:
        told = "".join(f"\n  {notice}" for notice in notices)  # why: a path: ignored, each split's folder
        raise DatasetError(f"YOLO: none of the splits {where} names ({', '.join(SPLIT_KEYS)}) is in {root}{told}")
    return splits


def find_yaml(folder: Path) -> Path | None:
    return next((folder / name for name in YAML_NAMES if (folder / name).is_file()), None)


def open_yolo(folder: Path, split: str | None = None, task: str | None = None) -> YoloDataset:
    """The YOLO dataset whose yaml is in ``folder``, on ``split`` (default: test, else val) for ``task``."""
    yaml_path = find_yaml(folder)
    if yaml_path is None:
        raise DatasetError(f"YOLO: no {' / '.join(YAML_NAMES)} in {folder}")
    data, notices = _yaml(yaml_path), []
    classes = _names(data, yaml_path.name)
    root = _root(yaml_path, data, notices)
    splits = _splits(root, data, yaml_path.name, notices)
    split = split or default_split(list(splits))
    if split not in splits:
        raise DatasetError(f"YOLO at {folder} has no split {split!r}; it has {list(splits)}")
    ids = splits[split]
    labels = [_read_labels(root, sample_id) for sample_id in ids]
    tasks = TASKS if any(p is not None for entry in labels for p in entry.polygons) else ("detection",)
    task = task or tasks[0]
    if task not in tasks:
        raise DatasetError(f"YOLO at {folder} offers {', '.join(tasks)}, not {task}")
    objects = [Objects(entry.boxes, entry.classes) for entry in labels]
    dataset = YoloDataset(
        root,
        labels=labels,
        layout="YOLO",
        task=task,
        tasks=tasks,
        classes=classes,
        splits=list(splits),
        split=split,
        sample_ids=ids,
        tags=presence(objects, len(classes)),
        palette=bit_palette(len(classes) + 1)[1:],
    )
    failed = [entry.error for entry in labels if entry.error]
    if failed:
        notices.append(f"YOLO: {len(failed)} of {len(ids)} label files cannot be read; first: {failed[0]}")
    dataset.notices += notices
    return dataset


def probe_yolo(path: Path) -> Probe:
    if find_yaml(path) is not None:
        return Probe(path)
    if (path / "images").is_dir() and (path / "labels").is_dir():
        return Probe(None, "found images/ and labels/ but no data.yaml naming the splits and classes", partial=True)
    return Probe(None, "no data.yaml (with images/ and labels/)")


register(Layout("YOLO", probe_yolo, lambda root, split: open_yolo(root, split), priority=35, open_task=open_yolo))
