"""What differs between tasks, one module per kind of run; the rest of the code asks instead of branching.

Each module names its ``TASKS`` and answers, for a run of those tasks: ``write(path, predictions)`` and
``load(path, sample_ids)`` (how the project store keeps its predictions in one file), ``summarize(project,
predictions, original=...)``, ``compare(project, run_a, run_b, pred_a, pred_b)`` (an object with ``rows``,
``filters()`` and ``status()``) and ``headline(metrics)`` (the number a run's title shows).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from core.inference.mask_archive import read_meta
from core.tasks import classification, segmentation

KINDS: tuple[ModuleType, ...] = (classification, segmentation)


def for_task(task: str) -> ModuleType:
    """The module of ``task``; ValueError for a task no run kind knows."""
    for kind in KINDS:
        if task in kind.TASKS:
            return kind
    raise ValueError(f"CV Lens cannot keep runs of {task!r} models")


def keeps_runs(task: str) -> bool:
    return any(task in kind.TASKS for kind in KINDS)


def for_predictions(predictions) -> ModuleType:
    return for_task(predictions.task)


def for_file(path: str | Path) -> ModuleType:
    """The module of a saved predictions file, by the task its own JSON records."""
    return for_task(read_meta(path)["task"])
