"""Make ``resources/demo/digits_noisy``: the digits demo with faults planted on purpose, and their record.

A demo for "why the model fails" (``python main.py analyze``, the label-issue, duplicate and outlier views):
the clean digits demo gives them nothing to find. Starting from scikit-learn's digits and the very train/test
split of ``resources/demo/digits`` (``scripts/make_demo_data.py``), this script plants

- **label errors**: 5% of the training labels changed to a plausible wrong digit, the one whose mean
  training image is nearest to the image (a 3 that looks like an 8 is labelled 8, not 1);
- **leaks**: training images copied into the test split, some exactly, some with a few pixels changed;
- **outliers**: images that are no digits (noise, blank frames, shapes, letters) in both splits, under a
  random digit label.

Every split is then shuffled (a planted image sits nowhere in particular) and written in MNIST's IDX layout
(``train-images-idx3-ubyte.gz``, ``t10k-...``: 8 x 8 images, a few kilobytes, against 7 MB of PNG files
for the digits demo), which CV Lens reads as it reads MNIST: sample ids are ``train/00042`` and
``test/00007``, the row in the file. ``planted.json`` records what was planted under those ids, so that a
test can measure precision and recall, and where every row came from (its index in ``load_digits``).

Deterministic: fixed seeds, gzip without a time stamp; running it twice writes identical files.

Usage: ``python scripts/make_noisy_demo.py [--out FOLDER]`` (default ``resources/demo/digits_noisy``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import struct
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from scripts.make_demo_data import digits, replacing, split_indices  # noqa: E402  (the digits demo's exact split)

TARGET = ROOT / "resources" / "demo" / "digits_noisy"
SEED = 13
FLIP_FRACTION = 0.05
EXACT_COPIES = 10  # training images copied into the test split as they are
NEAR_COPIES = 10  # ... and with a few pixels changed
PIXELS_CHANGED = 3
#: Outliers planted in each split, by kind.
OUTLIERS = {
    "train": {"noise": 1, "blank": 1, "shape": 1, "letter": 1},
    "test": {"noise": 3, "blank": 3, "shape": 3, "letter": 3},
}
FILES = {"train": "train", "test": "t10k"}  # MNIST's file name prefixes
SIDE = 8


# -- what is planted ------------------------------------------------------------------------------------------
def plausible_wrong_labels(images: np.ndarray, labels: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """For each chosen image, the wrong class whose mean image (over ``images``) is nearest to it."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    centroids = np.stack([flat[labels == c].mean(axis=0) for c in range(10)])
    distances = ((flat[chosen, None, :] - centroids[None]) ** 2).sum(axis=2)
    distances[np.arange(len(chosen)), labels[chosen]] = np.inf  # never the true class
    return distances.argmin(axis=1)


