"""Build the bundled object-detection demo: scikit-learn's real digits as objects on textured canvases.

``resources/demo/scene_detection`` is a COCO instances dataset (the standard layout, read by
``core/datasets/readers/coco.py``)::

    annotations/instances_train.json   annotations/instances_test.json
    train/NNNN.png                     test/NNNN.png

Each scene is a 96 x 96 RGB canvas with 1 to 6 of scikit-learn's handwritten digits, drawn as the digit
scenes of ``scripts/make_digit_scenes.py`` draw theirs (the same backgrounds, colours, contrast and ink
threshold; its functions are reused): a digit is scaled to 14 to 30 pixels high, coloured, and laid where
it keeps clear of the digits already placed, so objects never overlap. Every digit is one annotation:

- ``segmentation``: the digit's own mask (the pixels where its upscaled ink is at least ``INK_THRESHOLD``)
  as a compressed RLE, exact to the pixel (a polygon would redraw it only approximately);
- ``bbox``: ``[x, y, width, height]``, the extent of that mask (all of its connected components: a digit
  whose strokes break apart is still one object), ``area``: its pixel count, ``iscrowd``: 0;
- ``category_id``: ``digit + 1`` (categories ``"0"`` ... ``"9"`` with ids 1 to 10);
- ``digit_index``: the digit's index in ``load_digits``, so every object can be traced back to its source.

The digits are split exactly as ``scripts/make_demo_data.py`` splits ``resources/demo/digits`` (its
stratified ``split_indices``), and test scenes are built only from the test digits: no digit in a test
scene was seen in training, by the scene detector or by any other demo model.

Seeded: running the script twice writes identical files. The folder is written beside the old one and
swapped in whole when complete (``make_demo_data.replacing``).

Usage: ``python scripts/make_scene_detection.py [--train N] [--test N]``
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from scripts.make_demo_data import DEMO, digits, replacing, split_indices  # noqa: E402
from scripts.make_digit_scenes import (  # noqa: E402  (the digit scenes' drawing, reused as is)
    INK_THRESHOLD,
    SEED,
    _write_png,
    background,
    digit_stream,
    draw_digit,
    place,
    quantised,
)

TARGET = DEMO / "scene_detection"
CANVAS = 96
DIGIT_HEIGHT = (14, 30)  # inclusive range of a digit's height in pixels
MAX_DIGITS = 6
SCENES = {"train": 400, "test": 200}
CATEGORIES = [{"id": d + 1, "name": str(d), "supercategory": "digit"} for d in range(10)]


@dataclass(frozen=True)
class Instance:
    """One digit of a scene: its index in ``load_digits``, its class and its own H x W bool mask."""

    source: int
    digit: int
    mask: np.ndarray


def scene(
    rng: np.random.Generator, pool: Iterator[int], images: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, list[Instance]]:
    """One scene: (96 x 96 x 3 uint8 image, its digits with their masks)."""
    canvas = background(rng, CANVAS)
    taken: list[tuple[int, int, int, int]] = []
    instances: list[Instance] = []
    for _ in range(int(rng.integers(1, MAX_DIGITS + 1))):
        box = place(rng, taken, CANVAS, DIGIT_HEIGHT)
        if box is None:
            break
        source = next(pool)
        x, y, w, h = box
        ink = draw_digit(rng, canvas, box, images[source])
        taken.append(box)
        mask = np.zeros((CANVAS, CANVAS), dtype=bool)
        mask[y : y + h, x : x + w] = ink >= INK_THRESHOLD
        if mask.any():  # an upscaled digit always has ink; guarded so no annotation is ever empty
            instances.append(Instance(int(source), int(labels[source]), mask))
    return quantised(canvas), instances


def annotation(instance: Instance, ann_id: int, image_id: int) -> dict[str, Any]:
    """The COCO annotation of one digit: its mask as compressed RLE, the mask's extent as bbox."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(instance.mask.astype(np.uint8)))
    ys, xs = np.nonzero(instance.mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": instance.digit + 1,
        "segmentation": {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")},
        "area": int(instance.mask.sum()),
        "bbox": [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1],
        "iscrowd": 0,
        "digit_index": instance.source,
    }


def make_split(split: str, count: int, indices: np.ndarray, images: np.ndarray, labels: np.ndarray):
    """Yield (number, image, instances) for ``count`` scenes built from the digits ``indices``."""
    # A seed of its own (the canvas size is in it): these scenes are not the segmentation demo's.
    rng = np.random.default_rng([SEED, CANVAS, list(SCENES).index(split) if split in SCENES else len(SCENES)])
    pool = digit_stream(indices, rng)
    for number in range(count):
        image, instances = scene(rng, pool, images, labels)
        yield number, image, instances


def write_split(staging: Path, split: str, count: int, indices, images, labels) -> dict[str, int]:
    """Write one split's images and instances json; returns its scene and object counts."""
    folder = staging / split
    folder.mkdir(parents=True)
    document: dict[str, Any] = {
        "info": {
            "description": f"CV Lens digit scenes for object detection ({split})",
            "version": "1.0",
            "contributor": "scripts/make_scene_detection.py (digits: scikit-learn load_digits, UCI ML)",
        },
        "licenses": [],
        "images": [],
        "annotations": [],
        "categories": CATEGORIES,
    }
    for number, image, instances in make_split(split, count, indices, images, labels):
        name, image_id = f"{number:04d}.png", number + 1
        _write_png(folder / name, image)
        document["images"].append({"id": image_id, "file_name": name, "height": CANVAS, "width": CANVAS})
        for instance in instances:
            document["annotations"].append(annotation(instance, len(document["annotations"]) + 1, image_id))
    text = json.dumps(document, separators=(",", ":"))
    (staging / "annotations" / f"instances_{split}.json").write_text(text + "\n", encoding="utf-8")
    used = {a["digit_index"] for a in document["annotations"]}
    return {"scenes": count, "objects": len(document["annotations"]), "distinct digits": len(used)}


def write_demo(counts: dict[str, int], target: Path = TARGET) -> dict[str, dict[str, int]]:
    """Write the demo to ``target`` (replaced whole once complete); per split, the scene and object counts."""
    images, _, labels = digits()
    splits = split_indices(labels)
    summary: dict[str, dict[str, int]] = {}
    with replacing(target) as staging:
        (staging / "annotations").mkdir()
        for split, count in counts.items():
            summary[split] = write_split(staging, split, count, splits[split], images, labels)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=SCENES["train"], help="number of training scenes")
    parser.add_argument("--test", type=int, default=SCENES["test"], help="number of test scenes")
    args = parser.parse_args(argv)
    summary = write_demo({"train": args.train, "test": args.test})
    for split, info in summary.items():
        print(f"{split}: " + ", ".join(f"{value} {key}" for key, value in info.items()))
    size = sum(p.stat().st_size for p in TARGET.rglob("*") if p.is_file())
    print(f"scene_detection: {size / 1e6:.2f} MB -> {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
