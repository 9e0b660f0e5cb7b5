"""MNIST and Fashion-MNIST as IDX files, gzipped or not.

Either torchvision's layout (``root/MNIST/raw/train-images-idx3-ubyte[.gz]``,
``root/FashionMNIST/raw/...``) or any folder holding the four files
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``. The files of both datasets are named alike, so the folder
names decide: a path with "fashion" in it is Fashion-MNIST.

An IDX file is a 4-byte magic (two zero bytes, the type 0x08 = uint8, the number of
dimensions), one big-endian uint32 per dimension, then the values. Uncompressed files are
memory-mapped; gzipped ones are decompressed once into memory (47 MB for the train images),
as a stream bounded by the size the header declares.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from core.datasets.base import DatasetError, default_split
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers.arrays import ArrayDataset
from core.datasets.readers.torchvision_names import class_names
from core.system.files import open_regular

PREFIXES = {"train": "train", "test": "t10k"}
UINT8 = 0x08


def _file(folder: Path, prefix: str, kind: str) -> Path | None:
    """The uncompressed file if present (torchvision keeps both), else the .gz one."""
    name = f"{prefix}-{kind}-ubyte"
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


#: Largest IDX file decompressed into memory (MNIST's train images are 47 MB); larger ones
#: must be decompressed first, and are then memory-mapped.
MAX_GZIP_BYTES = 1 << 30


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """The uint8 array of an IDX file, with its magic number and size checked against the header.

    A gzipped file is decompressed as a stream into a buffer of the size its header declares,
    and refused when the header declares more than :data:`MAX_GZIP_BYTES` or the stream holds
    more or less than declared: a small ``.gz`` cannot make the reader inflate gigabytes.
    """
    try:
        with open_regular(path) as raw:
            if path.suffix == ".gz":
                with gzip.GzipFile(fileobj=raw) as stream:
                    return _read_idx_stream(stream, path, ndim)
            return _read_idx_mapped(raw, path, ndim)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None


def _header(read: Callable[[int], bytes], path: Path, ndim: int) -> tuple[int, ...]:
    """The shape from an IDX header (magic, then one big-endian uint32 per dimension)."""
    magic = read(4)
    if len(magic) < 4 or magic[:2] != b"\0\0" or magic[3] != ndim:
        raise DatasetError(
            f"{path.name}: not an IDX file of {ndim} dimension(s) "
            f"(magic {magic.hex() or 'missing'}, expected 000008{ndim:02x})"
        )
    if magic[2] != UINT8:
        raise DatasetError(f"{path.name}: IDX values of type 0x{magic[2]:02x}, expected unsigned bytes (0x08)")
    dims = read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DatasetError(f"{path.name}: truncated header ({4 + len(dims)} bytes)")
    return struct.unpack(f">{ndim}I", dims)


def _size_error(path: Path, shape: tuple[int, ...], found: str) -> DatasetError:
    dims = " x ".join(str(s) for s in shape)
    expected = 4 + 4 * len(shape) + math.prod(shape)
    return DatasetError(f"{path.name}: header says {dims} values ({expected} bytes) but the file holds {found}")


def _read_idx_stream(stream: BinaryIO, path: Path, ndim: int) -> np.ndarray:
    shape = _header(stream.read, path, ndim)
    count = math.prod(shape)  # Python integers: no overflow to a small number
    if count > MAX_GZIP_BYTES:
        raise DatasetError(
            f"{path.name}: header declares {count} values, more than the {MAX_GZIP_BYTES >> 20} MiB "
            "read from a .gz file; decompress it first (it is then memory-mapped)"
        )
    values = np.empty(count, dtype=np.uint8)
    got = stream.readinto(memoryview(values)) if count else 0
    while 0 < got < count:  # readinto may return less than asked before the end
        more = stream.readinto(memoryview(values)[got:])
        if not more:
            break
        got += more
    if got < count:
        raise _size_error(path, shape, f"{4 + 4 * ndim + got} bytes")
    if stream.read(1):
        raise _size_error(path, shape, "more")
    return values.reshape(shape)


def _read_idx_mapped(file: BinaryIO, path: Path, ndim: int) -> np.ndarray:
    shape = _header(file.read, path, ndim)
    size = os.fstat(file.fileno()).st_size
    offset = 4 + 4 * ndim
    if size != offset + math.prod(shape):
        raise _size_error(path, shape, f"{size} bytes")
    data = np.memmap(path, dtype=np.uint8, mode="r") if size > offset else np.zeros(size, np.uint8)
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
