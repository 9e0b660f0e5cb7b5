"""A saved run's arrays beside its predictions: its embeddings, and the 2-D maps made of them (a cache).

Where they live, in the store's ``runs/`` folder (``run-<id>`` is the run's predictions file's stem)::

    runs/run-1a2b3c4d5e6f.npz                 the predictions (core/labels/runs.py)
    runs/run-1a2b3c4d5e6f.embeddings.npy      N x D float16, one row per sample of the run, in its order
    runs/run-1a2b3c4d5e6f.map-pacmap.npy      N x 2 float32: the map of those rows by PaCMAP (or -umap, -pca)

The API, through :class:`~core.labels.project.Project`::

    run = project.save_run(predictions, embeddings=job.embeddings)   # written and synced before the row
    rows = project.load_run_embeddings(run)       # read-only memmap, or None (run.has_embeddings says which)
    project.save_run_map(run, coords, "pacmap")   # what core.analysis.projection.compute_map returned
    project.load_run_map(run)                     # (coords, method) or None: the best map kept, or one method's

The run's row names the embeddings file (relative to the store's folder) and a digest of the sample ids
its rows follow: reading refuses a name that leaves the store's folder (absolute, ``..``, a link out), a
file that is not an N x D float16 array with the run's rows, and rows made for other samples than the
dataset has now (a folder that gained or lost images since the run): a StoreError that says so, never
rows silently attached to the wrong samples. A map is a cache: one that is missing or damaged reads as
None (make it again; saving replaces it), and a run's embeddings never change, so nothing else keys it.
Every file is written atomically (a hidden ``*.tmp.npy`` beside it, synced, renamed), and the store's
clean-up at open removes the temporary files a crash left.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from core.analysis.projection import METHODS
from core.labels.errors import StoreError
from core.system.files import atomic_writer

EMBEDDINGS_SUFFIX = ".embeddings.npy"
#: Suffixes of the hidden temporary files an atomic write of a run's files makes (cleaned up at open).
PARTIAL_SUFFIXES = (".tmp.npz", ".tmp.npy")


def samples_digest(sample_ids) -> str:
    """A digest of the sample ids in their order: the rows of a run's embeddings follow them."""
    return hashlib.sha256(json.dumps(list(sample_ids), ensure_ascii=False).encode("utf-8")).hexdigest()


def embeddings_name(predictions_file: str) -> str:
    """The embeddings' file of a run whose predictions are ``predictions_file`` ("runs/run-x.npz")."""
    return str(PurePosixPath(predictions_file).with_suffix(EMBEDDINGS_SUFFIX))


def checked_rows(embeddings, n: int) -> np.ndarray:
    """``embeddings`` as N x D float16 rows for a run of ``n`` samples; ValueError when they cannot be."""
    rows = np.asarray(embeddings)
    if rows.ndim != 2 or len(rows) != n or rows.shape[1] == 0:
        raise ValueError(f"embeddings must be {n} x D (one row per sample of the run), got shape {rows.shape}")
    return rows if rows.dtype == np.float16 else rows.astype(np.float16)


def write_rows(path: Path, rows: np.ndarray) -> None:
    """``rows`` as a .npy at ``path``: atomically, the file and its folder synced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path, suffix=".tmp.npy") as out:
        np.lib.format.write_array(out, np.ascontiguousarray(rows), allow_pickle=False)
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """fsync a folder, so that a rename in it survives a crash (Windows cannot open a folder to sync it)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def inside(folder: Path, relative: str) -> Path:
    """``folder / relative`` when it stays inside ``folder``; StoreError otherwise (a row's path is data)."""
    if (
        not relative
        or PurePosixPath(relative).is_absolute()
        or PureWindowsPath(relative).is_absolute()
        or PureWindowsPath(relative).drive
        or ".." in PurePosixPath(relative.replace("\\", "/")).parts
    ):
        raise StoreError(f"The project store names the file {relative!r}, which is not inside its folder {folder}")
    path = folder / relative
    root = folder.resolve()
    if not path.resolve().is_relative_to(root):  # a link inside the folder pointing out of it
        raise StoreError(f"The project store's file {path} leads out of its folder {folder}: it is not read")
    return path


def open_rows(folder: Path, relative: str, digest: str | None, sample_ids, what: str) -> np.ndarray:
    """The N x D float16 rows at ``relative``, memory-mapped read-only, for the samples ``sample_ids``."""
    path = inside(folder, relative)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise OSError(f"{path} is not a regular file")
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise StoreError(f"The embeddings of {what} are missing: {path} is gone") from None
    except (OSError, ValueError, EOFError) as exc:
        reason = "the file is cut short" if "mmap length" in str(exc) or isinstance(exc, EOFError) else exc
        raise StoreError(f"The embeddings of {what} cannot be read from {path}: {reason}") from None
    if not isinstance(array, np.ndarray) or array.dtype != np.float16 or array.ndim != 2:
        shape = f"{array.dtype} {array.shape}" if isinstance(array, np.ndarray) else "not an array"
        raise StoreError(f"The embeddings of {what} in {path} are damaged: not N x D float16 rows ({shape})")
    if len(array) != len(sample_ids):
        raise StoreError(
            f"The embeddings of {what} in {path} have {len(array):,} rows, not one per sample "
            f"({len(sample_ids):,}): the file is damaged or the dataset changed since the run"
        )
    if digest is not None and digest != samples_digest(sample_ids):
        raise StoreError(
            f"The embeddings of {what} were made for other samples than the dataset has now (it changed since "
            "the run): run the model again with Embeddings ticked to get them"
        )
    return array


def map_path(folder: Path, embeddings_file: str, method: str) -> Path:
    """Where the map of a run's embeddings by ``method`` is kept (beside the embeddings)."""
    if method not in METHODS:
        raise ValueError(f"unknown map method {method!r}; expected one of {METHODS}")
    path = inside(folder, embeddings_file)
    stem = path.name.removesuffix(EMBEDDINGS_SUFFIX)
    return path.with_name(f"{stem}.map-{method}.npy")


def write_map(path: Path, coords, rows: int) -> None:
    """N x 2 float32 ``coords`` (one point per row of the embeddings) to ``path``, atomically."""
    coords = np.asarray(coords, dtype=np.float32)
    if coords.shape != (rows, 2):
        raise ValueError(f"a map of {rows} embeddings must be {rows} x 2, got shape {coords.shape}")
    write_rows(path, coords)


def read_map(path: Path, rows: int) -> np.ndarray | None:
    """The map at ``path``, or None when it is missing or not the N x 2 float32 of these ``rows`` (a cache)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        coords = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    ok = isinstance(coords, np.ndarray) and coords.dtype == np.float32 and coords.shape == (rows, 2)
    return coords if ok and np.isfinite(coords).all() else None


def remove_partial_files(folder: Path) -> None:
    """Delete run files a crash left half-written (hidden ``*.tmp.npz`` / ``*.tmp.npy``, no row names them)."""
    for suffix in PARTIAL_SUFFIXES:
        for partial in folder.glob(f"*{suffix}"):
            partial.unlink(missing_ok=True)
