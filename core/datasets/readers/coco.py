"""COCO instances as semantic segmentation: ``annotations/instances_<split>.json`` + images.

Images lie in ``<split>/`` or ``images/<split>/`` next to ``annotations/``. Categories get
contiguous indices in id order, after 0 = background (COCO's ids 1..90 have gaps). A
sample's mask is rasterised on demand with pycocotools from its polygons and RLEs, crowd
regions included; a pixel claimed by objects of two different classes is 255 (ignore).
The categories present in each image are its tags (``Dataset.tags``) and meta.

Memory: only each annotation's segmentation is kept (grouped by image), polygons as float32
arrays. A file over STREAM_BYTES is read with ijson one entry at a time (three passes: categories,
images, annotations), so a 1 GB file never becomes a 5 GB tree of Python objects; a smaller one is
parsed at once with json, whose errors name the line and column.
"""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import IGNORE_INDEX, DatasetError, SampleError
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers.files import FileDataset
from core.datasets.readers.masks import bit_palette, image_size

Annotation = tuple[int, Any]  # (class index, segmentation)
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
                    if key == "annotations" and isinstance(entry, dict) and "segmentation" in entry:
                        entry = {k: entry.get(k) for k in ("id", "image_id", "category_id")} | {
                            "segmentation": _compact(entry["segmentation"])
                        }
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
    """(class names with background first, category id -> class index), categories in id order."""
    for i, category in enumerate(data["categories"]):
        if not _is_int(_field(category, "id", f"categories[{i}]", path)):
            raise DatasetError(f"COCO: {path.name} categories[{i}] has id {category['id']!r}; ids are integers")
    categories = sorted(data["categories"], key=lambda c: c["id"])
    for before, after in itertools.pairwise(categories):
        if before["id"] == after["id"]:
            raise DatasetError(f"COCO: {path.name} has two categories with id {after['id']}")
    if len(categories) >= IGNORE_INDEX:
        raise DatasetError(
            f"COCO: {path.name} has {len(categories)} categories; CV Lens's masks hold at most "
            f"{IGNORE_INDEX - 1} (255 is the ignore value)"
        )
    index = {c["id"]: i + 1 for i, c in enumerate(categories)}
    return ["background"] + [str(_field(c, "name", f"category {c['id']}", path)) for c in categories], index


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


def _index(
    data: dict[str, Any], path: Path
) -> tuple[list[str], list[dict[str, Any]], list[list[Annotation]], np.ndarray]:
    """(class names, images, annotations per image, tags) from a parsed instances json."""
    classes, category_index = _categories(data, path)
    images = [_image(image, i, path) for i, image in enumerate(data["images"])]
    image_index = _image_index(images, path)
    per_image: list[list[Annotation]] = [[] for _ in images]
    tags = np.zeros((len(images), len(classes)), dtype=np.uint8)
    for i, ann in enumerate(data["annotations"]):
        where = f"annotations[{i}]"
        image_id, category_id = _field(ann, "image_id", where, path), _field(ann, "category_id", where, path)
        if not isinstance(image_id, (int, str)) or image_id not in image_index:
            raise DatasetError(f"COCO: {path.name} {where} (id {ann.get('id')}): image_id {image_id} is not in images")
        if not _is_int(category_id) or category_id not in category_index:
            raise DatasetError(
                f"COCO: {path.name} {where} (id {ann.get('id')}): category_id {category_id!r} is not in categories"
            )
        row, label = image_index[image_id], category_index[category_id]
        per_image[row].append((label, _compact(_field(ann, "segmentation", where, path))))
        tags[row, label] = 1
    return classes, images, per_image, tags


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


class CocoDataset(FileDataset):
    """Sample ids are the images' ``file_name``."""

    def __init__(self, root: Path, *, images: list[dict[str, Any]], annotations: list[list[Annotation]], **kwargs: Any):
        super().__init__(root, **kwargs)
        self.images = images
        self.annotations = annotations

    def load_mask(self, index: int) -> np.ndarray:
        info, name = self.images[index], self.sample_ids[index]
        height, width = info["height"], info["width"]
        actual = image_size(self.checked_path(index))
        if actual != (height, width):
            raise SampleError(f"{name}: the json says {width}x{height} but the image is {actual[1]}x{actual[0]}")
        mask = np.zeros((height, width), dtype=np.uint8)
        clash = np.zeros((height, width), dtype=bool)
        for number, (label, segmentation) in enumerate(self.annotations[index]):
            try:
                region = rasterise(segmentation, height, width).astype(bool)
            except Exception as exc:  # pycocotools raises bare Exceptions for bad polygons
                raise SampleError(f"{name}: annotation {number} cannot be drawn ({exc})") from None
            clash |= region & (mask != 0) & (mask != label)
            mask[region] = label
        mask[clash] = IGNORE_INDEX
        return mask

    def sample_meta(self, index: int) -> dict[str, Any]:
        present = np.flatnonzero(self.tags[index])
        return {
            "coco_id": self.images[index]["id"],
            "annotations": len(self.annotations[index]),
            "categories": [self.classes[i] for i in present],
        }


def _splits(root: Path) -> list[str]:
    return sorted(p.stem[len("instances_") :] for p in (root / "annotations").glob("instances_*.json"))


def _image_root(root: Path, split: str) -> Path:
    for candidate in (root / split, root / "images" / split, root / "images"):
        if candidate.is_dir():
            return candidate
    raise DatasetError(f"COCO: no images folder for {split} ({split}/ or images/{split}/ under {root})")


def open_coco(root: Path, split: str | None = None) -> CocoDataset:
    splits = _splits(root)
    split = split or next((s for s in reversed(splits) if s.startswith("val")), splits[-1] if splits else None)
    if split not in splits:
        raise DatasetError(f"COCO at {root} has no split {split!r}; it has {splits}")
    path = root / "annotations" / f"instances_{split}.json"
    classes, images, annotations, tags = _index(_load(path), path)  # the parsed document is dropped here
    return CocoDataset(
        root,
        images=images,
        annotations=annotations,
        layout="COCO",
        image_root=_image_root(root, split),
        task="segmentation",
        classes=classes,
        splits=splits,
        split=split,
        sample_ids=[str(image["file_name"]) for image in images],
        tags=tags,
        palette=bit_palette(len(classes)),
    )


def probe_coco(path: Path) -> Probe:
    if _splits(path):
        return Probe(path)
    if (path / "annotations").is_dir() and any((path / "annotations").glob("*.json")):
        return Probe(None, "found annotations/ but no annotations/instances_<split>.json", partial=True)
    return Probe(None, "no annotations/instances_<split>.json")


register(Layout("COCO", probe_coco, open_coco, priority=30))
