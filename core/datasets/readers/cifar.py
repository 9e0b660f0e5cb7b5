"""CIFAR-10 and CIFAR-100 as distributed for Python: pickled batches of 32 x 32 images.

``cifar-10-batches-py/``: ``data_batch_1`` .. ``data_batch_5`` (train), ``test_batch`` and
``batches.meta`` (``label_names``). ``cifar-100-python/``: ``train``, ``test`` and ``meta``
(``fine_label_names``, ``coarse_label_names``); samples carry the fine label, the coarse
one is in ``Sample.meta``. Each batch is a dict whose ``data`` is an N x 3072 uint8 array
in channel-first order. The pickles are read with :mod:`core.datasets.safe_pickle`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets import safe_pickle
from core.datasets.base import DatasetError, default_split
from core.datasets.layouts import Layout, Probe, register
from core.datasets.readers import cifar_cache
from core.datasets.readers.arrays import ArrayDataset, StackedRows

IMAGE_SIZE = 32
PIXELS = 3 * IMAGE_SIZE * IMAGE_SIZE


@dataclass(frozen=True)
class _Variant:
    name: str
    meta_file: str
    names_key: str
    label_key: str
    files: dict[str, tuple[str, ...]]  # split -> batch files


CIFAR10 = _Variant(
    name="CIFAR-10",
    meta_file="batches.meta",
    names_key="label_names",
    label_key="labels",
    files={"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)},
)
CIFAR100 = _Variant(
    name="CIFAR-100",
    meta_file="meta",
    names_key="fine_label_names",
    label_key="fine_labels",
    files={"train": ("train",), "test": ("test",)},
)


def _load(path: Path, variant: _Variant) -> dict[str, Any]:
    return _parse(_read(path, variant), path, variant)


def _read(path: Path, variant: _Variant) -> bytes:
    try:
        return safe_pickle.read_path(path)
    except FileNotFoundError:
        raise DatasetError(f"{variant.name}: {path.name} is missing from {path.parent}") from None
    except Exception as exc:  # not a regular file, too large, unreadable
        raise DatasetError(f"{variant.name}: cannot read {path} ({type(exc).__name__}: {exc})") from None


def _parse(raw: bytes, path: Path, variant: _Variant, blocks: list[tuple[int, int]] | None = None) -> dict[str, Any]:
    try:
        entry = safe_pickle.loads(raw, blocks=blocks)
    except Exception as exc:  # a broken or hostile pickle can raise almost anything
        raise DatasetError(f"{variant.name}: cannot read {path} ({type(exc).__name__}: {exc})") from None
    if not isinstance(entry, dict):
        raise DatasetError(f"{variant.name}: {path} holds a {type(entry).__name__}, not a dict")
    return entry


def _key(entry: dict[str, Any], key: str, path: Path, variant: _Variant) -> Any:
    if key not in entry:
        raise DatasetError(f"{variant.name}: {path} has no key {key!r} (it has {sorted(entry)})")
    return entry[key]


def _read_batch(path: Path, variant: _Variant) -> cifar_cache.Batch:
    """One batch file: from its index (pixels mapped from the file) when one matches it, else parsed and indexed."""
    cached = cifar_cache.load(path, PIXELS)
    if cached is not None:
        return cached
    try:
        key = cifar_cache.fingerprint(path.resolve())  # before reading: a file changing meanwhile makes a stale key
    except OSError:
        key = None  # _read says why it cannot be read
    raw = _read(path, variant)
    blocks: list[tuple[int, int]] = []
    batch = _parse_batch(raw, path, variant, blocks)
    if key is not None:
        cifar_cache.store(path, raw, blocks, batch, key)
    return batch


def _parse_batch(raw: bytes, path: Path, variant: _Variant, blocks: list[tuple[int, int]]) -> cifar_cache.Batch:
    """(data N x 3072 uint8, labels N int64, the per-image columns) of one batch file's bytes."""
    entry = _parse(raw, path, variant, blocks)
    data = _key(entry, "data", path, variant)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        shape = getattr(data, "shape", type(data).__name__)
        raise DatasetError(f"{variant.name}: {path} 'data' should be N x {PIXELS} uint8, found {shape}")
    labels = _integers(_key(entry, variant.label_key, path, variant), f"{path} '{variant.label_key}'", variant)
    if labels.shape != (len(data),):
        raise DatasetError(f"{variant.name}: {path} has {len(labels)} labels for {len(data)} images")
    extra = {}
    for key in ("filenames", "coarse_labels"):
        if key in entry:
            if not isinstance(entry[key], (list, tuple, np.ndarray)) or len(entry[key]) != len(data):
                raise DatasetError(f"{variant.name}: {path} '{key}' should hold one entry per image")
            extra[key] = entry[key]
    if "coarse_labels" in extra:
        extra["coarse_labels"] = _integers(extra["coarse_labels"], "coarse_labels", variant)
    return cifar_cache.Batch(data, labels, extra)


