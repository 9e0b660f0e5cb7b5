"""Export the bundled demo datasets as ordinary image folders, seeded and reproducible.

- ``resources/demo/digits``: scikit-learn's handwritten digits (``load_digits``: 1,797 8 x 8 images,
  values 0..16, 10 classes).
- ``resources/demo/faces``: scikit-image's LFW subset (``lfw_subset``: 200 25 x 25 images, the first
  100 faces and the last 100 background patches), as the binary classes ``face`` / ``non-face``.

Both become ``<root>/{train,test}/<class>/<index:04d>.png`` (8-bit grayscale), where ``index`` is the
image's position in the source array, so any sample can be traced back to it. The train/test split is
stratified with a fixed ``random_state``, so running the script twice writes identical files.

Usage: ``python scripts/make_demo_data.py``
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
TEST_SIZE = 0.2
SPLIT_SEED = 0


def digits() -> tuple[np.ndarray, list[str], np.ndarray]:
    """scikit-learn's digits as (N x 8 x 8 uint8 images, class names, N labels)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    # Values are counts 0..16 of set pixels in 4x4 blocks; scale them to the full 8-bit range.
    images = np.round(data.images * (255.0 / 16.0)).astype(np.uint8)
    return images, [str(name) for name in data.target_names], data.target.astype(np.int64)


def faces() -> tuple[np.ndarray, list[str], np.ndarray]:
    """scikit-image's LFW subset as (200 x 25 x 25 uint8 images, ["face", "non-face"], labels)."""
    from skimage.data import lfw_subset

    raw = lfw_subset()
    # Older scikit-image returns uint8, newer float64 in [0, 1] (despite its docstring): accept both.
    if raw.dtype == np.uint8:
        images = raw
    else:
        images = np.round(np.clip(raw, 0.0, 1.0) * 255.0).astype(np.uint8)
    # The docstring: "100 first images are faces and subsequent 100 are non-faces".
    labels = (np.arange(len(images)) >= 100).astype(np.int64)
    return images, ["face", "non-face"], labels


def split_indices(labels: np.ndarray, test_size: float = TEST_SIZE, seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """Stratified train/test split of ``range(len(labels))``, each part in ascending order."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        np.arange(len(labels)), test_size=test_size, stratify=labels, random_state=seed, shuffle=True
    )
    return {"train": np.sort(train), "test": np.sort(test)}


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A staging folder beside ``target`` to write a dataset into; when the block ends without an error it
    replaces ``target`` whole (the old folder is removed only then), else it is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # The temp folder starts with a dot so that, should the script die half-way, dataset probing ignores it.
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        staging.chmod(0o755)  # mkdtemp makes it private; the dataset should read like any other folder
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old"
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
        staging.rename(target)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def export(name: str, images: np.ndarray, classes: list[str], labels: np.ndarray) -> dict[str, np.ndarray]:
    """Write one dataset to ``resources/demo/<name>``, replacing the old folder only once the new one is whole.

    Returns the per-split class counts.
    """
    counts: dict[str, np.ndarray] = {}
    with replacing(DEMO / name) as staging:
        for split, indices in split_indices(labels).items():
            for class_name in classes:
                (staging / split / class_name).mkdir(parents=True)
            for index in indices:
                path = staging / split / classes[labels[index]] / f"{index:04d}.png"
                # Maximum zlib compression: the files are tiny and compression is deterministic.
                if not cv2.imwrite(str(path), images[index], [cv2.IMWRITE_PNG_COMPRESSION, 9]):
                    raise OSError(f"cannot write {path}")
            counts[split] = np.bincount(labels[indices], minlength=len(classes))
    return counts


def main() -> int:
    for name, load in (("digits", digits), ("faces", faces)):
        images, classes, labels = load()
        counts = export(name, images, classes, labels)
        total = sum(int(c.sum()) for c in counts.values())
        print(f"{name}: {total} images, {len(classes)} classes -> {DEMO / name}")
        for split, per_class in counts.items():
            detail = ", ".join(f"{c}={n}" for c, n in zip(classes, per_class))
            print(f"  {split}: {int(per_class.sum())} ({detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
