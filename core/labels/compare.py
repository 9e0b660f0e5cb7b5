"""Comparing two model runs on the labels as they are now, and metrics on edited or original labels."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from core.datasets.base import UNLABELED, Dataset
from core.inference.predictions import Predictions
from core.labels.runs import Run, align_predictions, get_run, load_run

if TYPE_CHECKING:
    from core.labels.project import Project

#: Summary entries that are not metrics to put side by side.
_NOT_METRICS = {"beta", "classes", "confusion_matrix", "per_class", "failures", "threshold", "confusion"}


@dataclass(frozen=True)
class RunComparison:
    """Two runs on the same labels: metric rows side by side, and the samples where they disagree."""

    run_a: Run
    run_b: Run
    #: (metric, value of A, value of B); None where a metric is undefined.
    rows: list[tuple[str, float | None, float | None]]
    right_a_wrong_b: np.ndarray
    wrong_a_right_b: np.ndarray
    both_right: np.ndarray
    both_wrong: np.ndarray


def edited_dataset(project: Project) -> Dataset:
    """A shallow copy of the project's dataset holding the edited labels; ignored and excluded samples unlabeled."""
    view = copy.copy(project.dataset)
    targets = project.targets()
    if targets is not None:
        targets[project.excluded()] = UNLABELED
        view.targets = targets
    tags = project.tags()
    if tags is not None:
        view.tags = tags
    return view


def summarize_with(project: Project, predictions: Predictions, *, original: bool, **options: Any) -> dict[str, Any]:
    """``core.evaluation.summarize`` on the project's labels; excluded and ignored samples left out unless original."""
    from core.evaluation import summarize

    predictions = align_predictions(predictions, project.dataset.sample_ids)
    excluded = np.zeros(len(predictions), dtype=bool) if original else project.excluded()
    if excluded.any():
        predictions = replace(predictions, done=predictions.done & ~excluded)
    summary = summarize(project.label_dataset(original), predictions, **options)
    summary["labels"] = "original" if original else "edited"
    summary["excluded"] = int(excluded.sum())
    return summary


def correct(project: Project, predictions: Predictions) -> tuple[np.ndarray, np.ndarray]:
    """(evaluable, right) per sample on the current labels; multilabel: every tag right at 0.5."""
    evaluable = predictions.done & ~project.excluded()
    tags = project.tags()
    if tags is not None:
        return evaluable, ((predictions.scores >= 0.5) == tags.astype(bool)).all(axis=1)
    targets = project.targets()
    evaluable &= targets >= 0
    return evaluable, predictions.predicted == targets


def compare_runs(project: Project, run_a: Run | int, run_b: Run | int) -> RunComparison:
    """Both runs' metrics on the current labels, and which samples each gets right."""
    store = project.store
    run_a = run_a if isinstance(run_a, Run) else get_run(store, run_a)
    run_b = run_b if isinstance(run_b, Run) else get_run(store, run_b)
    pred_a, pred_b = load_run(project, run_a), load_run(project, run_b)
    metrics_a, metrics_b = _scalars(project.summarize(pred_a)), _scalars(project.summarize(pred_b))
    names = list(metrics_a) + [k for k in metrics_b if k not in metrics_a]
    rows = [(name, metrics_a.get(name), metrics_b.get(name)) for name in names]
    valid_a, right_a = correct(project, pred_a)
    valid_b, right_b = correct(project, pred_b)
    both = valid_a & valid_b
    return RunComparison(
        run_a,
        run_b,
        rows,
        right_a_wrong_b=np.flatnonzero(both & right_a & ~right_b),
        wrong_a_right_b=np.flatnonzero(both & ~right_a & right_b),
        both_right=np.flatnonzero(both & right_a & right_b),
        both_wrong=np.flatnonzero(both & ~right_a & ~right_b),
    )


def _scalars(summary: dict[str, Any]) -> dict[str, float | None]:
    """The numbers of a summary, nested averages flattened ("macro.fbeta")."""
    out: dict[str, float | None] = {}
    for key, value in summary.items():
        if key in _NOT_METRICS:
            continue
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items() if _is_number(v)})
        elif _is_number(value) and value is not None:
            out[key] = value
    return out


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
