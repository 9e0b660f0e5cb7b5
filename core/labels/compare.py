"""Comparing two model runs on the labels as they are now, and metrics on edited or original labels.

What differs per task (what "right" means, which metrics are put side by side, which browser filters a
comparison offers) is in the run's ``core/tasks`` module; this module finds the runs and asks it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from core import tasks
from core.datasets.base import UNLABELED, Dataset
from core.labels.boxes import boxes_view
from core.labels.runs import Run, get_run, load_run
from core.tasks.classification import RunComparison, correct
from core.tasks.segmentation import SegmentationComparison

if TYPE_CHECKING:
    from core.labels.project import Project

__all__ = ["RunComparison", "SegmentationComparison", "compare_runs", "correct", "edited_dataset", "summarize_with"]


def edited_dataset(project: Project) -> Dataset:
    """A shallow copy of the project's dataset holding the edited labels; ignored and excluded samples unlabeled.

    A box dataset's copy answers ``load_boxes`` with the edited objects (a snapshot of the edits now) and
    names the excluded samples in ``view.excluded``."""
    if project.dataset.has_boxes:
        return boxes_view(project.dataset, project.edited_boxes(), project.excluded())
    view = copy.copy(project.dataset)
    targets = project.targets()
    if targets is not None:
        targets[project.excluded()] = UNLABELED
        view.targets = targets
    tags = project.tags()
    if tags is not None:
        view.tags = tags
    return view


def summarize_with(project: Project, predictions, *, original: bool, **options: Any) -> dict[str, Any]:
    """The metrics of ``predictions`` on the project's labels (edited, or the dataset's ``original`` ones)."""
    return tasks.of(predictions).summarize_run(project, predictions, original=original, **options)


def compare_runs(project: Project, run_a: Run | int, run_b: Run | int) -> RunComparison | SegmentationComparison:
    """Both runs' metrics side by side, and the samples where one does better (see the task's ``compare``)."""
    store = project.store
    run_a = run_a if isinstance(run_a, Run) else get_run(store, run_a)
    run_b = run_b if isinstance(run_b, Run) else get_run(store, run_b)
    pred_a, pred_b = load_run(project, run_a), load_run(project, run_b)
    task = tasks.of(pred_a)
    if tasks.of(pred_b).run_format != task.run_format:
        raise ValueError(f"run #{run_a.id} is a {pred_a.task} run and run #{run_b.id} a {pred_b.task} run")
    return task.compare_runs(project, run_a, run_b, pred_a, pred_b)
