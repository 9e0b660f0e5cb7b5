"""Writers of the object tasks' formats: COCO, YOLO and Pascal VOC, with the objects as the user has them now.

Each fills the empty temp folder ``export.py`` gives it (and renames into place at the end), so these only
ever write under that folder; images are placed by ``writers.Placer`` (copied by default, never modified).
Samples marked excluded are left out (as the folder formats leave them out), unless asked for.

- ``coco``: ``annotations/instances_<split>.json`` and ``images/<split>/<file>`` (as the COCO reader finds
  them). Categories are the dataset's classes with ids 1..C in their order. Every object has ``bbox``
  (x, y, w, h), ``area``, ``iscrowd``; when the dataset has instance masks, ``segmentation`` too: polygons,
  or an RLE for a crowd region (COCO's own convention). Without instance masks there is no ``segmentation``.
- ``yolo``: ``images/<split>/<file>``, ``labels/<split>/<stem>.txt`` (one ``class xc yc w h`` line per object,
  normalised to the image's size) and ``data.yaml`` (``path``, one entry per split, ``nc``, ``names``).
  YOLO has no crowd flag: crowd regions are left out (counted in the summary), difficult objects kept.
- ``voc``: ``JPEGImages/<id>.jpg``, ``Annotations/<id>.xml`` (boxes in VOC's 1-based pixels:
  ``xmin = x0 + 1``, ``xmax = x1``, rounded, as the VOC reader reads them back; ``difficult`` and ``truncated``
  kept) and ``ImageSets/Main/<split>.txt`` listing the ids. VOC's images are JPEG files named ``<id>.jpg``: a
  JPEG is copied (or linked), any other image is written as a JPEG of quality 95 (counted in the summary as
  ``reencoded_as_jpeg``; the source is never changed).
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import numpy as np

from core.datasets.base import SampleError
from core.datasets.readers.masks import image_size
from core.labels.boxes import Objects
from core.labels.writers import Placer, SplitLabels, file_name, total

if TYPE_CHECKING:
    from core.labels.export import ExportResult

BOX_FORMATS = ("coco", "yolo", "voc")


def split_name(part: SplitLabels) -> str:
    """The split's name in file and folder names ("all" for a dataset without splits)."""
    return part.split or "all"


def _images(temp: Path, splits: list[SplitLabels], result: ExportResult, link: str, progress, folder, jpeg=False):
    """(split, index, relative path, objects, (height, width)) of every written image, placed by ``folder(part)``
    (``jpeg``: every image a ``.jpg``, see :class:`JpegPlacer`)."""
    placer = (JpegPlacer if jpeg else Placer)(temp, result, link, progress, total(splits))
    for part in splits:
        for i in np.flatnonzero(part.keep).tolist():
            key = (part.split or "", part.dataset.sample_ids[i])
            try:
                objects = part.project.objects(i)
            except SampleError as exc:  # its annotation cannot be read: the image is left out, and said
                result.errors[key] = str(exc)
                continue
            name = file_name(part.dataset, i)
            relative = placer.put(part, i, folder(part), f"{Path(name).stem}.jpg" if jpeg else name)
            if relative is None:
                continue
            try:
                size = _size(part, i, temp / relative)
            except SampleError as exc:
                result.errors[key] = str(exc)
                (temp / relative).unlink(missing_ok=True)
                del result.files[key]
                continue
            yield part, i, relative, objects, size


class JpegPlacer(Placer):
    """Places JPEG files as they are, and writes any other image as a JPEG (quality 95): VOC's images are JPEGs."""

    def _place(self, dataset, index: int, dest: Path) -> None:
        source = dataset.sample_path(index)
        if source is not None and Path(source).suffix.lower() in (".jpg", ".jpeg"):
            super()._place(dataset, index, dest)
            return
        import cv2

        dest.parent.mkdir(parents=True, exist_ok=True)
        rgb = np.ascontiguousarray(dataset.load_image(index)[:, :, ::-1])
        ok, encoded = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise SampleError(f"{dest.name}: cannot encode as JPEG")
        dest.write_bytes(encoded.tobytes())
        self.result.objects["reencoded_as_jpeg"] += 1


def _size(part: SplitLabels, index: int, placed: Path) -> tuple[int, int]:
    """(height, width) from the placed file's header (the image is not decoded)."""
    return image_size(placed.resolve() if placed.is_symlink() else placed)


# -- COCO --------------------------------------------------------------------------------------
def write_coco(temp: Path, splits: list[SplitLabels], result: ExportResult, *, link: str, progress) -> None:
    classes = splits[0].dataset.classes
    categories = [{"id": k + 1, "name": name, "supercategory": ""} for k, name in enumerate(classes)]
    files: dict[str, dict[str, list]] = {split_name(p): {"images": [], "annotations": []} for p in splits}
    stats = result.objects
    next_id = 1
    for part, i, relative, objects, (h, w) in _images(
        temp, splits, result, link, progress, lambda p: f"images/{split_name(p)}"
    ):
        data = files[split_name(part)]
        image_id = len(data["images"]) + 1
        name = str(PurePosixPath(relative).relative_to(f"images/{split_name(part)}"))
        data["images"].append({"id": image_id, "file_name": name, "height": h, "width": w})
        masks = _masks(part, i, objects)
        for k in range(len(objects)):
            data["annotations"].append(_coco_object(objects, k, masks, next_id, image_id))
            next_id += 1
        stats["objects"] += len(objects)
    (temp / "annotations").mkdir(exist_ok=True)
    for split, data in files.items():
        document = {"info": {"description": "exported by CV Lens"}, "categories": categories, **data}
        text = json.dumps(document, ensure_ascii=False)
        (temp / "annotations" / f"instances_{split}.json").write_text(text, encoding="utf-8")


