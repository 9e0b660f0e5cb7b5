"""Runs of classifiers (binary, multiclass, multilabel): class scores per sample.

Kept in the project store as a ``Predictions`` .npz; scored on the project's labels as they are now
(edited, ignored and excluded samples left out), so a relabelled sample changes the numbers of every run;
compared sample by sample: right in one run, wrong in the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.datasets.base import Dataset
from core.evaluation.classification import has_labels, write_evaluation
from core.evaluation.classification import summarize as evaluate
from core.evaluation.selection import Selection
from core.inference.class_map import classifier_fit, map_classes, preview
from core.inference.predictions import Predictions
from core.inference.runner import InferenceJob
from core.models.cards import ModelCard, ModelError
from core.tasks.base import Fit, Task, wrong_task
from core.tasks.comparison import CompareFilter, Row, scalars, side_by_side

if TYPE_CHECKING:
    from core.labels.project import Project
    from core.labels.runs import Run

TASKS = ("binary", "multiclass", "multilabel")
#: Summary entries that are not metrics to put side by side.
NOT_METRICS = {"beta", "classes", "confusion_matrix", "per_class", "failures", "threshold", "confusion"}


def write(path: Path, predictions: Predictions) -> Path:
    """``Predictions.save`` (temp file + rename)."""
    return predictions.save(path)


def load(path: Path, sample_ids: list[str], classes: list[str] | None = None) -> Predictions:
    return align_predictions(Predictions.load(path), sample_ids, classes)


def align_predictions(predictions: Predictions, sample_ids: list[str], classes: list[str] | None = None) -> Predictions:
    """``predictions`` reordered to ``sample_ids`` (matched by id; unmatched samples are not predicted) and to
    ``classes``, the dataset's classes now: a run made when they were named or ordered otherwise (a class
    folder renamed since) has its scores taken over by name, as a class map does (``ClassMapping``); a class
    the run does not name is never predicted. A ModelError when no class name is in both."""
    predictions = _by_sample(predictions, sample_ids)
    if not classes or list(classes) == list(predictions.classes):
        return predictions
    try:
        mapping = map_classes(predictions.classes, classes)
    except ModelError:
        raise ModelError(
            f"the run predicts {preview(predictions.classes)}, none of which is a class of the dataset now "
            f"({preview(classes)})"
        ) from None
    info = {"model": predictions.model, "device": predictions.device, "seconds": predictions.seconds}
    out = Predictions.empty(predictions.task, list(classes), predictions.sample_ids, **info)
    done = predictions.done.copy()
    out.scores[done] = mapping.apply(predictions.scores[done], multilabel=predictions.task == "multilabel")
    out.done[:] = done
    out.errors = dict(predictions.errors)
    return out


def _by_sample(predictions: Predictions, sample_ids: list[str]) -> Predictions:
    if predictions.sample_ids == sample_ids:
        return predictions
    info = {"model": predictions.model, "device": predictions.device, "seconds": predictions.seconds}
    out = Predictions.empty(predictions.task, predictions.classes, sample_ids, **info)
    position = {sample_id: i for i, sample_id in enumerate(predictions.sample_ids)}
    source = np.fromiter((position.get(s, -1) for s in sample_ids), dtype=np.int64, count=len(sample_ids))
    ok = np.flatnonzero(source >= 0)
    out.scores[ok] = predictions.scores[source[ok]]
    out.done[ok] = predictions.done[source[ok]]
    out.errors = {int(i): predictions.errors[int(source[i])] for i in ok if int(source[i]) in predictions.errors}
    return out


def summarize(project: Project, predictions: Predictions, *, original: bool, **options: Any) -> dict[str, Any]:
    """``core.evaluation.classification.summarize`` on the project's labels; excluded and ignored samples
    left out unless ``original``."""
    predictions = align_predictions(predictions, project.dataset.sample_ids, project.dataset.classes)
    excluded = np.zeros(len(predictions), dtype=bool) if original else project.excluded()
    if excluded.any():
        predictions = replace(predictions, done=predictions.done & ~excluded)
    summary = evaluate(project.label_dataset(original), predictions, **options)
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


@dataclass(frozen=True)
class RunComparison:
    """Two runs on the same labels: metric rows side by side, and the samples where they disagree."""

    run_a: Run
    run_b: Run
    rows: list[Row]
    right_a_wrong_b: np.ndarray
    wrong_a_right_b: np.ndarray
    both_right: np.ndarray
    both_wrong: np.ndarray

    def filters(self) -> tuple[CompareFilter, CompareFilter]:
        """Right in A and wrong in B; wrong in A and right in B."""
        a, b = f"#{self.run_a.id}", f"#{self.run_b.id}"
        return (
            CompareFilter(
                "Right in A, wrong in B",
                "Show in the browser the samples run A gets right and run B gets wrong",
                Selection.of(f"right in {a}, wrong in {b}", self.right_a_wrong_b),
            ),
            CompareFilter(
                "Wrong in A, right in B",
                "Show in the browser the samples run B gets right and run A gets wrong",
                Selection.of(f"right in {b}, wrong in {a}", self.wrong_a_right_b),
            ),
        )

    def status(self) -> str:
        differ = len(self.right_a_wrong_b) + len(self.wrong_a_right_b)
        total = differ + len(self.both_right) + len(self.both_wrong)
        return (
            f"Both right: {len(self.both_right):,} · both wrong: {len(self.both_wrong):,} "
            f"· they differ on {differ:,} of {total:,} samples"
        )


def compare(project: Project, run_a: Run, run_b: Run, pred_a: Predictions, pred_b: Predictions) -> RunComparison:
    """Both runs' metrics on the current labels, and which samples each gets right."""
    metrics_a = scalars(project.summarize(pred_a), NOT_METRICS)
    metrics_b = scalars(project.summarize(pred_b), NOT_METRICS)
    valid_a, right_a = correct(project, pred_a)
    valid_b, right_b = correct(project, pred_b)
    both = valid_a & valid_b
    return RunComparison(
        run_a,
        run_b,
        side_by_side(metrics_a, metrics_b),
        right_a_wrong_b=np.flatnonzero(both & right_a & ~right_b),
        wrong_a_right_b=np.flatnonzero(both & ~right_a & right_b),
        both_right=np.flatnonzero(both & right_a & right_b),
        both_wrong=np.flatnonzero(both & ~right_a & ~right_b),
    )


