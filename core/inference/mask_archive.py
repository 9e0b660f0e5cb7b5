"""A segmentation run in one file, as the project store keeps it: masks, probabilities and confusions.

A run made by :class:`~core.inference.segmentation.SegmentationJob` is a folder of one file per sample
(``mask_store.py``), often a temporary one. :func:`save_archive` packs it into a single zip that ``np.load``
also reads (members are ``.npy`` arrays, each deflated on its own):

- ``meta``: the run's JSON (``format``, task, classes, sample ids, errors, model, device, seconds, settings);
- ``done``, ``indices``, ``sizes``, ``cells``, ``counts``: every image's pixel confusion matrix, sparse
  (the non-zero cells of image ``indices[k]`` are the next ``sizes[k]`` entries of ``cells`` and ``counts``);
- ``samples/<index>.npz``: each sample's file of the run folder (its mask and its uint8 probability grid,
  already compressed), copied byte for byte and *stored* (not compressed again): saving costs a file copy.

:func:`load_archive` reads the JSON and the confusions only: the metrics, the per-image scores and any
comparison come from those at once. A mask is read when the browser asks for it: a stored member is a
plain byte range of the archive, so ``np.load`` opens it in place and decompresses the mask alone.
"""

from __future__ import annotations

import io
import json
import struct
import threading
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import SampleError
from core.inference.mask_store import MaskStore, SegmentationPredictions
from core.models.cards import ModelError
from core.system.files import atomic_writer

ARCHIVE_FORMAT = "cvlens-segmentation-archive/1"
_CONFUSIONS = ("done", "indices", "sizes", "cells", "counts")


def _member(index: int) -> str:
    return f"samples/{int(index):07d}.npz"


def _put(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    with archive.open(name, "w", force_zip64=True) as out:
        np.lib.format.write_array(out, np.asanyarray(array), allow_pickle=False)


def _meta(predictions: SegmentationPredictions, errors: dict[int, str]) -> dict[str, Any]:
    return {
        "format": ARCHIVE_FORMAT,
        "task": predictions.task,
        "classes": list(predictions.classes),
        "sample_ids": list(predictions.sample_ids),
        "errors": {str(k): v for k, v in sorted(errors.items())},
        "mask_errors": {str(k): v for k, v in sorted(predictions.mask_errors.items())},
        "model": predictions.model,
        "device": predictions.device,
        "seconds": predictions.seconds,
        "settings": predictions.settings,
    }


def _confusion_arrays(predictions: SegmentationPredictions, done: np.ndarray) -> dict[str, np.ndarray]:
    cells_of = predictions._snapshot()[0]
    indices = np.array(sorted(cells_of), dtype=np.int64)
    cells = [cells_of[i][0] for i in indices]
    counts = [cells_of[i][1] for i in indices]
    return {
        "done": done,
        "indices": indices,
        "sizes": np.array([len(c) for c in cells], dtype=np.int64),
        "cells": np.concatenate(cells).astype(np.int32) if cells else np.zeros(0, np.int32),
        "counts": np.concatenate(counts).astype(np.int64) if counts else np.zeros(0, np.int64),
    }


def save_archive(predictions: SegmentationPredictions, path: str | Path) -> Path:
    """Write ``predictions`` to one file at ``path``, atomically (a hidden ``*.tmp.npz`` beside it, then renamed).

    A predicted sample whose files cannot be read any more (a temporary folder cleaned meanwhile) is kept
    as a failed sample with the reason; its confusion matrix, already in memory, is kept too.
    """
    path = Path(path)
    done, errors = predictions.done.copy(), dict(predictions.errors)
    with atomic_writer(path, suffix=".tmp.npz") as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in np.flatnonzero(done):
            try:
                content = _sample_file(predictions.store, index)
            except (OSError, SampleError) as exc:
                done[index], errors[int(index)] = False, f"the prediction was lost before saving: {exc}"
                continue
            archive.writestr(zipfile.ZipInfo(_member(index)), content, compress_type=zipfile.ZIP_STORED)
        for name, array in _confusion_arrays(predictions, done).items():
            _put(archive, f"{name}.npy", array)
        meta = json.dumps(_meta(predictions, errors), ensure_ascii=False).encode("utf-8")
        _put(archive, "meta.npy", np.frombuffer(meta, np.uint8))
    return path


def _get(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    with archive.open(name) as stream:
        return np.lib.format.read_array(stream, allow_pickle=False)


def _sample_file(store: MaskStore | ArchiveMasks, index: int) -> bytes:
    """The bytes of one sample's .npz, from a run folder or from another archive."""
    if isinstance(store, ArchiveMasks):
        return store.sample_file(index)
    return store.path(index).read_bytes()


def read_meta(path: str | Path) -> dict[str, Any]:
    """The JSON of a predictions file (an archive's, or a classification run's ``Predictions.save``)."""
    with np.load(Path(path), allow_pickle=False) as data:
        return json.loads(data["meta"].tobytes().decode("utf-8"))


class _Window(io.RawIOBase):
    """A read-only, seekable view of ``size`` bytes of ``raw`` from ``start``: a stored member, as a file."""

    def __init__(self, raw, start: int, size: int) -> None:
        self.raw, self.start, self.size, self.position = raw, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self.size - self.position))
        self.raw.seek(self.start + self.position)
        data = self.raw.read(count)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


