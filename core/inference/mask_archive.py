"""A segmentation run in one file, as the project store keeps it: masks, probabilities and confusions.

A run made by :class:`~core.inference.segmentation.SegmentationJob` is a folder of one file per sample
(``mask_store.py``), often a temporary one. :func:`save_archive` packs it into a single zip that ``np.load``
also reads (members are ``.npy`` arrays, each deflated on its own):

- ``meta``: the run's JSON (``format``, task, classes, sample ids, errors, model, device, seconds, settings);
- ``done``, ``indices``, ``sizes``, ``cells``, ``counts``: every image's pixel confusion matrix, sparse
  (the non-zero cells of image ``indices[k]`` are the next ``sizes[k]`` entries of ``cells`` and ``counts``);
- ``masks/<index>`` and ``probs/<index>``: one predicted H x W mask and its uint8 probability grid per sample.

:func:`load_archive` reads the JSON and the confusions only: the metrics, the per-image scores and any
comparison come from those at once, and a mask is decompressed when the browser asks for it.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import SampleError
from core.inference.mask_store import SegmentationPredictions, quantise
from core.models.cards import ModelError

ARCHIVE_FORMAT = "cvlens-segmentation-archive/1"
_CONFUSIONS = ("done", "indices", "sizes", "cells", "counts")


def _member(kind: str, index: int) -> str:
    return f"{kind}/{int(index):07d}.npy"


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
    """Write ``predictions`` to one file at ``path``, atomically (``<name>.tmp.npz``, then renamed).

    A predicted sample whose files cannot be read any more (a temporary folder cleaned meanwhile) is kept
    as a failed sample with the reason; its confusion matrix, already in memory, is kept too.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    done, errors = predictions.done.copy(), dict(predictions.errors)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for index in np.flatnonzero(done):
                try:
                    mask, probs = predictions.mask(index), quantise(predictions.probabilities(index))
                except SampleError as exc:
                    done[index], errors[int(index)] = False, f"the prediction was lost before saving: {exc}"
                    continue
                _put(archive, _member("masks", index), mask)
                _put(archive, _member("probs", index), probs)
            for name, array in _confusion_arrays(predictions, done).items():
                _put(archive, f"{name}.npy", array)
            meta = json.dumps(_meta(predictions, errors), ensure_ascii=False).encode("utf-8")
            _put(archive, "meta.npy", np.frombuffer(meta, np.uint8))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_meta(path: str | Path) -> dict[str, Any]:
    """The JSON of a predictions file (an archive's, or a classification run's ``Predictions.save``)."""
    with np.load(Path(path), allow_pickle=False) as data:
        return json.loads(data["meta"].tobytes().decode("utf-8"))


class ArchiveMasks:
    """The masks and probabilities of an archive, read one member at a time (the ``MaskStore`` interface).

    ``source[i]`` is the archive's index of sample ``i`` (-1: the run has no such sample). One zip handle
    is kept open; reads from the browser's worker threads take turns on it.
    """

    def __init__(self, path: Path, source: np.ndarray | None = None) -> None:
        self.path, self.source = Path(path), source
        self._zip: zipfile.ZipFile | None = None
        self._lock = threading.Lock()

    def _name(self, kind: str, index: int) -> str:
        stored = int(index) if self.source is None else int(self.source[index])
        if stored < 0:
            raise SampleError(f"sample {index} is not in the saved run {self.path.name}")
        return _member(kind, stored)

    def _read(self, index: int, kind: str) -> np.ndarray:
        name = self._name(kind, index)
        with self._lock:
            try:
                if self._zip is None:
                    self._zip = zipfile.ZipFile(self.path)
                with self._zip.open(name) as stream:
                    return np.lib.format.read_array(stream, allow_pickle=False)
            except KeyError:
                raise SampleError(f"sample {index} has no stored prediction in {self.path.name}") from None
            except (OSError, ValueError, zipfile.BadZipFile) as exc:
                raise SampleError(f"{self.path.name}: cannot read the stored prediction ({exc})") from None

    def __contains__(self, index: int) -> bool:
        try:
            name = self._name("masks", index)
        except SampleError:
            return False
        with self._lock:
            if self._zip is None:
                self._zip = zipfile.ZipFile(self.path)
            return name in self._zip.NameToInfo

    def mask(self, index: int) -> np.ndarray:
        return self._read(index, "masks")

    def probabilities(self, index: int) -> np.ndarray:
        return self._read(index, "probs").astype(np.float32) / 255.0

    def close(self) -> None:
        with self._lock:
            if self._zip is not None:
                self._zip.close()
                self._zip = None


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
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode("utf-8"))
            arrays = {name: data[name] for name in _CONFUSIONS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
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
        archive=ArchiveMasks(path, source),
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