def change_pixels(image: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``image`` with ``count`` pixels made one or two grey steps (of 16) lighter or darker."""
    copy = image.astype(np.int16)
    for flat in rng.choice(image.size, size=count, replace=False):
        row, col = divmod(int(flat), image.shape[1])
        step = int(rng.choice([-32, -16, 16, 32]))
        value = copy[row, col] + step
        if not 0 <= value <= 255:  # at the end of the range: step the other way, so the pixel does change
            value = copy[row, col] - step
        copy[row, col] = value
    return copy.astype(np.uint8)


def outlier(kind: str, number: int, rng: np.random.Generator) -> np.ndarray:
    """An 8 x 8 image that is no digit: ``noise``, ``blank``, ``shape`` or ``letter`` (``number`` picks which)."""
    if kind == "noise":
        return rng.integers(0, 256, size=(SIDE, SIDE), dtype=np.uint8)
    if kind == "blank":
        return np.full((SIDE, SIDE), (255, 0, 128, 64)[number % 4], dtype=np.uint8)
    big = np.zeros((32, 32), dtype=np.uint8)
    if kind == "shape":
        which = number % 4
        if which == 0:
            big = ((np.indices((32, 32)) // 8).sum(axis=0) % 2 * 255).astype(np.uint8)  # checkerboard
        elif which == 1:
            big = np.tile(np.linspace(0, 255, 32).astype(np.uint8), (32, 1))  # horizontal ramp
        elif which == 2:
            cv2.rectangle(big, (4, 4), (27, 27), 255, thickness=-1)  # filled square
        else:
            cv2.line(big, (2, 2), (29, 29), 255, thickness=5)  # a diagonal bar
    elif kind == "letter":
        letter = "AKWMRH"[number % 6]
        cv2.putText(big, letter, (3, 28), cv2.FONT_HERSHEY_SIMPLEX, 1.1, 255, thickness=3)
    else:
        raise ValueError(f"unknown outlier kind {kind!r}")
    return cv2.resize(big, (SIDE, SIDE), interpolation=cv2.INTER_AREA)


def plant(seed: int = SEED) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """(images per split, labels per split, the record): everything the demo is, before it is written."""
    rng = np.random.default_rng(seed)
    images, _, labels = digits()
    split = split_indices(labels)
    train, test = split["train"], split["test"]
    # Rows as lists of (image, given label, true label or None, source index or None, what was planted).
    rows = {
        "train": [[images[i], int(labels[i]), int(labels[i]), int(i), None] for i in train],
        "test": [[images[i], int(labels[i]), int(labels[i]), int(i), None] for i in test],
    }
    order = rng.permutation(len(train))
    flips = round(FLIP_FRACTION * len(train))
    flipped, copied = np.sort(order[:flips]), order[flips : flips + EXACT_COPIES + NEAR_COPIES]
    wrong = plausible_wrong_labels(images[train], labels[train], flipped)
    for position, given in zip(flipped, wrong):
        rows["train"][position][1] = int(given)
        rows["train"][position][4] = {"kind": "label_error"}
    for number, position in enumerate(copied):  # copies of unflipped training images, labelled as their source
        exact = number < EXACT_COPIES
        source = int(train[position])
        image = images[source] if exact else change_pixels(images[source], PIXELS_CHANGED, rng)
        planted = {"kind": "duplicate", "exact": exact, "of_row": int(position)}
        rows["test"].append([image.copy(), int(labels[source]), int(labels[source]), source, planted])
    made = dict.fromkeys(OUTLIERS["test"], 0)  # numbered across the splits: no outlier is planted twice
    for name, kinds in OUTLIERS.items():
        for kind, count in kinds.items():
            for number in range(made[kind], made[kind] + count):
                given = int(rng.integers(0, 10))
                rows[name].append([outlier(kind, number, rng), given, None, None, {"kind": "outlier", "what": kind}])
            made[kind] += count
    return _shuffle_and_record(rows, rng, seed)


def _shuffle_and_record(rows: dict[str, list], rng: np.random.Generator, seed: int):
    """Shuffle each split; the arrays to write and the record of the planted faults under the final sample ids."""
    positions = {name: rng.permutation(len(split_rows)) for name, split_rows in rows.items()}
    new_row = {name: {int(old): new for new, old in enumerate(order)} for name, order in positions.items()}
    images, labels = {}, {}
    record = {"label_errors": [], "duplicates": [], "outliers": [], "sources": {}}
    for name, order in positions.items():
        ordered = [rows[name][int(old)] for old in order]
        images[name] = np.stack([row[0] for row in ordered]).astype(np.uint8)
        labels[name] = np.array([row[1] for row in ordered], dtype=np.uint8)
        record["sources"][name] = [row[3] for row in ordered]
        for new, (_, given, true, source, planted) in enumerate(ordered):
            if planted is not None:  # the sample id as the MNIST reader names the row
                key, entry = _entry(f"{name}/{new:05d}", given, true, source, planted, new_row["train"])
                record[key].append(entry)
    for key in ("label_errors", "duplicates", "outliers"):
        record[key].sort(key=lambda entry: entry.get("sample_id") or entry["test"])
    return images, labels, _describe(record, images, seed)


def _entry(sid: str, given: int, true: int | None, source: int | None, planted: dict, train_row: dict[int, int]):
    """(the record's key, its entry) for one planted sample; ``train_row`` maps old training rows to new ones."""
    if planted["kind"] == "label_error":
        return "label_errors", {"sample_id": sid, "given": given, "true": true, "source": source}
    if planted["kind"] == "duplicate":
        exact = planted["exact"]
        original = f"train/{train_row[planted['of_row']]:05d}"
        return "duplicates", {
            "train": original,
            "test": sid,
            "exact": exact,
            "pixels_changed": 0 if exact else PIXELS_CHANGED,
        }
    return "outliers", {"sample_id": sid, "what": planted["what"], "given": given}


def _describe(record: dict, images: dict[str, np.ndarray], seed: int) -> dict:
    """The record with what a reader needs to understand it without this script."""
    return {
        "about": (
            "Faults planted in scikit-learn's digits (load_digits) by scripts/make_noisy_demo.py. Labels are the "
            "class index (= the digit). label_errors: training samples whose given label is wrong, with the true "
            "one. duplicates: a training sample copied into the test split (exact, or with pixels_changed pixels "
            "changed). outliers: no digit at all, under a random label. sources: for each split, row by row, the "
            "image's index in load_digits (null for an outlier)."
        ),
        "script": "scripts/make_noisy_demo.py",
        "seed": seed,
        "samples": {name: len(array) for name, array in images.items()},
        **record,
    }


# -- writing --------------------------------------------------------------------------------------------------
def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file: magic 00 00 08 <ndim>, one big-endian uint32 per dimension, then the uint8 values."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def record_text(record: dict) -> str:
    """The record as JSON that reads well: one planted fault per line, each split's sources on one line."""
    lines = []
    for key, value in record.items():
        if isinstance(value, list):
            items = ",\n".join(f"  {json.dumps(item)}" for item in value)
            text = f"[\n{items}\n ]"
        elif key == "sources":
            text = "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()) + "\n }"
        else:
            text = json.dumps(value)
        lines.append(f" {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write_demo(target: Path = TARGET, seed: int = SEED) -> dict:
    """Write the demo into ``target``, replacing an old one only once the new one is whole; returns the record."""
    images, labels, record = plant(seed)
    with replacing(Path(target)) as staging:
        for name, prefix in FILES.items():
            # mtime=0 and no file name in the gzip header: the same data gives the same bytes.
            (staging / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images[name]), 9, mtime=0))
            (staging / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels[name]), 9, mtime=0))
        (staging / "planted.json").write_text(record_text(record), encoding="utf-8")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=TARGET, help=f"folder to write (default {TARGET})")
    args = parser.parse_args(argv)
    record = write_demo(args.out)
    counts = ", ".join(f"{name} {count}" for name, count in record["samples"].items())
    exact = sum(pair["exact"] for pair in record["duplicates"])
    print(
        f"{args.out}: {counts} samples; planted {len(record['label_errors'])} label errors, "
        f"{exact} exact and {len(record['duplicates']) - exact} near duplicates across splits, "
        f"{len(record['outliers'])} outliers"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
