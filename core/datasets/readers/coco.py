"""COCO instances: ``annotations/instances_<split>.json`` + images, for three tasks.

Images lie in ``<split>/`` or ``images/<split>/`` next to ``annotations/``. The files hold three tasks
(``Dataset.tasks``); the richest, instance segmentation, opens unless another is asked for:

- ``"instance_segmentation"`` / ``"detection"``: each annotation is an object. Its box is COCO's ``bbox``
  ``[x, y, w, h]`` as ``(x, y, x + w, y + h)`` in pixels (no shift: COCO's coordinates are already 0-based and
  continuous, as torchvision's detection references read them); an annotation without ``bbox`` gets its
  segmentation's extent. Classes are the categories in id order (no background; COCO's ids 1..90 have gaps).
  ``iscrowd`` is in ``box_extras`` and meta, ``area`` in meta. ``load_instances`` decodes each object's
  polygons, RLE or uncompressed RLE (crowd) with pycocotools when asked, one mask per box, in their order.
  Boxes reaching outside the image are clipped to it (see ``readers/boxes.py`` for the rules).
- ``"segmentation"``: one class mask per image, 0 = background then the categories in id order; crowd regions
  are drawn; a pixel claimed by objects of two different classes is 255 (ignore). At most 254 categories.

A json whose annotations lack ``segmentation`` (a detection-only export) offers detection only. The categories
present in each image are its tags (``Dataset.tags``).

Memory: each annotation keeps its segmentation (polygons as float32 arrays), box, class, crowd flag and area in
flat arrays sorted by image. A file over STREAM_BYTES is read with ijson one entry at a time (three passes:
categories, images, annotations), so a 1 GB file never becomes a 5 GB tree of Python objects; a smaller one is
parsed at once with json, whose errors name the line and column.
"""

from __future__ import annotations

import itertools
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import IGNORE_INDEX, DatasetError, SampleError
from core.datasets.layouts import Layout, Probe, register, richest
from core.datasets.readers.boxes import BoxDataset, Objects
from core.datasets.readers.listing import file_names
from core.datasets.readers.masks import bit_palette, image_size

#: What is kept of an annotation (the rest, captions and keypoints, is dropped while streaming).
ANNOTATION_KEYS = ("id", "image_id", "category_id", "segmentation", "bbox", "iscrowd", "area")
TASKS = ("instance_segmentation", "detection", "segmentation")
#: Files larger than this are streamed (ijson) instead of parsed whole (json).
STREAM_BYTES = 64 << 20

# pycocotools' decode still passes copy=False to np.array (numpy 2 warns on every mask); not ours to fix.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pycocotools\.")


def _compact(segmentation: Any) -> Any:
    """Polygons as float32 arrays (a Python float costs 24 bytes, a float32 4); RLEs as they are."""
    if isinstance(segmentation, list):
        try:
            return [np.asarray(polygon, dtype=np.float32) for polygon in segmentation]
        except (TypeError, ValueError):  # not numbers: kept, and reported on the sample when drawn
            return segmentation
    return segmentation


def _stream(path: Path) -> dict[str, Any]:
    """The three lists of an instances json, read entry by entry with ijson."""
    import ijson

    data: dict[str, Any] = {}
    try:
        for key in ("categories", "images", "annotations"):
            with path.open("rb") as file:
                entries = []
                for entry in ijson.items(file, f"{key}.item", use_float=True):
                    if key == "annotations" and isinstance(entry, dict):
                        entry = {k: entry[k] for k in ANNOTATION_KEYS if k in entry}
                        if "segmentation" in entry:
                            entry["segmentation"] = _compact(entry["segmentation"])
                    elif key == "images" and isinstance(entry, dict):
                        entry = {k: entry[k] for k in ("id", "file_name", "height", "width") if k in entry}
                    entries.append(entry)
            data[key] = entries
    except ijson.JSONError as exc:
        raise DatasetError(f"COCO: {path} is not valid JSON ({exc})") from None
    except OSError as exc:
        raise DatasetError(f"COCO: cannot read {path} ({exc})") from None
    return data


