"""Model runs kept in the project store: save, list, reload instantly (comparing two: ``compare``).

A run's row holds the model, its weights file and SHA-256, the settings, time, user and device,
and the metrics at the time (on the labels as they were then); its per-sample predictions are one
file in the store's ``runs/`` folder, written and read by the run's task module (``core/tasks``): a
``Predictions`` .npz for a classifier, an archive of masks and confusion matrices for a segmenter.
Which one a file is, the file's own JSON says. A run may keep its embeddings (and maps made of them) in
files beside it: ``core/labels/run_arrays.py``. The files are written and synced first, the row second,
so a crash in between leaves at worst unreferenced files, never a row without its files.
"""

from __future__ import annotations

import json
import os
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core import tasks
from core.inference.predictions import Predictions
from core.labels import run_arrays
from core.labels.errors import StoreError, StoreReadOnlyError, StoreWriteError
from core.labels.history import current_user
from core.labels.location import RUNS_FOLDER
from core.models.cards import ModelError
from core.models.weights import file_sha256
from core.tasks.classification import align_predictions

__all__ = [
    "Run",
    "align_predictions",
    "get_run",
    "list_runs",
    "load_embeddings",
    "load_map",
    "load_run",
    "save_map",
    "save_run",
]

if TYPE_CHECKING:
    from core.labels.project import Project
    from core.labels.store import ProjectStore

_INSERT = (
    "name, model, weights_path, weights_sha256, settings, time, user, device, split, predictions, metrics, "
    "embeddings, embeddings_samples"
)
_COLUMNS = f"id, {_INSERT}"


@dataclass(frozen=True)
class Run:
    id: int
    name: str
    model: str
    weights_path: str | None
    weights_sha256: str | None
    settings: dict[str, Any]
    time: float
    user: str
    device: str
    split: str
    #: The predictions file, relative to the store's folder.
    predictions_file: str
    metrics: dict[str, Any] = field(repr=False)
    #: The embeddings file (N x D float16 .npy), relative to the store's folder; None: the run kept none.
    embeddings_file: str | None = None
    #: A digest of the sample ids the embeddings' rows follow (``run_arrays.samples_digest``).
    embeddings_samples: str | None = field(default=None, repr=False)

    @property
    def has_embeddings(self) -> bool:
        return self.embeddings_file is not None

    @property
    def task(self) -> str:
        """The task of the run's model, as its metrics recorded it ("" when they did not)."""
        return str(self.metrics.get("task", ""))

    @property
    def headline(self) -> str:
        """The number a run's title shows: "accuracy 97.1%", "mean IoU 61.2%" ("" when there is none)."""
        known = [tasks.get(self.task)] if tasks.keeps_runs(self.task) else tasks.TASKS.values()  # no task: any
        return next((text for task in known if (text := task.headline(self.metrics))), "")


def save_run(
    project: Project,
    predictions: Predictions,
    *,
    weights: str | Path | None = None,
    settings: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    name: str | None = None,
    embeddings: np.ndarray | None = None,
    replacing: Run | None = None,
) -> Run:
    """Store a run (classification ``Predictions`` or ``SegmentationPredictions``); ``metrics`` default to
    ``project.summarize(predictions)`` on the current labels; ``embeddings``: the run's N x D rows (one per
    sample of ``predictions``, in its order; kept as float16). ``replacing``: a kept run this one takes the place
    of (its id, in the same transaction; its files are removed after): only when the user asked for it. Writing
    a large run takes seconds: call it on a worker thread."""
    store = project.store
    if store.read_only:
        raise StoreReadOnlyError(f"Cannot save the run: {store.notice}")
    rows = None if embeddings is None else run_arrays.checked_rows(embeddings, len(predictions.sample_ids))
    sha256 = _weights_hash(weights)
    metrics = project.summarize(predictions) if metrics is None else metrics
    relative = f"{RUNS_FOLDER}/run-{uuid.uuid4().hex[:12]}.npz"
    path = _write_predictions(store.folder / relative, predictions)
    written = [path]
    embeddings_file = digest = None
    if rows is not None:
        embeddings_file = run_arrays.embeddings_name(relative)
        written.append(_write_embeddings(store.folder / embeddings_file, rows, path))
        digest = run_arrays.samples_digest(predictions.sample_ids)
    row = (
        name or predictions.model or "run",
        predictions.model,
        str(Path(weights).resolve()) if weights else None,
        sha256,
        _json(settings or {}),
        time.time(),
        current_user(),
        predictions.device,
        project.split,
        relative,
        _json(metrics),
        embeddings_file,
        digest,
    )
    try:
        with store.writing("save the run") as conn:
            run_id = _write_row(conn, row, replacing)
    except StoreError:
        for file in written:
            file.unlink(missing_ok=True)
        raise
    if replacing is not None and run_id == replacing.id:
        _remove_files(store.folder, replacing)
    return get_run(store, run_id)


def _write_row(conn, row: tuple, replacing: Run | None) -> int:
    """The run's row: in place of ``replacing``'s (same id) when it is still there, else a new one; its id."""
    if replacing is not None:
        assignments = ", ".join(f"{column.strip()} = ?" for column in _INSERT.split(","))
        if conn.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*row, replacing.id)).rowcount:
            return replacing.id
    cursor = conn.execute(f"INSERT INTO runs ({_INSERT}) VALUES ({', '.join('?' * len(row))})", row)
    return int(cursor.lastrowid)


