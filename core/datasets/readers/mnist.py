"""MNIST and Fashion-MNIST as IDX files, gzipped or not.

Either torchvision's layout (``root/MNIST/raw/train-images-idx3-ubyte[.gz]``,
``root/FashionMNIST/raw/...``) or any folder holding the four files
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``. The files of both datasets are named alike, so the folder
names decide: a path with "fashion" in it is Fashion-MNIST.

An IDX file is a 4-byte magic (two zero bytes, the type 0x08 = uint8, the number of
dimensions), one big-endian uint32 per dimension, then the values. Uncompressed files are
memory-mapped; gzipped ones are decompressed once into memory (47 MB for the train images).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from core.datasets.base import DatasetError, default_split
from core.datasets.readers.arrays import ArrayDataset
from core.datasets.readers.torchvision_names import class_names
from core.datasets.registry import Layout, Probe, register

PREFIXES = {"train": "train", "test": "t10k"}
UINT8 = 0x08


def _file(folder: Path, prefix: str, kind: str) -> Path | None:
    """The uncompressed file if present (torchvision keeps both), else the .gz one."""
    name = f"{prefix}-{kind}-ubyte"
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """The uint8 array of an IDX file, with its magic number and size checked against the header."""
    try:
        if path.suffix == ".gz":
            data: bytes | np.ndarray = gzip.decompress(path.read_bytes())
            size = len(data)
        else:
            size = path.stat().st_size
            data = np.memmap(path, dtype=np.uint8, mode="r") if size else b""
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    header = bytes(data[:4])
    if len(header) < 4 or header[:2] != b"\0\0" or header[3] != ndim:
        raise DatasetError(
            f"{path.name}: not an IDX file of {ndim} dimension(s) "
            f"(magic {header.hex() or 'missing'}, expected 000008{ndim:02x})"
        )
    if header[2] != UINT8:
        raise DatasetError(f"{path.name}: IDX values of type 0x{header[2]:02x}, expected unsigned bytes (0x08)")
    offset = 4 + 4 * ndim
    if size < offset:
        raise DatasetError(f"{path.name}: truncated header ({size} bytes)")
    shape = tuple(int(v) for v in np.frombuffer(bytes(data[4:offset]), dtype=">u4"))
    expected = offset + int(np.prod(shape))
    if size != expected:
        dims = " x ".join(str(s) for s in shape)
        raise DatasetError(f"{path.name}: header says {dims} values ({expected} bytes) but the file holds {size} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def _split_files(folder: Path) -> dict[str, tuple[Path | None, Path | None]]:
    return {
        split: (_file(folder, prefix, "images-idx3"), _file(folder, prefix, "labels-idx1"))
        for split, prefix in PREFIXES.items()
    }


def _variant(root: Path) -> tuple[str, list[str]]:
    if any("fashion" in part.lower() for part in root.parts[-3:]):
        return "Fashion-MNIST", class_names("datasets.mnist", "FashionMNIST", "classes", 10)
    return "MNIST", class_names("datasets.mnist", "MNIST", "classes", 10)


def open_mnist(root: Path, split: str | None = None) -> ArrayDataset:
    files = _split_files(root)
    splits = [s for s, (images, _) in files.items() if images is not None]
    split = split or default_split(splits)
    if split not in splits:
        raise DatasetError(f"MNIST files in {root} have no split {split!r}; found {splits}")
    image_path, label_path = files[split]
    if label_path is None:
        raise DatasetError(f"{root}: {image_path.name} has no {PREFIXES[split]}-labels-idx1-ubyte[.gz] beside it")
    images = read_idx(image_path, 3)
    labels = read_idx(label_path, 1).astype(np.int64)
    if len(images) != len(labels):
        raise DatasetError(f"{image_path.name} holds {len(images)} images but {label_path.name} {len(labels)} labels")
    if len(labels) and labels.max() > 9:
        row = int(np.argmax(labels > 9))
        raise DatasetError(f"{label_path.name}: label {labels[row]} at row {row} is not a digit class 0-9")
    layout, classes = _variant(root)
    dataset = ArrayDataset(
        root,
        images=images,
        task="multiclass",
        classes=classes,
        splits=splits,
        split=split,
        sample_ids=[f"{split}/{i:05d}" for i in range(len(images))],
        targets=labels,
    )
    dataset.layout = layout
    return dataset


def probe_mnist(path: Path) -> Probe:
    for folder in (path, path / "raw"):
        if any(images is not None for images, _ in _split_files(folder).values()):
            return Probe(folder)
    return Probe(None, "no train-images-idx3-ubyte[.gz] or t10k-images-idx3-ubyte[.gz] (here or in raw/)")


register(Layout("MNIST / Fashion-MNIST", probe_mnist, open_mnist, priority=20))