def _integers(values: Any, what: str, variant: _Variant) -> np.ndarray:
    """A 1-D int64 array of class indices, or a DatasetError saying what was found instead."""
    array = np.asarray(values) if isinstance(values, (list, tuple, np.ndarray)) else None
    if array is None or array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
        found = type(values).__name__ if array is None else f"{array.dtype} values of shape {array.shape}"
        raise DatasetError(f"{variant.name}: {what} should be a list of integer class indices, found {found}")
    return array.astype(np.int64)


def _names(entry: dict[str, Any], key: str, path: Path, variant: _Variant) -> list[str]:
    names = _key(entry, key, path, variant)
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, (bytes, str)) for n in names):
        found = type(names).__name__ if not isinstance(names, (list, tuple)) else "non-text entries"
        raise DatasetError(f"{variant.name}: {path} '{key}' should be a list of class names, found {found}")
    try:
        return [n.decode() if isinstance(n, bytes) else n for n in names]
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{variant.name}: {path} '{key}' holds a name that is not UTF-8 ({exc})") from None


@cache
def _row_numbers(count: int) -> list[str]:
    return [f"{row:05d}" for row in range(count)]


def _row_ids(file: str, count: int) -> list[str]:
    """``file/00000`` ... : one string concatenation a sample (formatting 60,000 numbers takes longer)."""
    prefix = f"{file}/"
    return [prefix + row for row in _row_numbers(count)]


def _open(variant: _Variant, root: Path, split: str | None) -> ArrayDataset:
    splits = [s for s, files in variant.files.items() if (root / files[0]).is_file()]
    split = split or default_split(splits)
    if split not in splits:
        raise DatasetError(f"{variant.name} at {root} has no split {split!r}; it has {splits}")
    meta_path = root / variant.meta_file
    meta = _load(meta_path, variant)
    classes = _names(meta, variant.names_key, meta_path, variant)
    coarse = _names(meta, "coarse_label_names", meta_path, variant) if variant is CIFAR100 else None

    parts, labels, ids, extra = [], [], [], {}
    for file in variant.files[split]:
        batch = _read_batch(root / file, variant)
        parts.append(batch.data.reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE))
        labels.append(batch.labels)
        ids.extend(_row_ids(file, len(batch.data)))
        for key, values in batch.extra.items():
            extra.setdefault(key, []).append(values)
    targets = np.concatenate(labels)
    bad = np.flatnonzero((targets < 0) | (targets >= len(classes)))
    if len(bad):
        raise DatasetError(
            f"{variant.name}: label {targets[bad[0]]} of sample {ids[bad[0]]} is outside the "
            f"{len(classes)} classes of {meta_path.name}"
        )
    return CifarDataset(
        root,
        layout=variant.name,
        filenames=[name for names in extra["filenames"] for name in names] if "filenames" in extra else None,
        coarse_labels=np.concatenate(extra["coarse_labels"]) if "coarse_labels" in extra else None,
        coarse_classes=coarse,
        images=parts[0] if len(parts) == 1 else StackedRows(parts),
        channels_first=True,
        task="multiclass",
        classes=classes,
        splits=splits,
        split=split,
        sample_ids=ids,
        targets=targets,
    )


class CifarDataset(ArrayDataset):
    """CIFAR-10 or CIFAR-100 (``layout`` says which); the file names and coarse labels are sample meta."""

    def __init__(
        self,
        root: Path,
        *,
        layout: str,
        filenames: list[Any] | None,
        coarse_labels: np.ndarray | None,
        coarse_classes: list[str] | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(root, **kwargs)
        self.layout = layout
        self.filenames = filenames
        self.coarse_labels = coarse_labels
        self.coarse_classes = coarse_classes

    def sample_meta(self, index: int) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if self.filenames is not None:
            name = self.filenames[index]
            meta["filename"] = name.decode() if isinstance(name, bytes) else name
        if self.coarse_labels is not None:
            coarse = int(self.coarse_labels[index])
            meta["coarse_label"] = coarse
            if self.coarse_classes and 0 <= coarse < len(self.coarse_classes):
                meta["coarse_class"] = self.coarse_classes[coarse]
        return meta


def _probe(variant: _Variant) -> Any:
    def probe(path: Path) -> Probe:
        has_meta = (path / variant.meta_file).is_file()
        has_batch = any((path / files[0]).is_file() for files in variant.files.values())
        if has_meta and has_batch:
            return Probe(path)
        batches = " or ".join(files[0] for files in variant.files.values())
        if has_meta:
            return Probe(None, f"found {variant.meta_file} but no {batches}", partial=variant is CIFAR10)
        return Probe(None, f"no {variant.meta_file} with {batches}")

    return probe


register(Layout(CIFAR10.name, _probe(CIFAR10), lambda root, split: _open(CIFAR10, root, split), priority=20))
register(Layout(CIFAR100.name, _probe(CIFAR100), lambda root, split: _open(CIFAR100, root, split), priority=20))