def _load(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > STREAM_BYTES:
            import importlib.util

            if importlib.util.find_spec("ijson") is not None:
                return _stream(path)
    except OSError as exc:
        raise DatasetError(f"COCO: cannot read {path} ({exc})") from None
    try:
        with path.open("rb") as file:
            data = json.load(file)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"COCO: {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"COCO: cannot read {path} ({exc})") from None
    if not isinstance(data, dict):
        raise DatasetError(f"COCO: {path} holds a JSON {type(data).__name__}, not an object")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DatasetError(f"COCO: {path.name} has no list {key!r}")
    return data


def _field(entry: Any, key: str, where: str, path: Path) -> Any:
    if not isinstance(entry, dict) or key not in entry:
        raise DatasetError(f"COCO: {path.name} {where} has no {key!r}")
    return entry[key]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _categories(data: dict[str, Any], path: Path) -> tuple[list[str], dict[int, int]]:
    """(object class names, category id -> class index from 0), categories in id order."""
    for i, category in enumerate(data["categories"]):
        if not _is_int(_field(category, "id", f"categories[{i}]", path)):
            raise DatasetError(f"COCO: {path.name} categories[{i}] has id {category['id']!r}; ids are integers")
    categories = sorted(data["categories"], key=lambda c: c["id"])
    for before, after in itertools.pairwise(categories):
        if before["id"] == after["id"]:
            raise DatasetError(f"COCO: {path.name} has two categories with id {after['id']}")
    index = {c["id"]: i for i, c in enumerate(categories)}
    return [str(_field(c, "name", f"category {c['id']}", path)) for c in categories], index


def _image(entry: Any, i: int, path: Path) -> dict[str, Any]:
    where = f"images[{i}]"
    image = {key: _field(entry, key, where, path) for key in ("id", "file_name", "height", "width")}
    if not (_is_int(image["id"]) or isinstance(image["id"], str)):
        raise DatasetError(f"COCO: {path.name} {where} has id {image['id']!r}; ids are integers (or text)")
    if not isinstance(image["file_name"], str) or not image["file_name"]:
        raise DatasetError(f"COCO: {path.name} {where} has file_name {image['file_name']!r}; it should be a path")
    for key in ("height", "width"):
        value = image[key]
        if isinstance(value, float) and value.is_integer():
            value = image[key] = int(value)
        if not _is_int(value) or value < 1:
            raise DatasetError(f"COCO: {path.name} {where} ({image['file_name']}) has {key} {value!r}; expected pixels")
    return image


def _image_index(images: list[dict[str, Any]], path: Path) -> dict[Any, int]:
    index: dict[Any, int] = {}
    for row, image in enumerate(images):
        first = index.setdefault(image["id"], row)
        if first != row:
            raise DatasetError(
                f"COCO: {path.name} images[{first}] ({images[first]['file_name']}) and images[{row}] "
                f"({image['file_name']}) share id {image['id']!r}: their annotations cannot be told apart"
            )
    return index


def _bbox(value: Any) -> tuple[float, float, float, float]:
    """COCO's [x, y, w, h] as (x0, y0, x1, y1); NaNs when it is not four numbers (an error of its sample)."""
    try:
        x, y, w, h = (float(v) for v in value)
    except (TypeError, ValueError):
        return (np.nan,) * 4
    return x, y, x + w, y + h


@dataclass
class Annotations:
    """Every annotation of one json, sorted by image: image ``i``'s are rows ``offsets[i]:offsets[i + 1]``."""

    offsets: np.ndarray  # int64 images + 1
    classes: np.ndarray  # int64 A, object class index (from 0)
    boxes: np.ndarray  # float32 A x 4, x0 y0 x1 y1
    derived: np.ndarray  # bool A: no bbox in the json, the box is the segmentation's extent
    iscrowd: np.ndarray  # bool A
    area: np.ndarray  # float32 A (NaN when absent)
    segmentations: list[Any]  # A, None when absent

    def rows(self, image: int) -> slice:
        return slice(int(self.offsets[image]), int(self.offsets[image + 1]))


def _annotations(data: dict[str, Any], path: Path, image_index: dict[Any, int], category_index: dict[int, int]):
    rows, classes, boxes, derived, iscrowd, area, segmentations = [], [], [], [], [], [], []
    for i, ann in enumerate(data["annotations"]):
        where = f"annotations[{i}]"
        image_id, category_id = _field(ann, "image_id", where, path), _field(ann, "category_id", where, path)
        if not isinstance(image_id, (int, str)) or image_id not in image_index:
            raise DatasetError(f"COCO: {path.name} {where} (id {ann.get('id')}): image_id {image_id} is not in images")
        if not _is_int(category_id) or category_id not in category_index:
            raise DatasetError(
                f"COCO: {path.name} {where} (id {ann.get('id')}): category_id {category_id!r} is not in categories"
            )
        segmentation = ann.get("segmentation")
        if ann.get("bbox") is None and segmentation is None:
            raise DatasetError(f"COCO: {path.name} {where} (id {ann.get('id')}) has neither a bbox nor a segmentation")
        rows.append(image_index[image_id])
        classes.append(category_index[category_id])
        boxes.append(_bbox(ann["bbox"]) if ann.get("bbox") is not None else (np.nan,) * 4)
        derived.append(ann.get("bbox") is None)
        iscrowd.append(bool(ann.get("iscrowd")))
        area.append(ann["area"] if isinstance(ann.get("area"), (int, float)) else np.nan)
        segmentations.append(None if segmentation is None else _compact(segmentation))
    order = np.argsort(np.asarray(rows, dtype=np.int64), kind="stable")
    counts = np.bincount(np.asarray(rows, dtype=np.int64), minlength=len(image_index))
    return Annotations(
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        classes=np.asarray(classes, dtype=np.int64)[order],
        boxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4)[order],
        derived=np.asarray(derived, dtype=bool)[order],
        iscrowd=np.asarray(iscrowd, dtype=bool)[order],
        area=np.asarray(area, dtype=np.float32)[order],
        segmentations=[segmentations[i] for i in order],
    )


