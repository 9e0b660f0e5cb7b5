"""Bring a run made elsewhere (a cluster's ``torchrun ... main.py evaluate --out DIR``) into the project store.

The store and the run files stay on the machine where the window runs; a cluster run comes back as the
folder ``evaluate`` wrote: ``metrics.json`` plus the task's predictions (``predictions.npz`` for classifiers
and detectors, ``masks/`` for segmenters) and, with ``--embeddings``, ``embeddings.npy``. Importing checks
that the run was made on the samples of the open split (same ids, none missing, none extra: a run on another
copy of the data, or on a changed folder, would be aligned silently to the wrong images otherwise) and records
it as a run with the metrics the cluster computed, so it is listed under Runs like any other.

Importing is idempotent: the run's identity, a digest of its files (:func:`run_digest`), is kept in the run's
settings (``imported_digest``). The same run imported again is not recorded twice (:class:`AlreadyImported`
names the run it already is). A folder of the same name whose files have changed since (``evaluate`` ran again
into it) is another run: it is recorded beside the earlier one under a new name, or in its place when the user
asks (``replace``); the user's run is never replaced silently.

``evaluate`` saves its run into the project itself, and keeps the same identity of the folder it wrote
(:func:`evaluate_identity`: ``out`` and ``outputs_digest`` in the run's settings): importing that folder later finds
the run evaluate saved (AlreadyImported) instead of recording it a second time.
"""

from __future__ import annotations

import hashlib
import json
import os
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
#: Files are digested in blocks of this size (SHA-256 reads ~0.5 GB/s: an ImageNet run's 200 MB in a fraction of
#: a second, on the worker that imports it).
BLOCK_BYTES = 1 << 20


class RunImportError(ValueError):
    """The folder is not a run ``evaluate`` wrote, or it was made on other samples than the open split's."""


class AlreadyImported(RunImportError):
    """The very same run (same files) is already kept in the project: nothing is recorded again."""

    def __init__(self, folder: Path, run: Run) -> None:
        super().__init__(f"the run in {folder} is already imported as #{run.id} {run.name}")
        self.run = run


@dataclass(frozen=True)
class Earlier:
    """A kept run the folder was imported as before: the same files (``changed`` False), or a folder of the same
    name whose files differ now (``changed`` True: another run, made into the same folder)."""

    run: Run
    changed: bool


@dataclass(frozen=True)
class RunFolder:
    """What ``evaluate --out`` left in a folder, read but not yet checked against a dataset."""

    folder: Path
    metrics: dict[str, Any]
    predictions: Any  # the task's predictions, as written
    embeddings: np.ndarray | None
    #: The run's identity: :func:`run_digest` of its files.
    digest: str = ""

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
    embeddings = _embeddings(folder, len(predictions.sample_ids))
    return RunFolder(folder, metrics, predictions, embeddings, run_digest(folder, task.outputs))


def run_digest(folder: Path, outputs: tuple[str, ...]) -> str:
    """SHA-256 of what identifies the run in ``folder``: ``metrics.json``, the task's ``outputs`` and the
    embeddings, each under its name. A file is digested by its content; an output folder (a segmenter's
    ``masks/``) by the content of its files at the top (``run.json``; the confusions, which change with any
    predicted pixel) and the names and sizes of those below (one mask file per sample: gigabytes, not read)."""
    digest = hashlib.sha256()
    for name in (METRICS, *outputs, EMBEDDINGS):
        path = folder / name.rstrip("/")
        if path.is_file():
            _digest_file(digest, name, path)
        elif path.is_dir():
            for parent, folders, files in os.walk(path):
                folders.sort()
                below = parent != str(path)
                for file in sorted(files):
                    relative = Path(parent, file).relative_to(folder).as_posix()
                    if below:
                        digest.update(f"{relative}\0{os.path.getsize(Path(parent, file))}\0".encode())
                    else:
                        _digest_file(digest, relative, Path(parent, file))
    return digest.hexdigest()


def _digest_file(digest, name: str, path: Path) -> None:
    size = path.stat().st_size
    digest.update(f"{name}\0{size}\0".encode())
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(BLOCK_BYTES), b""):
            digest.update(block)


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


