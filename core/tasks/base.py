"""What a task is to the rest of CV Lens: one object per task, asked instead of comparing task names.

A :class:`Task` says what a sample's truth is (one class, a set of tags, a mask), how a model's output
becomes predictions, whether a model fits a dataset (a :class:`Fit`, never error text to parse), the job
that runs it, what an evaluation writes, and which views the metrics pane shows. The four tasks of the
lecture are :mod:`core.tasks.binary`, :mod:`~core.tasks.multiclass`, :mod:`~core.tasks.multilabel` and
:mod:`~core.tasks.segmentation`; ``core.tasks`` holds the registry. Adding a task is adding a module with
one subclass and naming it in the registry (``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from core.datasets.base import Dataset
from core.inference.class_map import Fit, FitStatus
from core.models.cards import ModelCard


def wrong_task(card: ModelCard, dataset: Dataset) -> Fit:
    reason = f"{card.display_name} is a {card.task} model; {dataset.name} is a {dataset.task} dataset"
    return Fit(FitStatus.WRONG_TASK, reason)


class Task:
    """One task. Subclasses set the class attributes and override what they do differently."""

    #: The name datasets, model cards and predictions carry in their ``task``.
    name: ClassVar[str] = ""
    #: The task in the user's words ("multilabel classification").
    title: ClassVar[str] = ""
    #: A run gives class scores per sample: the classification views (matrix, curves, calibration) apply.
    classifies: ClassVar[bool] = False
    #: The one class whose score is thresholded and whose curves are shown (binary: class 1), else None.
    positive_class: ClassVar[int | None] = None
    #: A sample's truth is a mask of per-pixel classes (a run predicts a mask per image).
    per_pixel: ClassVar[bool] = False
    #: A sample's truth is a set of tags (any number of the classes), ``Dataset.tags``; else one class.
    multilabel: ClassVar[bool] = False
    #: Decisions come from thresholds on the scores (the metrics pane offers the threshold).
    thresholded: ClassVar[bool] = False
    #: The threshold is chosen per class (per label), not one for the task.
    threshold_per_class: ClassVar[bool] = False
    #: Runs of this task are kept in the project store (and listed, reloaded, compared).
    keeps_runs: ClassVar[bool] = True
    #: Why a run of this task cannot capture embeddings (the runner greys its Embeddings box out with it);
    #: empty when it can.
    no_embeddings: ClassVar[str] = ""
    #: How a run's predictions are stored: runs of the same format can be compared with each other.
    run_format: ClassVar[str] = ""
    #: The metrics pane's views (tab titles) for a run of this task, in order.
    views: ClassVar[tuple[str, ...]] = ()
    #: What a sample needs to be scored, in the user's words ("a prediction and a label").
    scored_by: ClassVar[str] = "a prediction and a label"
    #: What ``evaluate`` writes next to metrics.json (the CLI says so).
    outputs: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        return f"<task {self.name}>"

    # -- models and data ------------------------------------------------------------------
    def fit(self, card: ModelCard, dataset: Dataset, class_map: Mapping[str, str] | None = None) -> Fit:
        """Whether ``card`` runs on ``dataset`` (through ``class_map``, dataset class -> model class, if given)."""
        raise NotImplementedError

    def runs_on(self, dataset_task: str) -> bool:
        """Whether a run of this task's model is scored on a dataset opened for ``dataset_task`` (a saved run of
        another task is not shown when the dataset opens, nor offered in the Runs menu)."""
        return dataset_task == self.name

    def for_dataset(self, dataset: Dataset) -> Task:
        """The task of a run of this task's model on ``dataset``: this one, unless a dataset's task refines it."""
        return self

    def job(self, card: ModelCard, dataset: Dataset, *, class_map: Mapping[str, str] | None = None, **settings):
        """The job that runs ``card`` over ``dataset``; ModelError when it does not fit."""
        raise NotImplementedError

    def threshold_label(self, classes: list[str]) -> str:
        """What the metrics pane's threshold box is called for a run with these classes."""
        return "Threshold"

    def has_labels(self, dataset: Dataset) -> bool:
        """Whether any sample of ``dataset`` has a truth to score against."""
        raise NotImplementedError

    # -- evaluation -----------------------------------------------------------------------
    def summarize(self, dataset: Dataset, predictions, **options: Any) -> dict[str, Any]:
        """Everything known about how ``predictions`` match the truth, JSON-ready (metrics.json)."""
        raise NotImplementedError

    def write_evaluation(self, dataset: Dataset, predictions, out_dir: str | Path, **options: Any) -> dict[str, Any]:
        """metrics.json and the task's :attr:`outputs` in ``out_dir``; the summary."""
        raise NotImplementedError

    def headline(self, metrics: Mapping[str, Any]) -> str:
        """The one number a run's title shows ("accuracy 97.1%", "mean IoU 71.3%")."""
        raise NotImplementedError

    # -- runs in the project store ----------------------------------------------------------
    def write_run(self, path: Path, predictions) -> Path:
        raise NotImplementedError

    def read_evaluation(self, out_dir: Path):
        """The predictions ``evaluate --out out_dir`` wrote (its :attr:`outputs`), as they were written: not
        aligned to any dataset (``core.labels.run_import`` checks their sample ids first). OSError, ValueError
        or ModelError when they cannot be read."""
        raise NotImplementedError

    def load_run(self, path: Path, dataset: Dataset):
        """A saved run aligned to ``dataset``'s samples (and, where the task needs it, its classes now)."""
        raise NotImplementedError

    def summarize_run(self, project, predictions, *, original: bool, **options: Any) -> dict[str, Any]:
        """:meth:`summarize` on the project's truth (edited labels and exclusions unless ``original``)."""
        raise NotImplementedError

    def compare_runs(self, project, run_a, run_b, pred_a, pred_b):
        """Two runs side by side: an object with ``rows``, ``filters()`` and ``status()``."""
        raise NotImplementedError
