"""The task registry: every part of CV Lens asks here what a task does instead of comparing task names.

One module per task (:mod:`~core.tasks.binary`, :mod:`~core.tasks.multiclass`, :mod:`~core.tasks.multilabel`,
:mod:`~core.tasks.segmentation`), each one :class:`~core.tasks.base.Task` object that owns what differs: the
fit check and the class map, the job, the evaluation, the runs kept in the project store, the metrics views.
Adding a task is adding its module and naming its object in ``TASKS`` (``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from core.inference.class_map import FITS, Fit, FitStatus
from core.inference.mask_archive import read_meta
from core.tasks.base import Task, wrong_task
from core.tasks.binary import BINARY
from core.tasks.detection import DETECTION
from core.tasks.instance_segmentation import INSTANCE_SEGMENTATION
from core.tasks.localization import LOCALIZATION
from core.tasks.multiclass import MULTICLASS
from core.tasks.multilabel import MULTILABEL
from core.tasks.segmentation import SEGMENTATION

__all__ = [
    "BINARY",
    "DETECTION",
    "FITS",
    "INSTANCE_SEGMENTATION",
    "LOCALIZATION",
    "MULTICLASS",
    "MULTILABEL",
    "SEGMENTATION",
    "TASKS",
    "Fit",
    "FitStatus",
    "Task",
    "fit",
    "for_file",
    "for_run",
    "get",
    "job_for",
    "known",
    "of",
    "shown_on",
]

TASKS: dict[str, Task] = {
    task.name: task
    for task in (BINARY, MULTICLASS, MULTILABEL, SEGMENTATION, LOCALIZATION, DETECTION, INSTANCE_SEGMENTATION)
}


def get(name: str) -> Task:
    """The task called ``name``; ValueError for a name no task has."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"CV Lens knows no {name!r} task (it knows {', '.join(TASKS)})") from None


def of(thing) -> Task:
    """The task of a dataset, a model card or predictions (anything with a ``task`` name)."""
    return get(thing.task)


def known(thing) -> Task | None:
    """The task of ``thing``, None when it has none (no dataset open) or one CV Lens does not know."""
    return TASKS.get(getattr(thing, "task", None) or "")


def for_run(card, dataset) -> Task:
    """The task of a run of ``card`` on ``dataset``: the model's, but binary for a multiclass model on a
    binary set (a two-class softmax model decides by a threshold like a binary model does)."""
    return of(card).for_dataset(dataset)


def fit(card, dataset, class_map: Mapping[str, str] | None = None) -> Fit:
    """Whether ``card`` runs on ``dataset`` (through ``class_map``), by the model's task."""
    task = known(card)
    return task.fit(card, dataset, class_map) if task is not None else wrong_task(card, dataset)


def job_for(card, dataset, *, class_map: Mapping[str, str] | None = None, **settings):
    """The job that runs ``card`` over ``dataset`` (settings: device, batch_size, num_workers, tile, run_dir,
    amp, compile, jpeg_decode, embeddings, embeddings_path; each task takes those it has); ModelError when the
    model does not fit."""
    return of(card).job(card, dataset, class_map=class_map, **settings)


# -- runs kept in the project store ------------------------------------------------------------
def keeps_runs(task: str) -> bool:
    return task in TASKS and TASKS[task].keeps_runs


def shown_on(run, dataset) -> bool:
    """Whether a saved ``run`` (anything with a ``task`` name: a core.labels Run) is scored on ``dataset`` as it
    is open: a detector's run is not the segmentation task's. A run whose task is not recorded is tried."""
    task = TASKS.get(getattr(run, "task", "") or "")
    return task is None or task.runs_on(dataset.task)


def for_file(path: str | Path) -> Task:
    """The task of a saved predictions file, by the task its own JSON records."""
    return get(read_meta(path)["task"])