def evaluate_identity(folder: str | Path, task_name: str) -> dict[str, str]:
    """What ``evaluate`` keeps in the settings of the run it saves, once it wrote its outputs into ``folder``: the
    folder and :func:`run_digest` of its files, the identity an import of that folder finds the run by."""
    folder = Path(folder).resolve()
    return {"out": str(folder), "outputs_digest": run_digest(folder, tasks.get(task_name).outputs)}


def _identity(kept: Run) -> tuple[str | None, str] | None:
    """(digest, folder) of the run folder ``kept`` was recorded from: the one an import read or the one
    ``evaluate`` wrote; None for a run that came from no folder (the window's own runs)."""
    settings = kept.settings
    if settings.get("command") == "import-run":
        return settings.get("imported_digest"), str(settings.get("imported_from", ""))
    if settings.get("outputs_digest"):
        return settings["outputs_digest"], str(settings.get("out", ""))
    return None


def recorded_how(kept: Run) -> str:
    """How ``kept`` came into the project, for the messages about it: "imported" or "saved by evaluate"."""
    return "imported" if kept.settings.get("command") == "import-run" else "saved by evaluate"


def earlier_import(project: Project, run: RunFolder) -> Earlier | None:
    """The kept run of this split that ``run`` was imported as before, or that ``evaluate`` saved when it wrote
    the folder (see :class:`Earlier`), or None."""
    known = [(r, _identity(r)) for r in reversed(project.runs())]  # newest first
    known = [(r, identity) for r, identity in known if identity is not None]
    for earlier, (digest, _) in known:
        if digest == run.digest:
            return Earlier(earlier, changed=False)
    name = run.folder.resolve().name
    for earlier, (digest, folder) in known:
        if Path(folder).name == name:
            # An import recorded before digests were kept: the same run when its metrics are the same.
            legacy = digest is None and earlier.metrics == _metrics_kept(run)
            return Earlier(earlier, changed=not legacy)
    return None


def plan_import(project: Project, folder: str | Path) -> tuple[RunFolder, Earlier | None]:
    """Read and check the run in ``folder`` and say whether it was imported before, so that the user can be
    asked before anything is written: (the run, :func:`earlier_import`). RunImportError as :func:`check`."""
    run = read_run_folder(folder)
    check(run, project.dataset)
    return run, earlier_import(project, run)


def import_run(project: Project, folder: str | Path | RunFolder, *, replace: bool = False) -> Run:
    """Check the run in ``folder`` (or the one already read from it) against the project's split and keep it
    as a run (its metrics as computed where it ran). The same run imported before: AlreadyImported, nothing
    recorded. A folder of that name imported before whose files changed since: recorded under a new name
    ("<model> (imported 2)"), or, with ``replace``, in the earlier run's place. StoreReadOnlyError when the
    store cannot be written; RunImportError as :func:`check`. Writing a large run takes seconds: call it on a
    worker thread."""
    run = folder if isinstance(folder, RunFolder) else read_run_folder(folder)
    check(run, project.dataset)
    earlier = earlier_import(project, run)
    if earlier is not None and not earlier.changed:
        raise AlreadyImported(run.folder, earlier.run)
    settings = {
        "command": "import-run",
        "imported_from": str(run.folder.resolve()),
        "imported_digest": run.digest,
        "dataset_there": run.metrics.get("dataset"),  # the path on the machine where it ran
    }
    name = f"{run.metrics.get('model') or run.predictions.model or 'run'} (imported)"
    replacing = earlier.run if earlier is not None and replace else None
    if replacing is not None:
        name = replacing.name  # in its place, under the name the user knows it by
    elif earlier is not None:
        name = _free_name(name, project)
    embeddings = None if run.embeddings is None else np.asarray(run.embeddings)
    info = {"settings": settings, "metrics": _metrics_kept(run), "name": name, "embeddings": embeddings}
    return project.save_run(run.predictions, replacing=replacing, **info)


def _metrics_kept(run: RunFolder) -> dict[str, Any]:
    return {**run.metrics, "task": run.task}


def _free_name(name: str, project: Project) -> str:
    """``name`` with the first number from 2 that no kept run of the split carries ("x (imported 2)")."""
    taken = {r.name for r in project.runs()}
    stem = name.removesuffix(")")
    return next(f"{stem} {n})" for n in range(2, len(taken) + 3) if f"{stem} {n})" not in taken)
