"""Writers of tiny fake datasets in the exact on-disk layouts of the real ones.

Random pixels, known labels: each writer returns what a reader should find, so tests can
compare pixel for pixel. Used by the core, GUI and end-to-end tests (``from tests.fake_datasets
import ...``) and by ``benchmarks/bench_open.py`` (which writes the real sizes).
"""

from __future__ import annotations

import gzip
import json
import pickle
import struct
from pathlib import Path

import numpy as np

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# -- pickles as Python 2 wrote them -------------------------------------------------------
class _Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]  # the pure-Python pickler lets us override
    """Writes bytes as Python 2 ``str`` (BINSTRING), as the original CIFAR pickles hold them."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def write_py2_pickle(path: Path, obj: object) -> None:
    with open(path, "wb") as file:
        _Py2Pickler(file, protocol=2).dump(obj)


# -- CIFAR ----------------------------------------------------------------------------
def _cifar_images(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)


def _cifar_rows(images: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), -1))


def write_cifar10(
    parent: Path, per_batch: int = 3, n_test: int = 4, seed: int = 0, py2: bool = True
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``parent/cifar-10-batches-py``; returns split -> (N x 32 x 32 x 3 images, labels)."""
    rng = np.random.default_rng(seed)
    root = parent / "cifar-10-batches-py"
    root.mkdir(parents=True, exist_ok=True)
    dump = write_py2_pickle if py2 else _dump_py3
    expected: dict[str, list] = {"train": [[], []], "test": [[], []]}
    for name, n, split in [(f"data_batch_{i}", per_batch, "train") for i in range(1, 6)] + [
        ("test_batch", n_test, "test")
    ]:
        images = _cifar_images(rng, n)
        labels = rng.integers(0, 10, size=n).tolist()
        entry = {
            "batch_label": f"{name} of 5".encode(),
            "labels": labels,
            "data": _cifar_rows(images),
            "filenames": [f"img_{name}_{i}.png".encode() for i in range(n)],
        }
        dump(root / name, entry)
        expected[split][0].append(images)
        expected[split][1].extend(labels)
    dump(root / "batches.meta", {"num_cases_per_batch": per_batch, "label_names": CIFAR10_NAMES, "num_vis": 3072})
    return {s: (np.concatenate(v[0]), np.asarray(v[1])) for s, v in expected.items()}


def _dump_py3(path: Path, obj: object) -> None:
    path.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def write_cifar100(parent: Path, n_train: int = 6, n_test: int = 4, seed: int = 0) -> dict[str, tuple]:
    """``parent/cifar-100-python``; returns split -> (images, fine labels, coarse labels)."""
    rng = np.random.default_rng(seed)
    root = parent / "cifar-100-python"
    root.mkdir(parents=True, exist_ok=True)
    expected = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = _cifar_images(rng, n)
        fine = rng.integers(0, 100, size=n).tolist()
        coarse = [f // 5 for f in fine]
        entry = {
            "filenames": [f"{split}_{i}.png".encode() for i in range(n)],
            "batch_label": f"{split} batch".encode(),
            "fine_labels": fine,
            "coarse_labels": coarse,
            "data": _cifar_rows(images),
        }
        write_py2_pickle(root / split, entry)
        expected[split] = (images, np.asarray(fine), np.asarray(coarse))
    meta = {
        "fine_label_names": [f"fine_{i}" for i in range(100)],
        "coarse_label_names": [f"coarse_{i}" for i in range(20)],
    }
    write_py2_pickle(root / "meta", meta)
    return expected


# -- MNIST IDX files --------------------------------------------------------------------
def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of a uint8 array: magic 0x0000 08 <ndim>, big-endian sizes, the bytes."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_mnist(
    folder: Path, n_train: int = 5, n_test: int = 3, seed: int = 0, gz: bool = False, size: int = 28
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four IDX files (``.gz`` when ``gz``) in ``folder``; returns split -> (N x H x W images, labels)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.integers(0, 256, size=(n, size, size), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            data = idx_bytes(array)
            name = f"{prefix}-{kind}-ubyte"
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data, compresslevel=1))
            else:
                (folder / name).write_bytes(data)
        expected[split] = (images, labels.astype(np.int64))
    return expected


