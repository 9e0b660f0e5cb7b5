"""Bring a run made elsewhere (a cluster's ``torchrun ... main.py evaluate --out DIR``) into the project store.

The store and the run files stay on the machine where the window runs; a cluster run comes back as the
folder ``evaluate`` wrote: ``metrics.json`` plus the task's predictions (``predictions.npz`` for classifiers
and detectors, ``masks/`` for segmenters) and, with ``--embeddings``, ``embeddings.npy``. Importing checks
that the run was made on the samples of the open split (same ids, none missing, none extra: a run on another
copy of the data, or on a changed folder, would be aligned silently to the wrong images otherwise) and records
it as a run with the metrics the cluster computed, so it is listed under Runs like any other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core import tasks
from core.datasets.base import Dataset
from core.labels.values import split_key
from core.models.cards import ModelError

if TYPE_CHECKING:
    from core.labels.project import Project
    from core.labels.runs import Run

METRICS = "metrics.json"
EMBEDDINGS = "embeddings.npy"
#: How many missing or extra sample ids an error names (the counts are always given).
SHOWN_IDS = 5


class RunImportError(ValueError):
    """The folder is not a run ``evaluate`` wrote, or it was made on other samples than the open split's."""


@dataclass(frozen=True)
class RunFolder:
    """What ``evaluate --out`` left in a folder, read but not yet checked against a dataset."""

    folder: Path
    metrics: dict[str, Any]
    predictions: Any  # the task's predictions, as written
    embeddings: np.ndarray | None

    @property
    def split(self) -> str | None:
        return self.metrics.get("split")

    @property
    def task(self) -> str:
        return str(self.metrics.get("task") or self.predictions.task)


def read_run_folder(folder: str | Path) -> RunFolder:
    """The run in ``folder``; RunImportError saying what is missing or unreadable."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunImportError(f"{folder} is not a folder: name the folder `evaluate --out` wrote")
    metrics = _metrics(folder)
    try:
        task = tasks.get(str(metrics.get("task", "")))
    except (KeyError, ValueError):
        raise RunImportError(f"{folder / METRICS} names no known task ({metrics.get('task')!r})") from None
    try:
        predictions = task.read_evaluation(folder)
    except (OSError, ValueError, KeyError, ModelError) as exc:
        wanted = ", ".join(name for name in task.outputs if name.endswith(("npz", "/")))
        raise RunImportError(f"{folder}: the {task.title} predictions ({wanted}) cannot be read: {exc}") from None
    return RunFolder(folder, metrics, predictions, _embeddings(folder, len(predictions.sample_ids)))


def _metrics(folder: Path) -> dict[str, Any]:
    path = folder / METRICS
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunImportError(f"{folder} has no {METRICS}: it is not a folder `evaluate --out` wrote") from None
    except (OSError, ValueError) as exc:
        raise RunImportError(f"{path} cannot be read: {exc}") from None
    if not isinstance(metrics, dict):
        raise RunImportError(f"{path} is not the metrics of a run (a JSON object)")
    return metrics


def _embeddings(folder: Path, samples: int) -> np.ndarray | None:
    """The run's embeddings when evaluate kept them (a row per sample), else None; a wrong file is an error."""
    path = folder / EMBEDDINGS
    if not path.is_file():
        return None
    try:
        rows = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise RunImportError(f"{path} cannot be read: {exc}") from None
    if rows.ndim != 2 or rows.shape[0] != samples:
        raise RunImportError(f"{path} has shape {rows.shape}; the run has {samples} samples (one row each)")
    return rows


def mismatch(run_ids: list[str], dataset: Dataset) -> str:
    """Why the run's samples are not the dataset's ("" when they are the same set)."""
    ours = set(dataset.sample_ids)
    theirs = set(run_ids)
    missing = [i for i in dataset.sample_ids if i not in theirs]  # in the dataset, not in the run
    extra = [i for i in run_ids if i not in ours]
    if not missing and not extra and len(run_ids) == len(theirs):
        return ""
    parts = []
    if missing:
        parts.append(f"{len(missing)} of the split's {len(ours)} samples are missing from the run ({_few(missing)})")
    if extra:
        parts.append(f"{len(extra)} of the run's {len(run_ids)} samples are not in the split ({_few(extra)})")
    if len(run_ids) != len(theirs):
        parts.append(f"the run names {len(run_ids) - len(theirs)} samples twice")
    return "; ".join(parts)


def _few(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (", …" if len(ids) > SHOWN_IDS else "")


def check(run: RunFolder, dataset: Dataset) -> None:
    """RunImportError unless ``run`` was made on ``dataset``'s split and samples."""
    if run.split is not None and split_key(run.split) != split_key(dataset.split):
        raise RunImportError(
            f"the run was made on split {run.split!r}; {dataset.name} is open on split {dataset.split!r}"
        )
    why = mismatch(list(run.predictions.sample_ids), dataset)
    if why:
        raise RunImportError(f"the run in {run.folder} was not made on {dataset.name}'s samples: {why}")


def import_run(project: Project, folder: str | Path | RunFolder) -> Run:
    """Check the run in ``folder`` (or the one already read from it) against the project's split and keep it
    as a run (its metrics as computed where it ran). StoreReadOnlyError when the store cannot be written;
    RunImportError as :func:`check`. Writing a large run takes seconds: call it on a worker thread."""
    run = folder if isinstance(folder, RunFolder) else read_run_folder(folder)
    check(run, project.dataset)
    metrics = {**run.metrics, "task": run.task}
    settings = {
        "command": "import-run",
        "imported_from": str(run.folder.resolve()),
        "dataset_there": run.metrics.get("dataset"),  # the path on the machine where it ran
    }
    name = f"{run.metrics.get('model') or run.predictions.model or 'run'} (imported)"
    embeddings = None if run.embeddings is None else np.asarray(run.embeddings)
    return project.save_run(run.predictions, settings=settings, metrics=metrics, name=name, embeddings=embeddings)
