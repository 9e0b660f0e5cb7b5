"""Oxford Flowers-102: ``jpg/image_NNNNN.jpg``, ``imagelabels.mat`` and ``setid.mat``.

``imagelabels.mat`` holds ``labels``, one class 1..102 per image (image ids count from 1);
``setid.mat`` holds the 1-based image ids of each split: ``trnid`` (train), ``valid`` (val)
and ``tstid`` (test). This is torchvision's ``Flowers102`` layout (its root holds
``flowers-102/``); the class names are torchvision's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import DatasetError, default_split
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers.files import FileDataset
from core.datasets.readers.torchvision_names import class_names

NUM_CLASSES = 102
SPLIT_KEYS = {"train": "trnid", "val": "valid", "test": "tstid"}


def _loadmat(path: Path) -> dict[str, Any]:
    from scipy.io import loadmat  # scipy is slow to import; only Flowers needs it

    try:
        return loadmat(path, squeeze_me=True)
    except FileNotFoundError:
        raise DatasetError(f"Flowers-102: {path.name} is missing from {path.parent}") from None
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError... for broken files
        raise DatasetError(f"Flowers-102: cannot read {path} ({type(exc).__name__}: {exc})") from None


def _integers(mat: dict[str, Any], key: str, path: Path) -> np.ndarray:
    if key not in mat:
        keys = sorted(k for k in mat if not k.startswith("__"))
        raise DatasetError(f"Flowers-102: {path.name} has no key {key!r} (it has {keys})")
    values = np.atleast_1d(np.asarray(mat[key]))
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.number):
        raise DatasetError(
            f"Flowers-102: {path.name} {key!r} should be a list of numbers, found {values.dtype} {values.shape}"
        )
    return values.astype(np.int64)


def open_flowers(root: Path, split: str | None = None) -> FileDataset:
    split = split or default_split(list(SPLIT_KEYS))
    if split not in SPLIT_KEYS:
        raise DatasetError(f"Flowers-102 has no split {split!r}; it has {list(SPLIT_KEYS)}")
    labels_path, setid_path = root / "imagelabels.mat", root / "setid.mat"
    labels = _integers(_loadmat(labels_path), "labels", labels_path)
    ids = _integers(_loadmat(setid_path), SPLIT_KEYS[split], setid_path)
    if len(labels) and (labels.min() < 1 or labels.max() > NUM_CLASSES):
        bad = labels[(labels < 1) | (labels > NUM_CLASSES)][0]
        raise DatasetError(f"Flowers-102: imagelabels.mat 'labels' holds {bad}, outside the classes 1..{NUM_CLASSES}")
    if len(ids) and (ids.min() < 1 or ids.max() > len(labels)):
        bad = ids[(ids < 1) | (ids > len(labels))][0]
        raise DatasetError(
            f"Flowers-102: setid.mat {SPLIT_KEYS[split]!r} names image {bad}, "
            f"but imagelabels.mat labels {len(labels)} images"
        )
    return FileDataset(
        root,
        layout="Flowers-102",
        image_root=root / "jpg",
        task="multiclass",
        classes=class_names("datasets.flowers102", "Flowers102", "classes", NUM_CLASSES),
        splits=list(SPLIT_KEYS),
        split=split,
        sample_ids=[f"image_{i:05d}.jpg" for i in ids],
        targets=labels[ids - 1] - 1,
    )


def probe_flowers(path: Path) -> Probe:
    present = [name for name in ("jpg", "imagelabels.mat", "setid.mat") if (path / name).exists()]
    if len(present) == 3:
        return Probe(path)
    if present:
        missing = [n for n in ("jpg/", "imagelabels.mat", "setid.mat") if n.rstrip("/") not in present]
        return Probe(None, f"found {', '.join(present)} but no {', '.join(missing)}", partial=present != ["jpg"])
    return Probe(None, "no jpg/ with imagelabels.mat and setid.mat")


register(Layout("Flowers-102", probe_flowers, open_flowers, priority=30))
