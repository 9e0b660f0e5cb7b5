"""Pascal VOC: ``VOCdevkit/VOC20xx/`` with JPEGImages and the segmentation and/or detection annotations.

The dataset root is the ``VOC20xx`` folder; picking ``VOCdevkit`` or torchvision's root above it works too.
Its files hold up to two tasks (``Dataset.tasks``); segmentation, the richer, opens unless detection is asked:

- ``"segmentation"``: ``ImageSets/Segmentation/{train,val,trainval}.txt`` list image ids; ``JPEGImages/<id>.jpg``
  is the image and ``SegmentationClass/<id>.png`` a palette PNG whose indices are the 21 classes
  (0 = background) and 255 the void border. Masks saved as RGB are mapped back through the VOC colours.
- ``"detection"``: ``ImageSets/Main/<split>.txt`` list image ids and ``Annotations/<id>.xml`` holds each image's
  objects. Only the plain lists are splits: the per-class lists beside them (``aeroplane_train.txt``, lines
  ``"<id> <1|0|-1>"``) are not. Classes are VOC's 20 object classes, named as torchvision names them (no
  background). ``difficult`` and ``truncated`` are in ``box_extras`` and meta (the evaluation ignores difficult
  objects, as VOC's does).

Box coordinates: VOC's XML gives 1-based pixel indices of the first and last pixel inside the box
(``xmin=1`` is the leftmost column). They become 0-based continuous coordinates, as torchvision's detection
models take them: ``x0 = xmin - 1, y0 = ymin - 1, x1 = xmax, y1 = ymax`` (Detectron2's and mmdetection's
reading of VOC), so a box covering the whole W x H image is ``(0, 0, W, H)``.

The XML files are read at open (they are the labels: the class filter and the tags need them); any file that
could declare an entity is parsed by defusedxml, which refuses entity expansion and external entities. A file
that is missing, larger than MAX_XML_BYTES, malformed or hostile makes its image a sample error (``SampleError``
on ``boxes()``, ``annotation_error`` in meta) and the dataset's ``notices`` count them. Object names outside
VOC's 20 (a dataset labelled with labelImg, say) are kept: they become classes after the 20, in alphabetical
order, and a notice names them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import DatasetError, SampleError, default_split
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers.boxes import BoxDataset, Objects, presence, read_capped
from core.datasets.readers.files import FileDataset
from core.datasets.readers.listing import file_names, subdirs
from core.datasets.readers.masks import bit_palette, checked_mask, colours_to_indices, image_size, read_label_image

NUM_CLASSES = 21
VOID_COLOUR = (224, 224, 192)
SETS = Path("ImageSets", "Segmentation")
MAIN = Path("ImageSets", "Main")
TASKS = ("segmentation", "detection")  # richest first
#: An annotation XML of VOC is about 1 KB; a larger one than this is not read.
MAX_XML_BYTES = 1 << 20
#: VOC's 20 object classes, as torchvision names them (``models._meta._VOC_CATEGORIES`` after its background).
VOC_OBJECTS = [
    *("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable"),
    *("dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"),
]


class VOCDataset(FileDataset):
    """VOC segmentation. Sample ids are VOC image ids (``2007_000032``)."""

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


class VOCDetectionDataset(BoxDataset):
    """VOC detection. Sample ids are VOC image ids; objects come from ``Annotations/<id>.xml``."""

    flag_names = ("difficult", "truncated")

    def __init__(self, root: Path, *, objects: list[Objects], sizes: list[tuple[int, int] | None], **kwargs: Any):
        super().__init__(root, **kwargs)
        self._objects = objects
        self._sizes = sizes

    def sample_path(self, index: int) -> Path:
        return self.root / "JPEGImages" / f"{self.sample_ids[index]}.jpg"

    def objects(self, index: int) -> Objects:
        return self._objects[index]

    def box_size(self, index: int) -> tuple[int, int] | None:
        """The XML's ``<size>``; the image's header when the XML has none."""
        return self._sizes[index] or self.header_size(index)


def _read_ids(path: Path, flags: bool = False) -> list[str]:
    """Image ids of a list file: one a line (``flags``: a ``1``/``0``/``-1`` after the id is allowed)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"VOC: cannot read {path} ({exc})") from None
    ids = []
    for number, line in enumerate(lines, 1):
        words = line.split()
        if len(words) > 1 and not (flags and len(words) == 2 and words[1] in ("1", "0", "-1")):
            raise DatasetError(f"VOC: {path}:{number}: expected one image id, found {line!r}")
        ids.extend(words[:1])
    return ids