def headline(metrics: dict[str, Any]) -> str:
    """The one number a run's title shows: "accuracy 97.1%" ("exact match" for multilabel)."""
    for key, name in (("accuracy", "accuracy"), ("subset_accuracy", "exact match")):
        value = metrics.get(key)
        if isinstance(value, (int, float)):
            return f"{name} {value:.1%}"
    return ""


class Classification(Task):
    """What binary, multiclass and multilabel classification share: class scores per sample."""

    outputs = ("predictions.csv", "predictions.npz")
    classifies = True
    run_format = "class scores"

    def accepts(self, dataset: Dataset) -> bool:
        """Whether a model of this task runs on a dataset of ``dataset.task`` (binary and multiclass mix)."""
        return self.runs_on(dataset.task)

    def for_dataset(self, dataset: Dataset) -> Task:
        """The task of a run of this task's model on ``dataset`` (it accepts): binary and multiclass mix."""
        return self

    # -- models and data ------------------------------------------------------------------
    def fit(self, card: ModelCard, dataset: Dataset, class_map: Mapping[str, str] | None = None) -> Fit:
        if not self.accepts(dataset):
            return wrong_task(card, dataset)
        return classifier_fit(card, dataset, class_map)

    def job(self, card: ModelCard, dataset: Dataset, *, class_map: Mapping[str, str] | None = None, **settings):
        fit = self.fit(card, dataset, class_map)
        if not fit.fits:
            raise ModelError(fit.reason)
        for other in ("tile", "run_dir"):  # segmentation settings
            settings.pop(other, None)
        mapping = map_classes(card.classes, dataset.classes, class_map) if class_map is not None else None
        return InferenceJob(card, dataset, class_map=mapping, task=self.for_dataset(dataset).name, **settings)

    def has_labels(self, dataset: Dataset) -> bool:
        return has_labels(dataset)

    # -- evaluation -----------------------------------------------------------------------
    def summarize(self, dataset: Dataset, predictions, **options: Any) -> dict[str, Any]:
        return evaluate(dataset, predictions, **options)

    def write_evaluation(self, dataset: Dataset, predictions, out_dir: str | Path, **options: Any) -> dict[str, Any]:
        return write_evaluation(dataset, predictions, out_dir, **options)

    def headline(self, metrics: Mapping[str, Any]) -> str:
        return headline(metrics)

    # -- runs in the project store ----------------------------------------------------------
    def write_run(self, path: Path, predictions) -> Path:
        return write(path, predictions)

    def read_evaluation(self, out_dir: Path):
        return Predictions.load(Path(out_dir) / "predictions.npz")

    def load_run(self, path: Path, dataset: Dataset):
        return load(path, dataset.sample_ids, dataset.classes)

    def summarize_run(self, project, predictions, *, original: bool, **options: Any) -> dict[str, Any]:
        return summarize(project, predictions, original=original, **options)

    def compare_runs(self, project, run_a, run_b, pred_a, pred_b):
        return compare(project, run_a, run_b, pred_a, pred_b)
