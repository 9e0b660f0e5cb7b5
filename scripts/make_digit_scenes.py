"""Build the bundled "digit scenes" demo: scikit-learn's real digits placed on textured canvases.

Each scene is a 64 x 64 RGB canvas with 1 to 4 of scikit-learn's handwritten digits (``load_digits``), each
scaled to a random size (16 to 30 pixels high), coloured, and laid at a random position on a textured
background (a colour gradient plus stripes, blobs or a checker pattern). Digits never overlap: their
boxes are drawn one by one and a box that would touch an earlier one is drawn again (a scene keeps fewer
digits when no place is left). A pixel belongs to a digit where the digit's upscaled ink covers at least
half of it (the ink is also the alpha with which the digit's colour is blended over the background).

The 1,797 digits are split exactly as ``scripts/make_demo_data.py`` splits ``resources/demo/digits`` (the
same stratified ``train_test_split``), and the test scenes are built only from the test digits, so no
digit in a test scene was ever seen in training, by this demo's models or by ``digits-cnn``.

Writes two datasets:

- ``resources/demo/scenes`` (segmentation, the generic "segmentation pairs" layout of
  ``core/datasets/readers/segpairs.py``): ``images/{train,test}/NNNN.png`` (RGB) and
  ``masks/{train,test}/NNNN.png`` (8-bit single-channel class indices: 0 = background, ``d + 1`` = digit
  ``d``), ``classes.txt`` (one class a line with its display colour, ``name r g b``: ``background``, ``0``
  ... ``9``) and ``sources.csv`` (for every digit of every scene: the split, the scene, the digit's index in
  ``load_digits``, its class and its box), so every pixel can be traced back to the digit it came from.
- ``resources/demo/scene_tags`` (multilabel, the layout of ``core/datasets/readers/multilabel_csv.py``):
  the same images as ``{train,test}/images/NNNN.png``, ``{train,test}/labels.csv`` (``image,labels``; the
  digits present, separated by spaces) and ``classes.txt`` (``0`` ... ``9``).

Seeded: running the script twice writes identical files.

Usage: ``python scripts/make_digit_scenes.py [--train N] [--test N]``
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from scripts.make_demo_data import digits, replacing, split_indices  # noqa: E402  (the digits demo's exact split)

DEMO = ROOT / "resources" / "demo"
SEED = 0
CANVAS = 64
DIGIT_HEIGHT = (16, 30)  # inclusive range of a digit's height in pixels
MAX_DIGITS = 4
INK_THRESHOLD = 0.5  # a pixel is the digit's where its ink (alpha) is at least this
MIN_CONTRAST = 90  # difference in brightness (0-255) between a digit and the background under it
# Colours are stored with 6 bits per channel (the centre of each step of 4): invisible on screen, and the
# PNGs shrink by a quarter, which keeps both demos together under 5 MB.
COLOUR_STEP = 4
SCENES = {"train": 600, "test": 200}
CLASSES = ["background"] + [str(d) for d in range(10)]
# Background black, then matplotlib's "tab10" colours: ten hues told apart at a glance.
PALETTE = [
    (0, 0, 0),
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
]


@dataclass(frozen=True)
class Placed:
    """One digit in a scene: its index in ``load_digits``, its class and its box (x, y, width, height)."""

    source: int
    digit: int
    box: tuple[int, int, int, int]


# -- backgrounds ------------------------------------------------------------------------------------
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return xs / (size - 1), ys / (size - 1)


def _gradient(rng: np.random.Generator, size: int) -> np.ndarray:
    """A linear blend between two random colours along a random direction, H x W x 3 float in 0..255."""
    xs, ys = _grid(size)
    angle = rng.uniform(0, 2 * np.pi)
    t = (np.cos(angle) * (xs - 0.5) + np.sin(angle) * (ys - 0.5)) / np.sqrt(0.5) + 0.5
    start, end = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    return start + np.clip(t, 0, 1)[..., None] * (end - start)


def _pattern(rng: np.random.Generator, size: int) -> np.ndarray:
    """A hard-edged H x W texture of -1, 0 and 1: stripes, blobs or a checker board.

    Hard edges rather than smooth waves: they make the background as busy for the model, and PNG stores
    flat areas in a fraction of the bytes (the demo stays small).
    """
    xs, ys = _grid(size)
    kind = rng.integers(3)
    if kind == 0:  # stripes at a random angle and period
        angle, period = rng.uniform(0, np.pi), rng.uniform(5, 16) / size
        return np.sign(np.sin(2 * np.pi * (np.cos(angle) * xs + np.sin(angle) * ys) / period)).astype(np.float32)
    if kind == 1:  # blobs: coarse noise upscaled smoothly, then cut into three levels
        coarse = rng.uniform(-1, 1, (5, 5)).astype(np.float32)
        smooth = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
        return (np.digitize(smooth, [-0.3, 0.3]) - 1).astype(np.float32)
    cells = rng.integers(3, 7)
    return (((np.floor(xs * cells * 0.999) + np.floor(ys * cells * 0.999)) % 2) * 2 - 1).astype(np.float32)


def background(rng: np.random.Generator, size: int = CANVAS) -> np.ndarray:
    """A textured H x W x 3 float32 canvas in 0..255: gradient + a coloured pattern."""
    tint = rng.uniform(-1, 1, 3) * rng.uniform(15, 45)
    canvas = _gradient(rng, size) + _pattern(rng, size)[..., None] * tint
    return canvas.clip(0, 255).astype(np.float32)


# -- digits -----------------------------------------------------------------------------------------
def digit_ink(image8: np.ndarray, height: int, width: int) -> np.ndarray:
    """An 8 x 8 uint8 digit upscaled to height x width ink (alpha) in 0..1."""
    ink = cv2.resize(image8.astype(np.float32) / 255.0, (width, height), interpolation=cv2.INTER_CUBIC)
    return ink.clip(0.0, 1.0)


def digit_colour(rng: np.random.Generator, under: np.ndarray) -> np.ndarray:
    """A random saturated colour whose brightness differs from the mean of ``under`` by >= MIN_CONTRAST."""
    brightness = float(under.mean())
    if brightness > 127:
        value = rng.uniform(0, max(brightness - MIN_CONTRAST, 0))
    else:
        value = rng.uniform(min(brightness + MIN_CONTRAST, 255), 255)
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(60, 255), value]]], dtype=np.float32)
    hsv[..., 1:] = hsv[..., 1:].round()
    rgb = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)
    # Hue and saturation shift the brightness; pull it back to the chosen value (mean of R, G, B).
    return (rgb + (value - rgb.mean())).clip(0, 255)


def _free(box: tuple[int, int, int, int], taken: list[tuple[int, int, int, int]], gap: int = 1) -> bool:
    x, y, w, h = box
    return all(x + w + gap <= a or a + c + gap <= x or y + h + gap <= b or b + d + gap <= y for a, b, c, d in taken)


def place(
    rng: np.random.Generator,
    taken: list[tuple[int, int, int, int]],
    canvas: int = CANVAS,
    heights: tuple[int, int] = DIGIT_HEIGHT,
    tries: int = 50,
):
    """A random box (x, y, width, height) inside a ``canvas`` square that keeps clear of ``taken``, or None;
    a digit is ``heights`` (an inclusive range) pixels high. The detection demo's scenes are placed so too."""
    for _ in range(tries):
        height = int(rng.integers(heights[0], heights[1] + 1))
        width = int(np.clip(round(height * rng.uniform(0.7, 1.0)), 8, canvas))
        box = (int(rng.integers(0, canvas - width + 1)), int(rng.integers(0, canvas - height + 1)), width, height)
        if _free(box, taken):
            return box
    return None