def _segmentation(root: Path, split: str | None, tasks: tuple[str, ...]) -> VOCDataset:
    splits = [name[: -len(".txt")] for name in file_names(root / SETS, suffix=".txt")]
    split = split or default_split(splits)
    if split not in splits:
        raise DatasetError(f"VOC at {root} has no split {split!r}; it has {splits} in {SETS}")
    names = ["background", *VOC_OBJECTS]  # torchvision says "__background__"
    return VOCDataset(
        root,
        layout="Pascal VOC",
        task="segmentation",
        tasks=tasks,
        classes=names,
        splits=splits,
        split=split,
        sample_ids=_read_ids(root / SETS / f"{split}.txt"),
        palette=bit_palette(NUM_CLASSES),
    )


def main_splits(root: Path) -> list[str]:
    """The plain split lists of ``ImageSets/Main``: not the per-class ``<class>_<split>.txt`` beside them."""
    stems = [name[: -len(".txt")] for name in file_names(root / MAIN, suffix=".txt")]

    def per_class(stem: str) -> bool:
        return stem.split("_", 1)[0] in VOC_OBJECTS or any(stem.endswith("_" + other) for other in stems)

    return [stem for stem in stems if "_" not in stem or not per_class(stem)]


_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def _number(element: Any, tag: str) -> float:
    """A number under ``element``; NaN when absent or not a number (the sample's error when its box is read)."""
    text = element.findtext(tag) if element is not None else None
    return float(text) if text is not None and _NUMBER.match(text) else float("nan")


def _flag(element: Any, tag: str) -> bool:
    return (element.findtext(tag) or "0").strip() not in ("0", "", "false", "False")


_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']*)", re.IGNORECASE)


def _xml_tree(data: bytes) -> Any:
    """The parsed XML. defusedxml's parser is pure Python (3 ms a file: 30 s for VOC2012); a file without any
    ``<!`` (no DTD, so no entity can be declared) in UTF-8 or ASCII cannot hold what defusedxml guards against and
    goes to the C parser (0.1 ms). Everything else, UTF-16 included (where ``<!`` hides between NULs), goes
    through defusedxml."""
    import xml.etree.ElementTree as ET

    import defusedxml.ElementTree as DefusedET

    declared = _DECLARATION.match(data)
    plain = not declared or declared.group(1).lower() in (b"utf-8", b"utf8", b"us-ascii", b"ascii")
    if plain and b"<!" not in data and b"\0" not in data:
        return ET.fromstring(data)
    return DefusedET.fromstring(data)


def _parse_xml(data: bytes, name: str) -> tuple[list[tuple[str, list[float], bool, bool]], tuple[int, int] | None]:
    """(objects as (name, [xmin, ymin, xmax, ymax], difficult, truncated), (height, width) or None)."""
    from defusedxml import DefusedXmlException

    try:
        tree = _xml_tree(data)
    except DefusedXmlException as exc:
        raise SampleError(f"{name} is refused: {type(exc).__name__} (entities are not expanded)") from None
    except Exception as exc:  # ParseError and the expat errors under it
        raise SampleError(f"{name} is not valid XML ({exc})") from None
    if tree.tag != "annotation":
        raise SampleError(f"{name}: the root element is <{tree.tag}>, not <annotation>")
    objects = []
    for number, element in enumerate(tree.iter("object")):
        label = (element.findtext("name") or "").strip()
        if not label:
            raise SampleError(f"{name}: object {number} has no <name>")
        box = element.find("bndbox")
        coordinates = [_number(box, tag) for tag in ("xmin", "ymin", "xmax", "ymax")]
        objects.append((label, coordinates, _flag(element, "difficult"), _flag(element, "truncated")))
    size = tree.find("size")
    height, width = _number(size, "height"), _number(size, "width")
    valid = np.isfinite([height, width]).all() and height >= 1 and width >= 1
    return objects, (int(height), int(width)) if valid else None


def _read_annotation(root: Path, image_id: str):
    """The parsed XML of one image, or the reason it cannot be read (a str)."""
    path = root / "Annotations" / f"{image_id}.xml"
    try:
        return _parse_xml(read_capped(path, MAX_XML_BYTES, "the annotation file"), f"Annotations/{path.name}")
    except SampleError as exc:
        return str(exc)