def _index(data: dict[str, Any], path: Path) -> tuple[list[str], list[dict[str, Any]], Annotations]:
    """(object class names, images, annotations) from a parsed instances json."""
    classes, category_index = _categories(data, path)
    images = [_image(image, i, path) for i, image in enumerate(data["images"])]
    return classes, images, _annotations(data, path, _image_index(images, path), category_index)


def rasterise(segmentation: Any, height: int, width: int) -> np.ndarray:
    """One annotation's H x W 0/1 mask: polygons, uncompressed RLE (crowd) or compressed RLE."""
    from pycocotools import mask as mask_utils

    if isinstance(segmentation, list):
        if not segmentation:
            return np.zeros((height, width), dtype=np.uint8)
        polygons = [np.asarray(p, dtype=np.float64).tolist() for p in segmentation]
        rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    elif isinstance(segmentation, dict) and "counts" in segmentation and "size" in segmentation:
        if list(segmentation["size"]) != [height, width]:
            raise ValueError(f"RLE of size {segmentation['size']} on an image of {height}x{width}")
        compressed = isinstance(segmentation["counts"], (str, bytes))
        rle = segmentation if compressed else mask_utils.frPyObjects(segmentation, height, width)
    else:
        raise ValueError(f"segmentation is neither polygons nor RLE: {str(segmentation)[:60]}")
    return mask_utils.decode(rle)


def _extent(mask: np.ndarray) -> tuple[float, float, float, float]:
    """The (x0, y0, x1, y1) box around a mask's pixels (zeros when empty), as pycocotools' toBbox."""
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return 0.0, 0.0, 0.0, 0.0
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


class CocoDataset(BoxDataset):
    """Sample ids are the images' ``file_name``."""

    flag_names = ("iscrowd",)

    def __init__(self, root: Path, *, images: list[dict[str, Any]], annotations: Annotations, **kwargs: Any):
        super().__init__(root, **kwargs)
        self.images = images
        self.annotations = annotations

    def _size_checked(self, index: int) -> tuple[int, int]:
        """The json's (height, width), or SampleError when the image file says otherwise."""
        info, name = self.images[index], self.sample_ids[index]
        height, width = info["height"], info["width"]
        actual = image_size(self.checked_path(index))
        if actual != (height, width):
            raise SampleError(f"{name}: the json says {width}x{height} but the image is {actual[1]}x{actual[0]}")
        return height, width

    def _regions(self, index: int, size: tuple[int, int]) -> list[np.ndarray]:
        """Each annotation's H x W bool mask, in the order of the boxes."""
        rows = self.annotations.rows(index)
        regions = []
        for number, segmentation in enumerate(self.annotations.segmentations[rows]):
            try:
                regions.append(rasterise(segmentation, *size).astype(bool))
            except Exception as exc:  # pycocotools raises bare Exceptions for bad polygons
                raise SampleError(f"{self.sample_ids[index]}: annotation {number} cannot be drawn ({exc})") from None
        return regions

    def load_mask(self, index: int) -> np.ndarray | None:
        if self.task != "segmentation":
            return None
        size = self._size_checked(index)
        mask = np.zeros(size, dtype=np.uint8)
        clash = np.zeros(size, dtype=bool)
        labels = self.annotations.classes[self.annotations.rows(index)] + 1  # 0 is the background
        for label, region in zip(labels, self._regions(index, size)):
            clash |= region & (mask != 0) & (mask != label)
            mask[region] = label
        mask[clash] = IGNORE_INDEX
        return mask

    def load_instances(self, index: int) -> np.ndarray | None:
        if self.task != "instance_segmentation":
            return None
        size = self._size_checked(index)
        regions = self._regions(index, size)
        return np.stack(regions) if regions else np.zeros((0, *size), dtype=bool)

    def objects(self, index: int) -> Objects:
        rows, info = self.annotations.rows(index), self.images[index]
        boxes = self.annotations.boxes[rows]
        derived = np.flatnonzero(self.annotations.derived[rows])
        if len(derived):  # no bbox in the json: the segmentation's extent, drawn on the json's size
            boxes = boxes.copy()
            segmentations = self.annotations.segmentations[rows]
            for row in derived:
                try:
                    boxes[row] = _extent(rasterise(segmentations[row], info["height"], info["width"]))
                except Exception as exc:
                    return Objects.failed(f"annotation {row} has no bbox and its segmentation cannot be drawn ({exc})")
        flags = {"iscrowd": self.annotations.iscrowd[rows]}
        return Objects(boxes, self.annotations.classes[rows], flags)

    def box_size(self, index: int) -> tuple[int, int]:
        return self.images[index]["height"], self.images[index]["width"]

    def sample_meta(self, index: int) -> dict[str, Any]:
        rows = self.annotations.rows(index)
        present = sorted(set(self.annotations.classes[rows].tolist()))
        names = [self.classes[i + (self.task == "segmentation")] for i in present]
        meta = {"coco_id": self.images[index]["id"], "annotations": rows.stop - rows.start, "categories": names}
        if self.task != "segmentation":
            meta |= self.box_meta(index)
            meta["area"] = [None if np.isnan(a) else float(a) for a in self.annotations.area[rows]]
        return meta