# -- image files ----------------------------------------------------------------------
def png_bytes(pixels: np.ndarray) -> bytes:
    """Lossless PNG bytes of an H x W x 3 (or H x W) uint8 array."""
    import cv2

    array = pixels[:, :, ::-1] if pixels.ndim == 3 else pixels
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array))
    assert ok
    return encoded.tobytes()


def write_images(
    folder: Path, names: list[str], seed: int = 0, size: tuple[int, int] = (6, 8)
) -> dict[str, np.ndarray]:
    """Random PNG (or JPEG, by extension) images under ``folder``; returns name -> pixels as written."""
    import cv2

    rng = np.random.default_rng(seed)
    written = {}
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
        if path.suffix.lower() in (".jpg", ".jpeg"):
            _, encoded = cv2.imencode(".jpg", pixels[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
            path.write_bytes(encoded.tobytes())
            pixels = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[:, :, ::-1]  # what a decoder gives back
        else:
            path.write_bytes(png_bytes(pixels))
        written[name] = pixels
    return written


# -- Flowers-102 / Food-101 -------------------------------------------------------------
def write_flowers102(parent: Path, n: int = 9, seed: int = 0) -> tuple[Path, np.ndarray, dict[str, list[int]]]:
    """``parent/flowers-102``: returns (root, 1-based labels per image, split -> 1-based image ids)."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    root = parent / "flowers-102"
    write_images(root / "jpg", [f"image_{i:05d}.jpg" for i in range(1, n + 1)], seed=seed)
    labels = rng.integers(1, 103, size=n)
    order = rng.permutation(np.arange(1, n + 1))
    splits = {"trnid": order[: n // 3], "valid": order[n // 3 : 2 * n // 3], "tstid": order[2 * n // 3 :]}
    savemat(root / "imagelabels.mat", {"labels": labels.astype(np.float64)[None, :]})
    savemat(root / "setid.mat", {k: v.astype(np.uint16)[None, :] for k, v in splits.items()})
    return root, labels, {k: v.tolist() for k, v in splits.items()}


FOOD_CLASSES = ["apple_pie", "baby_back_ribs", "waffles"]


def write_food101(parent: Path, per_class: dict[str, int] | None = None, seed: int = 0, txt: bool = False) -> Path:
    """``parent/food-101`` with images and meta/ (json, or txt when ``txt``); returns the root."""
    import json

    root = parent / "food-101"
    meta = root / "meta"
    meta.mkdir(parents=True)
    counts = per_class or {"apple_pie": 3, "baby_back_ribs": 2, "waffles": 4}
    splits: dict[str, dict[str, list[str]]] = {"train": {}, "test": {}}
    for c, name in enumerate(FOOD_CLASSES):
        items = [f"{name}/{1000 + c * 100 + i}" for i in range(counts.get(name, 0))]
        write_images(root / "images", [f"{item}.jpg" for item in items], seed=seed + c)
        splits["train"][name], splits["test"][name] = items[: len(items) // 2], items[len(items) // 2 :]
    for split, mapping in splits.items():
        if txt:
            (meta / f"{split}.txt").write_text("".join(f"{i}\n" for items in mapping.values() for i in items))
        else:
            (meta / f"{split}.json").write_text(json.dumps(mapping))
    (meta / "classes.txt").write_text("\n".join(FOOD_CLASSES) + "\n")
    (meta / "labels.txt").write_text("\n".join(n.replace("_", " ").capitalize() for n in FOOD_CLASSES) + "\n")
    return root


# -- ImageNet -------------------------------------------------------------------------
IMAGENET_SYNSETS = {"n01440764": "tench, Tinca tinca", "n01443537": "goldfish, Carassius auratus", "n02012849": "crane"}


def write_imagenet(root: Path, kaggle: bool = False, seed: int = 0) -> dict[str, dict[str, str]]:
    """train/<wnid>/ folders; val/ by synset folders, or Kaggle's flat val/ + LOC_val_solution.csv.

    Returns split -> {sample id: synset}.
    """
    images = root / "ILSVRC" / "Data" / "CLS-LOC" if kaggle else root
    truth: dict[str, dict[str, str]] = {"train": {}, "val": {}}
    rng = np.random.default_rng(seed)
    wnids = sorted(IMAGENET_SYNSETS)
    for wnid in wnids:
        names = [f"{wnid}/{wnid}_{i}.JPEG" for i in range(2)]
        write_images(images / "train", names, seed=seed)
        truth["train"].update({f"train/{n}": wnid for n in names})
    rows = ["ImageId,PredictionString"]
    for i in range(1, 6):
        wnid = wnids[rng.integers(len(wnids))]
        stem = f"ILSVRC2012_val_{i:08d}"
        name = f"{stem}.JPEG" if kaggle else f"{wnid}/{stem}.JPEG"
        write_images(images / "val", [name], seed=seed + i)
        truth["val"][f"val/{name}"] = wnid
        rows.append(f"{stem},{wnid} 10 20 30 40 {wnid} 1 2 3 4")
    if kaggle:
        (root / "LOC_val_solution.csv").write_text("\n".join(rows) + "\n")
        (root / "LOC_synset_mapping.txt").write_text("".join(f"{w} {IMAGENET_SYNSETS[w]}\n" for w in wnids))
    return truth


# -- CelebA ---------------------------------------------------------------------------
CELEBA_ATTRIBUTES = ["5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald"]
CELEBA_ATTRIBUTES += [f"Attr_{i}" for i in range(5, 40)]
CELEBA_LANDMARKS = [
    f"{part}_{axis}" for part in ("lefteye", "righteye", "nose", "leftmouth", "rightmouth") for axis in "xy"
]


CELEBA_WILD_SIZE = (40, 50)  # (height, width) of the in-the-wild images write_celeba(wild=True) writes


def write_celeba(parent: Path, n: int = 7, seed: int = 0, wild: bool = False) -> dict[str, np.ndarray]:
    """``parent/celeba`` with images and the five list files, spaced as the originals are. ``wild``: the
    in-the-wild images too (``img_celeba/``, CELEBA_WILD_SIZE), whose faces ``list_bbox_celeba.txt`` boxes."""
    rng = np.random.default_rng(seed)
    root = parent / "celeba"
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    write_images(root / "img_align_celeba", names, seed=seed)
    attrs = rng.choice([-1, 1], size=(n, 40))
    partition = np.arange(n) % 3
    identity = rng.integers(1, 10178, size=n)
    bbox = rng.integers(0, 300, size=(n, 4))
    if wild:
        write_images(root / "img_celeba", names, seed=seed + 1, size=CELEBA_WILD_SIZE)
        corner, size = rng.integers(0, 20, size=(n, 2)), rng.integers(5, 20, size=(n, 2))
        bbox = np.concatenate([corner, size], axis=1)
    landmarks = rng.integers(0, 200, size=(n, 10))

    def table(rows: np.ndarray, width: int) -> str:
        return "".join(f"{name} " + " ".join(f"{v:>{width}d}" for v in row) + "\n" for name, row in zip(names, rows))

    (root / "list_attr_celeba.txt").write_text(f"{n}\n" + " ".join(CELEBA_ATTRIBUTES) + " \n" + table(attrs, 2))
    (root / "list_eval_partition.txt").write_text(table(partition[:, None], 1))
    (root / "identity_CelebA.txt").write_text(table(identity[:, None], 1))
    (root / "list_bbox_celeba.txt").write_text(f"{n}\nimage_id x_1 y_1 width height\n" + table(bbox, 4))
    (root / "list_landmarks_align_celeba.txt").write_text(
        f"{n}\n" + " ".join(CELEBA_LANDMARKS) + "\n" + table(landmarks, 4)
    )
    return {"attrs": attrs, "partition": partition, "identity": identity, "bbox": bbox, "landmarks": landmarks}


# -- segmentation ---------------------------------------------------------------------
def palette_png(indices: np.ndarray, palette: np.ndarray) -> bytes:
    """A palette ("P") PNG holding ``indices``, as VOC's SegmentationClass files are."""
    import io

    from PIL import Image

    img = Image.fromarray(indices.astype(np.uint8), "P")
    colours = np.zeros((256, 3), np.uint8)
    colours[: len(palette)] = palette
    img.putpalette(colours.ravel().tolist())
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def random_mask(rng: np.random.Generator, size: tuple[int, int], num_classes: int, void: bool = True) -> np.ndarray:
    mask = rng.integers(0, num_classes, size=size, dtype=np.uint8)
    if void:
        mask[0, :] = 255  # a void border, as VOC draws around objects
    return mask


def write_voc(
    parent: Path, year: str = "2012", seed: int = 0
) -> tuple[Path, dict[str, list[str]], dict[str, np.ndarray]]:
    """``parent/VOCdevkit/VOC<year>``; returns (root, split -> ids, id -> mask)."""
    from core.datasets.readers.masks import bit_palette

    rng = np.random.default_rng(seed)
    root = parent / "VOCdevkit" / f"VOC{year}"
    ids = [f"{year}_{i:06d}" for i in range(1, 6)]
    write_images(root / "JPEGImages", [f"{i}.jpg" for i in ids], seed=seed, size=(10, 12))
    (root / "SegmentationClass").mkdir(parents=True)
    masks = {}
    for image_id in ids:
        masks[image_id] = random_mask(rng, (10, 12), 21)
        (root / "SegmentationClass" / f"{image_id}.png").write_bytes(palette_png(masks[image_id], bit_palette(256)))
    sets = root / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True)
    splits = {"train": ids[:3], "val": ids[3:], "trainval": ids}
    for split, names in splits.items():
        (sets / f"{split}.txt").write_text("".join(f"{n}\n" for n in names))
    return root, splits, masks


VOC_OBJECTS = (
    *("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable"),
    *("dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"),
)


def voc_xml(filename: str, size: tuple[int, int], objects: list[dict]) -> str:
    """An ``Annotations/<id>.xml`` as VOC writes it; objects are {name, bbox (xmin, ymin, xmax, ymax) 1-based,
    difficult, truncated}."""
    height, width = size
    parts = [
        f"<annotation>\n\t<folder>VOC</folder>\n\t<filename>{filename}</filename>\n"
        f"\t<source><database>The VOC Database</database></source>\n"
        f"\t<size>\n\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n\t\t<depth>3</depth>\n\t</size>\n"
        "\t<segmented>0</segmented>\n"
    ]
    for obj in objects:
        xmin, ymin, xmax, ymax = obj["bbox"]
        parts.append(
            f"\t<object>\n\t\t<name>{obj['name']}</name>\n\t\t<pose>Unspecified</pose>\n"
            f"\t\t<truncated>{int(obj['truncated'])}</truncated>\n\t\t<difficult>{int(obj['difficult'])}</difficult>\n"
            f"\t\t<bndbox>\n\t\t\t<xmin>{xmin}</xmin>\n\t\t\t<ymin>{ymin}</ymin>\n"
            f"\t\t\t<xmax>{xmax}</xmax>\n\t\t\t<ymax>{ymax}</ymax>\n\t\t</bndbox>\n\t</object>\n"
        )
    return "".join(parts) + "</annotation>\n"


def write_voc_detection(
    parent: Path, year: str = "2012", seed: int = 0, segmentation: bool = False
) -> tuple[Path, dict[str, list[str]], dict[str, list[dict]]]:
    """``parent/VOCdevkit/VOC<year>`` with Annotations/*.xml and ImageSets/Main (plain split lists and the
    per-class ``<class>_<split>.txt`` lists beside them); ``segmentation``: SegmentationClass too (write_voc).
    Images are 12 x 10; the last image has no objects. Returns (root, split -> ids, id -> objects as in voc_xml)."""
    rng = np.random.default_rng(seed)
    root = parent / "VOCdevkit" / f"VOC{year}"
    ids = [f"{year}_{i:06d}" for i in range(1, 6)]
    if segmentation:
        write_voc(parent, year, seed)
    else:
        write_images(root / "JPEGImages", [f"{i}.jpg" for i in ids], seed=seed, size=(10, 12))
    (root / "Annotations").mkdir(parents=True)
    objects: dict[str, list[dict]] = {}
    for n, image_id in enumerate(ids):
        objects[image_id] = []
        for _ in range(0 if n == len(ids) - 1 else int(rng.integers(1, 4))):
            xmin, ymin = int(rng.integers(1, 8)), int(rng.integers(1, 6))
            box = (xmin, ymin, xmin + int(rng.integers(0, 5)), ymin + int(rng.integers(0, 5)))
            flags = rng.random(2) < 0.3
            name = VOC_OBJECTS[int(rng.integers(0, 20))]
            objects[image_id].append({"name": name, "bbox": box, "difficult": flags[0], "truncated": flags[1]})
        (root / "Annotations" / f"{image_id}.xml").write_text(voc_xml(f"{image_id}.jpg", (10, 12), objects[image_id]))
    sets = root / "ImageSets" / "Main"
    sets.mkdir(parents=True)
    splits = {"train": ids[:3], "val": ids[3:], "trainval": ids}
    for split, names in splits.items():
        (sets / f"{split}.txt").write_text("".join(f"{n}\n" for n in names))
        for name in VOC_OBJECTS[:3]:
            flags = [1 if any(o["name"] == name for o in objects[i]) else -1 for i in names]
            (sets / f"{name}_{split}.txt").write_text("".join(f"{i} {f:2d}\n" for i, f in zip(names, flags)))
    return root, splits, objects


def write_cityscapes(root: Path, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """leftImg8bit/ and gtFine/ for train and val, two cities; returns split -> {id: label id mask}."""
    rng = np.random.default_rng(seed)
    truth: dict[str, dict[str, np.ndarray]] = {}
    for split, cities in (("train", ["aachen", "bochum"]), ("val", ["frankfurt", "lindau"])):
        truth[split] = {}
        for city in cities:
            for frame in range(2):
                stem = f"{city}_{frame:06d}_{19 + frame:06d}"
                write_images(
                    root / "leftImg8bit" / split / city, [f"{stem}_leftImg8bit.png"], seed=seed + frame, size=(8, 16)
                )
                label_ids = rng.integers(0, 34, size=(8, 16), dtype=np.uint8)
                folder = root / "gtFine" / split / city
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{stem}_gtFine_labelIds.png").write_bytes(png_bytes(label_ids))
                (folder / f"{stem}_gtFine_color.png").write_bytes(png_bytes(np.zeros((8, 16, 3), np.uint8)))
                truth[split][f"{city}/{stem}"] = label_ids
    return truth


# -- COCO -----------------------------------------------------------------------------
COCO_CATEGORIES = [
    {"id": 1, "name": "person", "supercategory": "person"},
    {"id": 3, "name": "car", "supercategory": "vehicle"},
    {"id": 18, "name": "dog", "supercategory": "animal"},
]


def _rle_counts(mask: np.ndarray) -> list[int]:
    """Uncompressed COCO RLE: run lengths of the column-major pixels, starting with a run of 0s."""
    flat = mask.ravel(order="F")
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    return runs if flat[0] == 0 else [0, *runs]


def coco_instances(
    n_images: int, size: tuple[int, int] = (12, 16), per_image: int = 3, seed: int = 0, segmentation: bool = True
) -> dict:
    """An instances json: rectangles as polygons, one crowd RLE per image, some overlapping.

    ``segmentation=False``: a detection-only export (boxes, no ``segmentation`` keys)."""
    rng = np.random.default_rng(seed)
    height, width = size
    images, annotations = [], []
    for i in range(n_images):
        images.append({"id": 100 + i, "file_name": f"{100 + i:012d}.jpg", "height": height, "width": width})
        for _ in range(per_image):
            x0, y0 = rng.integers(0, width - 4), rng.integers(0, height - 4)
            x1, y1 = x0 + rng.integers(2, 5), y0 + rng.integers(2, 5)
            polygon = [float(v) for v in (x0, y0, x1, y0, x1, y1, x0, y1)]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": 100 + i,
                    "iscrowd": 0,
                    "area": 1.0,
                    "category_id": int(rng.choice([1, 3, 18])),
                    "segmentation": [polygon],
                    "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                }
            )
        crowd = np.zeros(size, np.uint8)
        crowd[-3:, :5] = 1
        annotations.append(
            {
                "id": len(annotations) + 1,
                "image_id": 100 + i,
                "iscrowd": 1,
                "area": 15.0,
                "category_id": 1,
                "segmentation": {"size": [height, width], "counts": _rle_counts(crowd)},
                "bbox": [0, 9, 5, 3],
            }
        )
    if not segmentation:
        for annotation in annotations:
            del annotation["segmentation"]
    return {"info": {}, "licenses": [], "images": images, "annotations": annotations, "categories": COCO_CATEGORIES}


def write_coco(
    root: Path,
    split: str = "val2017",
    n_images: int = 3,
    images_subfolder: bool = False,
    seed: int = 0,
    segmentation: bool = True,
) -> Path:
    """``root/annotations/instances_<split>.json`` and the images in ``root/<split>/``; returns the json.

    The COCO instances layout (polygons, crowd RLEs, bboxes); ``segmentation=False`` writes a detection-only one."""
    data = coco_instances(n_images, seed=seed, segmentation=segmentation)
    folder = root / "images" / split if images_subfolder else root / split
    write_images(folder, [image["file_name"] for image in data["images"]], seed=seed, size=(12, 16))
    path = root / "annotations" / f"instances_{split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


# -- models -----------------------------------------------------------------------------
def tiny_unet_card(folder: Path, classes: list[str], *, sharpen: bool = False, name: str = "tiny-unet"):
    """A random tiny U-Net (depth 2, width 4, 16 x 16 input) saved as ``folder/<name>.pt`` with its card.

    ``sharpen`` scales the head so the probabilities differ from pixel to pixel and class to class.
    Returns the card, loaded back from ``folder/<name>.json``.
    """
    import torch

    from core.models import ModelCard, load_card
    from core.models.unet import UNet
    from core.models.weights import file_sha256

    torch.manual_seed(0)
    model = UNet(in_channels=3, num_classes=len(classes), depth=2, width=4)
    if sharpen:
        with torch.no_grad():
            model.head.weight.mul_(1000.0)
    weights = folder / f"{name}.pt"
    torch.save(model.state_dict(), weights)
    card = ModelCard(
        name=name, architecture="unet", task="segmentation", classes=list(classes), input_size=(16, 16),
        arch_kwargs={"depth": 2, "width": 4}, weights=weights.name, sha256=file_sha256(weights),
    )  # fmt: skip
    card.save(folder / f"{name}.json")
    return load_card(folder / f"{name}.json")


def tiny_segmentation_run(tmp: Path, *, sharpen: bool = False):
    """(dataset, predictions): a random tiny U-Net run over a fake VOC's trainval split (5 images of 12 x 10),
    for views to show; ``sharpen`` as in ``tiny_unet_card``."""
    from core.datasets import open_dataset
    from core.inference.segmentation import SegmentationJob

    root, _, _ = write_voc(tmp / "data")
    dataset = open_dataset(root, split="trainval")
    card = tiny_unet_card(tmp, dataset.classes, sharpen=sharpen)
    job = SegmentationJob(card, dataset, device="cpu", num_workers=0, run_dir=tmp / "run")
    for _ in job.run():
        pass
    assert job.predictions.done.all()
    return dataset, job.predictions


def write_flat_colour_folder(root: Path, classes=("a", "b"), per_class: int = 3) -> Path:
    """``root/<class>/<i>.png``: 20 x 20 images of flat greys, for models whose answer does not matter."""
    import cv2

    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            cv2.imwrite(str(root / name / f"{i}.png"), np.full((20, 20, 3), 60 * i, np.uint8))
    return root


# -- YOLO -------------------------------------------------------------------------------
YOLO_NAMES = ["person", "car", "dog"]


def _yolo_line(rng: np.random.Generator, polygon: bool) -> tuple[int, list[float]]:
    """One object: a class and its normalised box (cx cy w h) or polygon (x1 y1 x2 y2 ...), 4 decimals as written."""
    cls = int(rng.integers(0, len(YOLO_NAMES)))
    cx, cy = rng.uniform(0.3, 0.7, size=2)
    w, h = rng.uniform(0.1, 0.5, size=2)
    if polygon:
        values = [cx - w / 2, cy - h / 2, cx + w / 2, cy - h / 3, cx, cy + h / 2, cx - w / 3, cy + h / 4]
    else:
        values = [cx, cy, w, h]
    return cls, [round(float(v), 4) for v in values]


def write_yolo(
    root: Path, roboflow: bool = False, polygons: bool = False, names_as_dict: bool = False, seed: int = 0
) -> dict[str, dict[str, list[tuple[int, list[float]]]]]:
    """An Ultralytics dataset: ``data.yaml``, ``images/<split>/*.jpg`` and ``labels/<split>/*.txt``; ``roboflow``:
    Roboflow's export instead (``<split>/images``, ``<split>/labels``, ``train: ../train/images``, ``valid`` for val,
    a ``test`` entry whose folder is absent). Images are 32 x 20 (w x h). In each split the first image has no label
    file and the second an empty one. ``polygons``: every other object is a polygon (instance segmentation).
    Returns split -> {sample id (the image's path under root): [(class, normalised values)]}."""
    rng = np.random.default_rng(seed)
    truth: dict[str, dict[str, list[tuple[int, list[float]]]]] = {}
    for split, count in (("train", 4), ("val", 3)):
        folder = ("valid" if split == "val" else split) if roboflow else split
        images = f"{folder}/images" if roboflow else f"images/{folder}"
        labels = root / (f"{folder}/labels" if roboflow else f"labels/{folder}")
        names = [f"{split}_{i:03d}.jpg" for i in range(count)]
        write_images(root / images, names, seed=seed, size=(20, 32))
        labels.mkdir(parents=True, exist_ok=True)
        truth[split] = {}
        for i, name in enumerate(names):
            objects = [_yolo_line(rng, polygons and k % 2 == 1) for k in range(0 if i < 2 else 1 + i)]
            truth[split][f"{images}/{name}"] = objects
            if i > 0:
                lines = "".join(f"{c} " + " ".join(f"{v:.4f}" for v in values) + "\n" for c, values in objects)
                (labels / name.replace(".jpg", ".txt")).write_text(lines)
    if names_as_dict:
        names_text = "names:\n" + "".join(f"  {i}: {n}\n" for i, n in enumerate(YOLO_NAMES))
    else:
        names_text = f"nc: {len(YOLO_NAMES)}\nnames: [{', '.join(repr(n) for n in YOLO_NAMES)}]\n"
    if roboflow:
        head = "train: ../train/images\nval: ../valid/images\ntest: ../test/images\n\n"
        tail = "\nroboflow:\n  workspace: someone\n  project: things\n  version: 1\n"
    else:
        head, tail = "path: .\ntrain: images/train\nval: images/val\ntest:\n\n", ""
    (root / "data.yaml").write_text(head + names_text + tail)
    return truth
