"""Model runs kept in the project store: save, list, reload instantly (comparing two: ``compare``).

A run's row holds the model, its weights file and SHA-256, the settings, time, user and device,
and the metrics at the time (on the labels as they were then); its per-sample predictions are one
file in the store's ``runs/`` folder, written and read by the run's task module (``core/tasks``): a
``Predictions`` .npz for a classifier, an archive of masks and confusion matrices for a segmenter.
Which one a file is, the file's own JSON says. The file is written and synced first, the row second,
so a crash in between leaves at worst an unreferenced file, never a row without one.
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
from core.labels.errors import StoreError, StoreReadOnlyError, StoreWriteError
from core.labels.history import current_user
from core.labels.location import RUNS_FOLDER
from core.models.cards import ModelError
from core.models.weights import file_sha256
from core.tasks.classification import align_predictions

__all__ = ["Run", "align_predictions", "get_run", "list_runs", "load_run", "remove_partial_files", "save_run"]

if TYPE_CHECKING:
    from core.labels.project import Project
    from core.labels.store import ProjectStore

_INSERT = "name, model, weights_path, weights_sha256, settings, time, user, device, split, predictions, metrics"
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
) -> Run:
    """Store a run (classification ``Predictions`` or ``SegmentationPredictions``); ``metrics`` default to
    ``project.summarize(predictions)`` on the current labels. Writing a large segmentation run takes seconds:
    call it on a worker thread."""
    store = project.store
    if store.read_only:
        raise StoreReadOnlyError(f"Cannot save the run: {store.notice}")
    sha256 = _weights_hash(weights)
    metrics = project.summarize(predictions) if metrics is None else metrics
    relative = f"{RUNS_FOLDER}/run-{uuid.uuid4().hex[:12]}.npz"
    path = _write_predictions(store.folder / relative, predictions)
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
    )
    try:
        with store.writing("save the run") as conn:
            cursor = conn.execute(f"INSERT INTO runs ({_INSERT}) VALUES ({', '.join('?' * len(row))})", row)
    except StoreError:
        path.unlink(missing_ok=True)
        raise
    return get_run(store, int(cursor.lastrowid))


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
    path = project.store.folder / run.predictions_file
    try:
        return tasks.for_file(path).load_run(path, project.dataset)
    except (OSError, ValueError, KeyError, ModelError, zipfile.BadZipFile) as exc:
        raise StoreError(f"Cannot read the predictions of run {run.id} ({run.name}) from {path}: {exc}") from exc


def remove_partial_files(folder: Path) -> None:
    """Delete run files a crash left half-written (``*.tmp.npz``, never referenced by a row).

    Whole .npz files without a row are kept: a store moved aside as damaged may still refer to them.
    """
    for partial in folder.glob("*.tmp.npz"):
        partial.unlink(missing_ok=True)