def _splits(root: Path) -> list[str]:
    names = file_names(root / "annotations", prefix="instances_", suffix=".json")
    return [name[len("instances_") : -len(".json")] for name in names]


def _image_root(root: Path, split: str) -> Path:
    for candidate in (root / split, root / "images" / split, root / "images"):
        if candidate.is_dir():
            return candidate
    raise DatasetError(f"COCO: no images folder for {split} ({split}/ or images/{split}/ under {root})")


def _tasks(classes: list[str], annotations: Annotations) -> tuple[str, ...]:
    """The tasks the json holds: masks need every annotation's segmentation, class masks at most 254 classes."""
    if any(segmentation is None for segmentation in annotations.segmentations):
        return ("detection",)
    if len(classes) >= IGNORE_INDEX:
        return ("instance_segmentation", "detection")
    return TASKS


def _task(tasks: tuple[str, ...], task: str | None, classes: list[str], path: Path) -> str:
    if task is None:
        return richest(tasks)
    if task == "segmentation" and len(classes) >= IGNORE_INDEX:
        raise DatasetError(
            f"COCO: {path.name} has {len(classes)} categories; CV Lens's masks hold at most "
            f"{IGNORE_INDEX - 1} (255 is the ignore value); it opens for {', '.join(tasks)}"
        )
    if task not in tasks:
        why = " (its annotations have no segmentation)" if tasks == ("detection",) else ""
        raise DatasetError(f"COCO: {path.name} offers {', '.join(tasks)}, not {task}{why}")
    return task


def _evaluation_split(splits: list[str]) -> str | None:
    """The newest val split (val2017), else the newest test split that has instances, else the last one."""
    for prefix in ("val", "test"):
        found = [s for s in splits if s.startswith(prefix)]
        if found:
            return found[-1]
    return splits[-1] if splits else None


def open_coco(root: Path, split: str | None = None, task: str | None = None) -> CocoDataset:
    """The COCO dataset at ``root`` on ``split`` (default: the val split, else test) for ``task`` (default:
    the richest)."""
    splits = _splits(root)
    split = split or _evaluation_split(splits)
    if split not in splits:
        raise DatasetError(f"COCO at {root} has no split {split!r}; it has {splits}")
    path = root / "annotations" / f"instances_{split}.json"
    names, images, annotations = _index(_load(path), path)  # the parsed document is dropped here
    tasks = _tasks(names, annotations)
    task = _task(tasks, task, names, path)
    segmentation = task == "segmentation"
    classes = ["background", *names] if segmentation else names
    tags = np.zeros((len(images), len(classes)), np.uint8)
    tags[np.repeat(np.arange(len(images)), np.diff(annotations.offsets)), annotations.classes + segmentation] = 1
    return CocoDataset(
        root,
        images=images,
        annotations=annotations,
        layout="COCO",
        image_root=_image_root(root, split),
        task=task,
        tasks=tasks,
        classes=classes,
        splits=splits,
        split=split,
        sample_ids=[str(image["file_name"]) for image in images],
        tags=tags,
        palette=bit_palette(len(classes)) if segmentation else bit_palette(len(classes) + 1)[1:],  # no black box
    )


def probe_coco(path: Path) -> Probe:
    if _splits(path):
        return Probe(path)
    if file_names(path / "annotations", suffix=".json"):
        return Probe(None, "found annotations/ but no annotations/instances_<split>.json", partial=True)
    return Probe(None, "no annotations/instances_<split>.json")


register(Layout("COCO", probe_coco, lambda root, split: open_coco(root, split), priority=30, open_task=open_coco))