class ArchiveMasks:
    """The masks and probabilities of an archive, read one sample at a time (the ``MaskStore`` interface).

    ``source[i]`` is the archive's index of sample ``i`` (-1: the run has no such sample). The table of
    members is read once; each read opens the file on its own, so the browser's worker threads read in
    parallel.
    """

    def __init__(
        self, path: Path, source: np.ndarray | None = None, members: dict[str, zipfile.ZipInfo] | None = None
    ) -> None:
        self.path, self.source = Path(path), source
        self._members = members
        self._lock = threading.Lock()

    def _info(self, index: int) -> zipfile.ZipInfo | None:
        stored = int(index) if self.source is None else int(self.source[index])
        if stored < 0:
            return None
        with self._lock:
            if self._members is None:
                with zipfile.ZipFile(self.path) as archive:
                    self._members = {info.filename: info for info in archive.infolist()}
        return self._members.get(_member(stored))

    def __contains__(self, index: int) -> bool:
        return self._info(index) is not None

    def _open(self, index: int, read):
        """``read(file)`` on sample ``index``'s stored .npz, in place in the archive."""
        info = self._info(index)
        if info is None:
            raise SampleError(f"sample {index} has no stored prediction in {self.path.name}")
        try:
            with open(self.path, "rb") as raw:
                raw.seek(info.header_offset)
                header = raw.read(30)
                if header[:4] != b"PK\x03\x04":
                    raise ValueError("damaged member header")
                name_length, extra_length = struct.unpack("<HH", header[26:30])
                start = info.header_offset + 30 + name_length + extra_length
                return read(_Window(raw, start, info.compress_size))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
            raise SampleError(
                f"{self.path.name}: cannot read the stored prediction of sample {index} ({exc})"
            ) from None

    def _read(self, index: int, member: str) -> np.ndarray:
        def array(file) -> np.ndarray:
            with np.load(file, allow_pickle=False) as data:
                return data[member]

        return self._open(index, array)

    def sample_file(self, index: int) -> bytes:
        """Sample ``index``'s .npz as it was in the run folder."""
        return self._open(index, lambda file: file.read())

    def mask(self, index: int) -> np.ndarray:
        return self._read(index, "mask")

    def probabilities(self, index: int) -> np.ndarray:
        return self._read(index, "probs").astype(np.float32) / 255.0


@dataclass
class ArchivedSegmentationPredictions(SegmentationPredictions):
    """A saved segmentation run: read-only, masks and probabilities read from its archive when asked."""

    archive: ArchiveMasks | None = field(default=None, repr=False)

    @property
    def store(self) -> ArchiveMasks:  # type: ignore[override]
        return self.archive

    def record(self, *args: Any, **kwargs: Any) -> None:
        raise ModelError("a saved run cannot be changed: run the model again to make a new one")

    def save(self) -> Path:
        raise ModelError("a saved run is kept in its archive; it has no run folder to write")


def load_archive(path: str | Path, sample_ids: list[str] | None = None) -> ArchivedSegmentationPredictions:
    """The run saved at ``path``, aligned to ``sample_ids`` (matched by id; default: the run's own order).

    Reads the JSON and the confusion matrices only. Samples the run lacks are not predicted.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:  # its table of members is read once, and kept for the masks
            members = {info.filename: info for info in archive.infolist()}
            arrays = {name: _get(archive, f"{name}.npy") for name in ("meta", *_CONFUSIONS)}
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise ModelError(f"{path} is not a saved segmentation run CV Lens can read ({exc})") from None
    if meta.get("format") != ARCHIVE_FORMAT:
        raise ModelError(f"{path} has format {meta.get('format')!r}; expected {ARCHIVE_FORMAT!r}")
    own_ids = list(meta["sample_ids"])
    ids = own_ids if sample_ids is None else list(sample_ids)
    source = None if ids == own_ids else _positions(own_ids, ids)
    target = _targets(len(own_ids), source)
    done = np.zeros(len(ids), dtype=bool)
    kept = np.flatnonzero(target >= 0)
    done[target[kept]] = arrays["done"].astype(bool)[kept]
    preds = ArchivedSegmentationPredictions(
        classes=list(meta["classes"]),
        sample_ids=ids,
        folder=path.parent,
        done=done,
        errors=_moved(meta["errors"], target),
        mask_errors=_moved(meta["mask_errors"], target),
        model=meta.get("model", ""),
        device=meta.get("device", ""),
        seconds=float(meta.get("seconds", 0.0)),
        settings=meta.get("settings") or {},
        archive=ArchiveMasks(path, source, members),
    )
    ends = np.cumsum(arrays["sizes"])
    for index, start, end in zip(arrays["indices"], ends - arrays["sizes"], ends):
        if target[int(index)] >= 0:
            preds._cells[int(target[int(index)])] = (arrays["cells"][start:end], arrays["counts"][start:end])
    preds._version += 1
    return preds


def _positions(own_ids: list[str], ids: list[str]) -> np.ndarray:
    """For each of ``ids`` its position among ``own_ids``, -1 where it is not there."""
    position = {sample_id: i for i, sample_id in enumerate(own_ids)}
    return np.fromiter((position.get(s, -1) for s in ids), dtype=np.int64, count=len(ids))


def _targets(own_count: int, source: np.ndarray | None) -> np.ndarray:
    """The inverse of ``source``: for each of the run's samples its new index, -1 where it is gone."""
    if source is None:
        return np.arange(own_count, dtype=np.int64)
    target = np.full(own_count, -1, dtype=np.int64)
    found = np.flatnonzero(source >= 0)
    target[source[found]] = found
    return target


def _moved(messages: dict[str, str], target: np.ndarray) -> dict[int, str]:
    return {int(target[int(k)]): v for k, v in messages.items() if target[int(k)] >= 0}