def _objects(parsed: Any, index: dict[str, int]) -> Objects:
    if isinstance(parsed, str):
        return Objects.failed(parsed)
    objects, _ = parsed
    boxes = np.array([coordinates for _, coordinates, _, _ in objects], np.float32).reshape(-1, 4)
    boxes[:, :2] -= 1  # 1-based first pixel -> 0-based edge; the last pixel's index is its right/bottom edge
    classes = np.array([index[label] for label, *_ in objects], np.int64)
    flags = {
        "difficult": np.array([o[2] for o in objects], bool),
        "truncated": np.array([o[3] for o in objects], bool),
    }
    return Objects(boxes, classes, flags)


def _detection(root: Path, split: str | None, tasks: tuple[str, ...]) -> VOCDetectionDataset:
    splits = main_splits(root)
    split = split or default_split(splits)
    if split not in splits:
        raise DatasetError(f"VOC at {root} has no detection split {split!r}; it has {splits} in {MAIN}")
    ids = _read_ids(root / MAIN / f"{split}.txt", flags=True)
    parsed = [_read_annotation(root, image_id) for image_id in ids]
    names = list(VOC_OBJECTS)
    found = {label for entry in parsed if not isinstance(entry, str) for label, *_ in entry[0]}
    extra = sorted(found - set(names))
    classes = names + extra
    index = {name: i for i, name in enumerate(classes)}
    objects = [_objects(entry, index) for entry in parsed]
    dataset = VOCDetectionDataset(
        root,
        objects=objects,
        sizes=[None if isinstance(entry, str) else entry[1] for entry in parsed],
        layout="Pascal VOC",
        task="detection",
        tasks=tasks,
        classes=classes,
        splits=splits,
        split=split,
        sample_ids=ids,
        tags=presence(objects, len(classes)),
        palette=bit_palette(len(classes) + 1)[1:],
    )
    if extra:
        dataset.notices.append(
            f"VOC: {len(extra)} object names are not among VOC's 20 classes and were added after them: "
            + ", ".join(extra[:10])
            + (", ..." if len(extra) > 10 else "")
        )
    failed = [entry for entry in parsed if isinstance(entry, str)]
    if failed:
        dataset.notices.append(f"VOC: {len(failed)} of {len(ids)} annotation files cannot be read; first: {failed[0]}")
    return dataset


def voc_tasks(root: Path) -> tuple[str, ...]:
    """The tasks whose files are in ``root``: segmentation (SegmentationClass/) and detection (Annotations/)."""
    found = {
        "segmentation": (root / "SegmentationClass").is_dir() and (root / SETS).is_dir(),
        "detection": (root / "Annotations").is_dir() and (root / MAIN).is_dir() and bool(main_splits(root)),
    }
    return tuple(task for task in TASKS if found[task])


def open_voc(root: Path, split: str | None = None, task: str | None = None) -> FileDataset:
    """The VOC dataset at ``root`` on ``split`` for ``task`` (default: segmentation when its files are there)."""
    tasks = voc_tasks(root)
    task = task or tasks[0]
    if task not in tasks:
        raise DatasetError(f"VOC at {root} offers {', '.join(tasks)}, not {task}")
    return _segmentation(root, split, tasks) if task == "segmentation" else _detection(root, split, tasks)


def _why_not(path: Path) -> tuple[str, bool]:
    parts = ("JPEGImages", "SegmentationClass", str(SETS), "Annotations", str(MAIN))
    found = [p for p in parts if (path / p).is_dir()]
    if not found:
        return (
            "no JPEGImages/ with SegmentationClass/ and ImageSets/Segmentation/, or with Annotations/ and "
            "ImageSets/Main/ (VOCdevkit/VOC20xx/)",
            False,
        )
    wanted = ("JPEGImages", "Annotations", str(MAIN)) if "Annotations" in found else parts[:3]
    missing = [p for p in wanted if p not in found]
    if not missing and not main_splits(path):
        missing = [f"{MAIN}/<split>.txt"]
    return (
        f"found {', '.join(found)} but no {', '.join(missing)}",
        "SegmentationClass" in found or "Annotations" in found or path.name.startswith("VOC"),
    )


def _is_voc(path: Path) -> bool:
    return (path / "JPEGImages").is_dir() and bool(voc_tasks(path))


def probe_voc(path: Path) -> Probe:
    devkit = path / "VOCdevkit" if (path / "VOCdevkit").is_dir() else path
    years = [devkit / name for name in reversed(subdirs(devkit)) if name.startswith("VOC")]
    for candidate in [path, *years]:  # the newest year first
        if _is_voc(candidate):
            return Probe(candidate)
    why, partial = _why_not(years[0] if years and not (path / "JPEGImages").is_dir() else path)
    return Probe(None, why, partial=partial)


register(Layout("Pascal VOC", probe_voc, lambda root, split: open_voc(root, split), priority=30, open_task=open_voc))
