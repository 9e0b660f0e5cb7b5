"""Reopening CIFAR batches at the speed of the disk: an index of each pickle, the pixels mapped from it.

Parsing a CIFAR pickle reads all of it (30 MB a batch) through the restricted unpickler. The pixels,
though, sit in the pickle as one contiguous block: the numpy array's raw bytes. The first open records,
per batch file, where that block starts and the labels and file names around it, in the user data folder
(``<data_dir>/cache/cifar/``). A later open maps the original file at that offset (read-only
``np.memmap``): no second copy of the pixels, and the pages are read when a sample is looked at.

The index is keyed by the file's resolved path, size, modification time and a hash of its first and last
64 KiB, so a file that changed is parsed again. The folder does not grow without end: writing an index drops
those whose batch file is gone (a dataset deleted or moved) and, past ``MAX_INDEXES``, the least recently
opened (an open touches its index). An index that cannot be read, does not match its file, or
describes rows the file cannot hold is ignored: it is a hint, never trusted to index out of bounds. It is
an ``.npz`` read with ``allow_pickle=False``, so reading it runs no code either.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.system.files import atomic_writer, open_regular
from core.system.paths import data_dir

#: Bumped when the index format changes: older indexes are then ignored (and rewritten).
VERSION = 1
#: Bytes hashed at each end of the file: a same-size rewrite within the mtime resolution still differs there.
EDGE_BYTES = 1 << 16
#: Indexes kept at most: 8 datasets of each CIFAR (6 batches for CIFAR-10, 2 for CIFAR-100) many times over.
MAX_INDEXES = 256
#: Per-sample columns that a batch may carry besides its labels (file names, CIFAR-100's coarse labels).
_COLUMNS = ("filenames", "coarse_labels")


@dataclass(frozen=True)
class Batch:
    """One batch file as opened: ``data`` is rows x ``row_bytes`` uint8 (mapped or parsed)."""

    data: np.ndarray
    labels: np.ndarray
    extra: dict[str, Any]


def folder() -> Path:
    return data_dir() / "cache" / "cifar"


def index_path(path: Path) -> Path:
    """Where the index of the batch file ``path`` (resolved) lives: one file per batch, named by its path."""
    return folder() / f"{hashlib.sha256(str(path).encode()).hexdigest()[:32]}.npz"


def fingerprint(path: Path) -> dict[str, Any]:
    """What identifies this version of the file (``path`` resolved): path, size, mtime, a hash of its two ends."""
    with open_regular(path) as file:
        status = os.fstat(file.fileno())
        digest = hashlib.sha256(file.read(EDGE_BYTES))
        if status.st_size > EDGE_BYTES:
            file.seek(max(EDGE_BYTES, status.st_size - EDGE_BYTES))
            digest.update(file.read(EDGE_BYTES))
    return {
        "version": VERSION,
        "path": str(path),
        "size": status.st_size,
        "mtime_ns": status.st_mtime_ns,
        "edges": digest.hexdigest(),
    }


def load(path: Path, row_bytes: int) -> Batch | None:
    """The batch from its index, pixels mapped from ``path``; None when there is no index or it does not fit."""
    path = path.resolve()
    index = index_path(path)
    if not index.is_file():
        return None
    try:
        expected = fingerprint(path)
        with np.load(index, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        key = json.loads(bytes(arrays.pop("key")).decode())
        batch = _checked(path, key, expected, arrays, row_bytes)
    except Exception:  # a truncated, foreign or hostile index: parse the pickle instead
        return None
    if batch is not None:
        _touch(index)
    return batch


def _touch(index: Path) -> None:
    """Mark the index as just used (the pruning keeps the most recently opened)."""
    with contextlib.suppress(OSError):  # a read-only data folder: the index still works
        os.utime(index)


def _checked(path: Path, key: Any, expected: dict, arrays: dict[str, np.ndarray], row_bytes: int) -> Batch | None:
    """The batch an index describes, if it describes this very file and rows that fit inside it."""
    if not isinstance(key, dict) or {k: key.get(k) for k in expected} != expected:
        return None
    offset, rows = key.get("offset"), key.get("rows")
    if type(offset) is not int or type(rows) is not int or offset < 0 or rows < 0:
        return None
    if offset + rows * row_bytes > expected["size"]:
        return None
    labels = arrays.get("labels")
    if labels is None or labels.dtype != np.int64 or labels.shape != (rows,):
        return None
    extra: dict[str, Any] = {}
    for name in _COLUMNS:
        if name in arrays:
            column = arrays[name]
            if column.shape != (rows,) or column.dtype.kind not in "SUi":
                return None
            extra[name] = column.tolist() if name == "filenames" else column.astype(np.int64)
    if rows == 0:
        data = np.empty((0, row_bytes), dtype=np.uint8)
    else:
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=(rows, row_bytes))
    return Batch(data, labels, extra)


def store(path: Path, raw: bytes, blocks: list[tuple[int, int]], batch: Batch, key: dict[str, Any]) -> None:
    """Record where ``batch.data`` lies in ``raw`` (the file's bytes), if it lies there as one block.

    ``blocks`` are the (offset, length) candidates that ``safe_pickle.loads`` found. ``key`` is the file's
    :func:`fingerprint`, taken before it was read. Best effort: a data folder that
    cannot be written only means the next open parses again.
    """
    path = path.resolve()
    offset = _block_offset(raw, blocks, batch.data)
    if offset is None:
        return
    arrays: dict[str, np.ndarray] = {"labels": np.ascontiguousarray(batch.labels, dtype=np.int64)}
    for name in _COLUMNS:
        if name in batch.extra:
            column = _column(batch.extra[name])
            if column is None:
                return  # a column the index cannot hold exactly: no index rather than a different one
            arrays[name] = column
    key = {**key, "offset": offset, "rows": len(batch.data)}
    arrays["key"] = np.frombuffer(json.dumps(key).encode(), dtype=np.uint8)
    try:
        folder().mkdir(parents=True, exist_ok=True)
        # Not fsync-ed: an index a crash left empty is ignored like any other broken one.
        with atomic_writer(index_path(path), durable=False) as handle:
            np.savez(handle, **arrays)
    except OSError:
        return
    prune()


def prune(keep: int | None = None) -> int:
    """Drop the indexes whose batch file is gone, then all but the ``keep`` most recently opened; how many went.

    Only ``*.npz`` files directly in the folder are looked at (the folder is CV Lens's own); one that cannot be
    read says nothing of its batch and is kept unless it is among the oldest past ``keep`` (default
    ``MAX_INDEXES``)."""
    keep = MAX_INDEXES if keep is None else keep
    try:
        entries = [entry for entry in os.scandir(folder()) if entry.name.endswith(".npz") and entry.is_file()]
    except OSError:
        return 0
    gone, kept = [], []
    for entry in entries:
        source = _source(Path(entry.path))
        (gone if source is not None and not os.path.exists(source) else kept).append(entry)
    if len(kept) > keep:
        kept.sort(key=_opened, reverse=True)
        gone += kept[keep:]
    removed = 0
    for entry in gone:
        try:
            os.unlink(entry.path)
            removed += 1
        except OSError:
            pass
    return removed


def _opened(entry: os.DirEntry) -> int:
    try:
        return entry.stat().st_mtime_ns
    except OSError:  # gone meanwhile: the oldest, so dropped (its unlink then fails quietly)
        return -1


def _source(index: Path) -> str | None:
    """The batch file an index was made from (None when the index cannot be read)."""
    try:
        with np.load(index, allow_pickle=False) as stored:
            key = json.loads(bytes(stored["key"]).decode())
        return key["path"] if isinstance(key, dict) and isinstance(key.get("path"), str) else None
    except Exception:
        return None


def _block_offset(raw: bytes, blocks: list[tuple[int, int]], data: np.ndarray) -> int | None:
    """The offset in ``raw`` where ``data``'s bytes are stored in C order, checked byte for byte."""
    if data.dtype != np.uint8 or not data.flags.c_contiguous or data.nbytes == 0:
        return None
    for offset, length in blocks:
        if (
            length == data.nbytes
            and offset >= 0
            and np.array_equal(np.frombuffer(raw, np.uint8, data.nbytes, offset), data.reshape(-1))
        ):
            return offset
    return None


def _column(values: Any) -> np.ndarray | None:
    """``values`` as a bytes, text or integer array that gives the same values back, else None."""
    try:
        column = np.asarray(values)
    except Exception:
        return None
    if column.ndim != 1 or column.dtype.kind not in "SUi":
        return None
    if column.dtype.kind in "SU" and column.tolist() != list(values):  # trailing NULs or mixed types
        return None
    return column.astype(np.int64) if column.dtype.kind == "i" else column