def _masks(part: SplitLabels, index: int, objects: Objects) -> np.ndarray | None:
    """The objects' instance masks (edited objects: see ``core.labels.boxes``), None without any."""
    if part.dataset.task != "instance_segmentation":
        return None
    masks = part.project.boxes_dataset().load_instances(index)
    return masks if masks is not None and len(masks) == len(objects) else None


def _coco_object(objects: Objects, k: int, masks: np.ndarray | None, ann_id: int, image_id: int) -> dict[str, Any]:
    x0, y0, x1, y1 = (float(v) for v in objects.boxes[k])
    crowd = bool(objects.flag("iscrowd")[k])
    item: dict[str, Any] = {
        "id": ann_id,
        "image_id": image_id,
        "category_id": int(objects.classes[k]) + 1,
        "bbox": [round(x0, 3), round(y0, 3), round(x1 - x0, 3), round(y1 - y0, 3)],
        "area": round((x1 - x0) * (y1 - y0), 3),
        "iscrowd": int(crowd),
    }
    if masks is not None:
        item["segmentation"] = _rle(masks[k]) if crowd else _polygons(masks[k])
        item["area"] = int(masks[k].sum())
    return item


def _polygons(mask: np.ndarray) -> list[list[float]]:
    """The mask's outer outlines as COCO polygons (x, y pairs); holes are not kept (COCO polygons have none)."""
    import cv2

    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for contour in contours:
        points = contour.reshape(-1, 2).astype(float)
        if len(points) >= 3:
            out.append([round(float(v), 2) for v in points.ravel()])
    return out


def _rle(mask: np.ndarray) -> dict[str, Any]:
    from pycocotools import mask as coco_mask

    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


# -- YOLO --------------------------------------------------------------------------------------
def write_yolo(temp: Path, splits: list[SplitLabels], result: ExportResult, *, link: str, progress) -> None:
    import yaml

    stats = result.objects
    for part, _i, relative, objects, (h, w) in _images(
        temp, splits, result, link, progress, lambda p: f"images/{split_name(p)}"
    ):
        stem = PurePosixPath(relative).relative_to(f"images/{split_name(part)}").with_suffix(".txt")
        target = temp / "labels" / split_name(part) / stem
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = []
        crowd = objects.flag("iscrowd")
        for k in range(len(objects)):
            if crowd[k]:
                stats["crowd_left_out"] += 1
                continue
            x0, y0, x1, y1 = (float(v) for v in objects.boxes[k])
            xc, yc, bw, bh = (x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h
            lines.append(f"{int(objects.classes[k])} {xc:.6f} {yc:.6f} {bw:.6f} {bh:.6f}\n")
            stats["objects"] += 1
        target.write_text("".join(lines), encoding="utf-8")
    names = splits[0].dataset.classes
    data = {"path": ".", **{split_name(p): f"images/{split_name(p)}" for p in splits}}
    data.update(nc=len(names), names=dict(enumerate(names)))
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    (temp / "data.yaml").write_text(text, encoding="utf-8")


# -- Pascal VOC --------------------------------------------------------------------------------
def write_voc(temp: Path, splits: list[SplitLabels], result: ExportResult, *, link: str, progress) -> None:
    classes = splits[0].dataset.classes
    sets: dict[str, list[str]] = {split_name(p): [] for p in splits}
    stats = result.objects
    (temp / "Annotations").mkdir()
    images = _images(temp, splits, result, link, progress, lambda p: "JPEGImages", jpeg=True)
    for part, _i, relative, objects, (h, w) in images:
        image = PurePosixPath(relative).name
        image_id = PurePosixPath(image).stem
        xml = _voc_xml(image, (h, w), objects, classes)
        (temp / "Annotations" / f"{image_id}.xml").write_text(xml, encoding="utf-8")
        sets[split_name(part)].append(image_id)
        stats["objects"] += len(objects)
    (temp / "ImageSets" / "Main").mkdir(parents=True)
    for split, ids in sets.items():
        (temp / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")


def _voc_xml(image: str, size: tuple[int, int], objects: Objects, classes: list[str]) -> str:
    h, w = size
    lines = [
        "<annotation>",
        "  <folder>JPEGImages</folder>",
        f"  <filename>{escape(image)}</filename>",
        f"  <size><width>{w}</width><height>{h}</height><depth>3</depth></size>",
        "  <segmented>0</segmented>",
    ]
    difficult, truncated = objects.flag("difficult"), objects.flag("truncated")
    for k in range(len(objects)):
        x0, y0, x1, y1 = (round(float(v)) for v in objects.boxes[k])
        lines += [
            "  <object>",
            f"    <name>{escape(classes[int(objects.classes[k])])}</name>",
            "    <pose>Unspecified</pose>",
            f"    <truncated>{int(truncated[k])}</truncated>",
            f"    <difficult>{int(difficult[k])}</difficult>",
            f"    <bndbox><xmin>{x0 + 1}</xmin><ymin>{y0 + 1}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox>",
            "  </object>",
        ]
    return "\n".join([*lines, "</annotation>"]) + "\n"