def draw_digit(rng: np.random.Generator, canvas: np.ndarray, box: tuple[int, int, int, int], image8: np.ndarray):
    """Blend one digit into ``canvas`` (in place) at ``box`` in a colour that stands out from what is under it;
    returns its ink (alpha in 0..1, box-sized): the digit's pixels are where it is at least ``INK_THRESHOLD``."""
    x, y, w, h = box
    ink = digit_ink(image8, h, w)
    region = canvas[y : y + h, x : x + w]
    colour = digit_colour(rng, region)
    canvas[y : y + h, x : x + w] = region * (1 - ink[..., None]) + colour * ink[..., None]
    return ink


def quantised(canvas: np.ndarray) -> np.ndarray:
    """The finished float canvas as uint8, each channel at the centre of its ``COLOUR_STEP`` (smaller PNGs)."""
    return (np.floor(canvas.clip(0, 255) / COLOUR_STEP) * COLOUR_STEP + COLOUR_STEP // 2).astype(np.uint8)


def scene(
    rng: np.random.Generator, pool: Iterator[int], images: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[Placed]]:
    """One scene: (64 x 64 x 3 uint8 image, 64 x 64 uint8 class mask, the digits placed)."""
    canvas = background(rng)
    mask = np.zeros((CANVAS, CANVAS), dtype=np.uint8)
    placed: list[Placed] = []
    for _ in range(int(rng.integers(1, MAX_DIGITS + 1))):
        box = place(rng, [p.box for p in placed])
        if box is None:
            break
        source = next(pool)
        x, y, w, h = box
        ink = draw_digit(rng, canvas, box, images[source])
        mask[y : y + h, x : x + w][ink >= INK_THRESHOLD] = labels[source] + 1
        placed.append(Placed(int(source), int(labels[source]), box))
    return quantised(canvas), mask, placed


def digit_stream(indices: np.ndarray, rng: np.random.Generator) -> Iterator[int]:
    """The split's digits in a fresh random order, again and again: every digit is used about equally often."""
    while True:
        yield from rng.permutation(indices).tolist()


def make_split(split: str, count: int, indices: np.ndarray, images: np.ndarray, labels: np.ndarray):
    """Yield (number, image, mask, placed digits) for ``count`` scenes built from the digits ``indices``."""
    rng = np.random.default_rng([SEED, list(SCENES).index(split) if split in SCENES else len(SCENES)])
    pool = digit_stream(indices, rng)
    for number in range(count):
        image, mask, placed = scene(rng, pool, images, labels)
        yield number, image, mask, placed


# -- writing ----------------------------------------------------------------------------------------
def _write_png(path: Path, array: np.ndarray) -> None:
    array = array[..., ::-1] if array.ndim == 3 else array  # cv2 writes BGR
    if not cv2.imwrite(str(path), np.ascontiguousarray(array), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f"cannot write {path}")


def write_demos(counts: dict[str, int], demo: Path = DEMO) -> dict[str, dict[str, int]]:
    """Write ``scenes`` and ``scene_tags`` under ``demo``; returns per split the scene and digit counts."""
    images, _, labels = digits()
    splits = split_indices(labels)
    summary: dict[str, dict[str, int]] = {}
    # Both datasets are written beside the old ones and swapped in once both are complete.
    with replacing(demo / "scenes") as scenes, replacing(demo / "scene_tags") as tags:
        lines = [f"{name} {r} {g} {b}" for name, (r, g, b) in zip(CLASSES, PALETTE)]
        (scenes / "classes.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (tags / "classes.txt").write_text("\n".join(CLASSES[1:]) + "\n", encoding="utf-8")
        with open(scenes / "sources.csv", "w", newline="", encoding="utf-8") as sources:
            source_rows = csv.writer(sources, lineterminator="\n")
            source_rows.writerow(["split", "image", "digit_index", "class", "x", "y", "width", "height"])
            for split, count in counts.items():
                summary[split] = _write_split(split, count, splits[split], images, labels, scenes, tags, source_rows)
    return summary


def _write_split(split, count, indices, images, labels, scenes: Path, tags: Path, source_rows) -> dict[str, int]:
    image_dir, mask_dir = scenes / "images" / split, scenes / "masks" / split
    for folder in (image_dir, mask_dir, tags / split / "images"):
        folder.mkdir(parents=True)
    used: set[int] = set()
    digits_placed = 0
    with open(tags / split / "labels.csv", "w", newline="", encoding="utf-8") as file:
        rows = csv.writer(file, lineterminator="\n")
        rows.writerow(["image", "labels"])
        for number, image, mask, placed in make_split(split, count, indices, images, labels):
            name = f"{number:04d}.png"
            _write_png(image_dir / name, image)
            _write_png(mask_dir / name, mask)
            shutil.copyfile(image_dir / name, tags / split / "images" / name)
            rows.writerow([name, " ".join(str(d) for d in sorted({p.digit for p in placed}))])
            for p in placed:
                source_rows.writerow([split, name, p.source, p.digit, *p.box])
            used.update(p.source for p in placed)
            digits_placed += len(placed)
    return {"scenes": count, "digits placed": digits_placed, "distinct digits": len(used), "pool": len(indices)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=SCENES["train"], help="number of training scenes")
    parser.add_argument("--test", type=int, default=SCENES["test"], help="number of test scenes")
    args = parser.parse_args(argv)
    summary = write_demos({"train": args.train, "test": args.test})
    for split, info in summary.items():
        print(f"{split}: " + ", ".join(f"{value} {key}" for key, value in info.items()))
    for name in ("scenes", "scene_tags"):
        size = sum(p.stat().st_size for p in (DEMO / name).rglob("*") if p.is_file())
        print(f"{name}: {size / 1e6:.2f} MB -> {DEMO / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