def _remove_files(folder: Path, run: Run) -> None:
    """A replaced run's files (predictions, embeddings, their maps): no row names them any more. One that cannot
    be removed (or a name that leads out of the store) is left: an unreferenced file harms nothing."""
    names = [run.predictions_file, run.embeddings_file]
    for name in filter(None, names):
        try:
            path = run_arrays.inside(folder, name)
            maps = [run_arrays.map_path(folder, name, m) for m in run_arrays.METHODS] if name == names[1] else []
            for file in (path, *maps):
                file.unlink(missing_ok=True)
        except (OSError, StoreError):
            continue


def _weights_hash(weights: str | Path | None) -> str | None:
    if weights is None:
        return None
    try:
        return file_sha256(Path(weights))
    except OSError as exc:
        raise StoreError(f"Cannot read the weights file {weights}: {exc.strerror or exc}") from exc


def _write_predictions(path: Path, predictions: Predictions) -> Path:
    """The task's ``write`` (temp file + rename), then fsync of the file and its folder."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tasks.of(predictions).write_run(path, predictions)
        _fsync(path)
        _fsync(path.parent)
    except OSError as exc:
        for leftover in (path, path.with_name(path.name + ".tmp.npz")):
            leftover.unlink(missing_ok=True)
        raise StoreWriteError(
            f"Could not save the run's predictions to {path}: {exc.strerror or exc}. Nothing of the run was saved."
        ) from exc
    return path


def _write_embeddings(path: Path, rows: np.ndarray, predictions: Path) -> Path:
    """The rows beside the run's predictions; on failure the predictions go too (nothing of the run is kept)."""
    try:
        run_arrays.write_rows(path, rows)
    except OSError as exc:
        predictions.unlink(missing_ok=True)
        raise StoreWriteError(
            f"Could not save the run's embeddings to {path}: {exc.strerror or exc}. Nothing of the run was saved."
        ) from exc
    return path


def _fsync(path: Path) -> None:
    if os.name == "nt" and path.is_dir():
        return  # Windows cannot open a folder to sync it
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _json(value: Any) -> str:
    def plain(obj: Any) -> Any:
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        return str(obj)

    return json.dumps(value, default=plain, ensure_ascii=False)


def _run(row: tuple) -> Run:
    values = list(row)
    values[5], values[11] = json.loads(values[5]), json.loads(values[11])
    return Run(*values)


def list_runs(store: ProjectStore, split: str | None = None) -> list[Run]:
    """Runs of ``split`` (all splits when None), oldest first."""
    where, params = ("WHERE split = ?", (split,)) if split is not None else ("", ())
    with store.reading() as conn:
        return [_run(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM runs {where} ORDER BY id", params)]


def get_run(store: ProjectStore, run_id: int) -> Run:
    with store.reading() as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (int(run_id),)).fetchone()
    if row is None:
        raise StoreError(f"The project store has no run {run_id}")
    return _run(row)


def load_run(project: Project, run: Run | int):
    """A run's predictions, aligned to the project's samples (samples the run lacks: not predicted).

    A segmentation run comes back at once: its masks stay in the file until one is shown.
    """
    run = run if isinstance(run, Run) else get_run(project.store, run)
    path = run_arrays.inside(project.store.folder, run.predictions_file)
    try:
        return tasks.for_file(path).load_run(path, project.dataset)
    except (OSError, ValueError, KeyError, ModelError, zipfile.BadZipFile) as exc:
        raise StoreError(f"Cannot read the predictions of run {run.id} ({run.name}) from {path}: {exc}") from exc


def load_embeddings(project: Project, run: Run | int) -> np.ndarray | None:
    """A run's embeddings, N x D float16 memory-mapped read-only, one row per sample of the project's dataset;
    None when the run kept none. StoreError when its file is missing, damaged, outside the store's folder, or
    made for other samples than the dataset has now."""
    run = run if isinstance(run, Run) else get_run(project.store, run)
    if run.embeddings_file is None:
        return None
    what = f"run {run.id} ({run.name})"
    folder, ids = project.store.folder, project.dataset.sample_ids
    return run_arrays.open_rows(folder, run.embeddings_file, run.embeddings_samples, ids, what)


def save_map(project: Project, run: Run | int, coords: np.ndarray, method: str) -> Path:
    """Keep the 2-D map ``coords`` (N x 2, one point per embedding) of a run's embeddings made by ``method``."""
    run = run if isinstance(run, Run) else get_run(project.store, run)
    store = project.store
    if store.read_only:
        raise StoreReadOnlyError(f"Cannot keep the map of the run: {store.notice}")
    rows = load_embeddings(project, run)
    if rows is None:
        raise ValueError(f"run {run.id} ({run.name}) kept no embeddings: it has no map")
    path = run_arrays.map_path(store.folder, run.embeddings_file, method)
    try:
        run_arrays.write_map(path, coords, len(rows))
    except OSError as exc:
        raise StoreWriteError(f"Could not keep the map of run {run.id} in {path}: {exc.strerror or exc}") from exc
    return path


def load_map(project: Project, run: Run | int, method: str | None = None) -> tuple[np.ndarray, str] | None:
    """The kept map of a run's embeddings: ``method``'s, or (None) the best one kept (PaCMAP, UMAP, PCA);
    (N x 2 float32, method), or None when there is none (or it is damaged: a cache, made again)."""
    run = run if isinstance(run, Run) else get_run(project.store, run)
    rows = load_embeddings(project, run)
    if rows is None:
        return None
    for name in (method,) if method is not None else run_arrays.METHODS:
        coords = run_arrays.read_map(run_arrays.map_path(project.store.folder, run.embeddings_file, name), len(rows))
        if coords is not None:
            return coords, name
    return None
