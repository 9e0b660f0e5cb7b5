"""Runs of detectors: boxes, scores and classes per image (and a mask per box, a box per image).

The three object tasks of the lecture share this module's :class:`ObjectTask`: object detection (any number
of boxes per image), instance segmentation (:mod:`core.tasks.instance_segmentation`: a mask per box) and
classification + localization (:mod:`core.tasks.localization`: one box and the class scores per image).
A run is kept in the project store as one :class:`~core.inference.detections.DetectionPredictions` npz; it is
scored on the project's boxes as they are now (edited boxes, excluded images left out), with COCO's numbers
(``core.metrics.detection.detection_report``) and the error analysis of ``core.evaluation.detection``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.datasets.base import Dataset
from core.evaluation.detection import evaluate_detection
from core.evaluation.detection_files import summarize_detection, write_detection_evaluation
from core.evaluation.selection import Selection
from core.inference.class_map import detector_fit
from core.inference.detection import DetectionJob
from core.inference.detections import DetectionPredictions
from core.models.cards import ModelCard, ModelError
from core.tasks.base import Fit, Task, wrong_task
from core.tasks.comparison import CompareFilter, Row, side_by_side

if TYPE_CHECKING:
    from core.labels.project import Project
    from core.labels.runs import Run

#: The dataset-wide numbers compared first, in this order (COCO's names).
OVERALL = {
    "map": "mAP (IoU .50:.95)",
    "map_50": "mAP@0.5",
    "map_75": "mAP@0.75",
    "map_small": "mAP small",
    "map_medium": "mAP medium",
    "map_large": "mAP large",
    "mar_100": "mAR@100",
}
#: Settings of the classifiers' and segmenters' jobs that a detector's job has no use for.
OTHER_SETTINGS = ("tile", "run_dir", "amp", "compile", "jpeg_decode", "embeddings", "embeddings_path")


def load(path: Path, dataset: Dataset) -> DetectionPredictions:
    """A saved run aligned to ``dataset``'s samples; a ModelError when its classes are not the dataset's."""
    predictions = DetectionPredictions.load(path)
    if list(predictions.classes) != list(dataset.classes):
        raise ModelError(
            f"the run's classes ({', '.join(predictions.classes[:5])}...) are not the dataset's "
            f"({', '.join(dataset.classes[:5])}...): open the dataset as it was when the model ran"
        )
    return predictions.aligned(dataset.sample_ids)


def scored(project: Project, predictions: DetectionPredictions, original: bool) -> DetectionPredictions:
    """``predictions`` aligned to the project's samples, excluded images left out unless ``original``."""
    predictions = predictions.aligned(project.dataset.sample_ids)
    if original:
        return predictions
    excluded = project.excluded()
    return replace(predictions, done=predictions.done & ~excluded) if excluded.any() else predictions


def image_errors(project: Project, predictions: DetectionPredictions) -> np.ndarray:
    """Per image of the project: FP + FN at the run's operating point (its best-F1 score, IoU 0.5); NaN for
    images not run, excluded, or without readable boxes."""
    evaluation = evaluate_detection(project.label_dataset(False), scored(project, predictions, original=False))
    counts = evaluation.counts()
    errors = np.full(len(project.dataset), np.nan)
    errors[evaluation.images] = counts["fp"] + counts["fn"]
    return errors


def metric_rows(summary: Mapping[str, Any]) -> dict[str, float | None]:
    """The dataset-wide numbers, then "AP · <class>" for every class (None where COCOeval says -1)."""

    def value(number: Any) -> float | None:
        return None if not isinstance(number, (int, float)) or number < 0 else float(number)

    out = {name: value(summary.get(key)) for key, name in OVERALL.items()}
    ap = summary.get("ap") or {}
    items = ap.items() if isinstance(ap, Mapping) else zip(summary.get("classes", []), ap)
    out.update({f"AP · {name}": value(number) for name, number in items})
    return out


@dataclass(frozen=True)
class DetectionComparison:
    """Two detection runs: COCO's numbers side by side, and the images where one makes fewer errors."""

    run_a: Run
    run_b: Run
    rows: list[Row]
    better_in_a: np.ndarray  # fewer errors (FP + FN) in A, the largest difference first
    worse_in_a: np.ndarray
    tied: np.ndarray

    def filters(self) -> tuple[CompareFilter, CompareFilter]:
        a, b = f"#{self.run_a.id}", f"#{self.run_b.id}"
        return (
            CompareFilter(
                "Better in A",
                "Show in the browser the images where run A makes fewer errors (FP + FN) than run B",
                Selection.of(f"fewer errors in {a} than {b}", self.better_in_a, ordered=True),
            ),
            CompareFilter(
                "Worse in A",
                "Show in the browser the images where run A makes more errors (FP + FN) than run B",
                Selection.of(f"more errors in {a} than {b}", self.worse_in_a, ordered=True),
            ),
        )

    def status(self) -> str:
        total = len(self.better_in_a) + len(self.worse_in_a) + len(self.tied)
        return (
            f"Errors (FP + FN) per image: fewer in A on {len(self.better_in_a):,} · more in A on "
            f"{len(self.worse_in_a):,} · as many on {len(self.tied):,} of {total:,} images run by both"
        )


def compare(
    project: Project, run_a: Run, run_b: Run, pred_a: DetectionPredictions, pred_b: DetectionPredictions
) -> DetectionComparison:
    rows = side_by_side(  # COCO's numbers for every object task (a localizer's one box is a detection)
        metric_rows(summarize(project, pred_a, original=False)), metric_rows(summarize(project, pred_b, original=False))
    )
    errors_a, errors_b = image_errors(project, pred_a), image_errors(project, pred_b)
    both = np.flatnonzero(~np.isnan(errors_a) & ~np.isnan(errors_b))
    delta = errors_b[both] - errors_a[both]  # > 0: A makes fewer errors
    order = both[np.argsort(-delta, kind="stable")]
    gain = (errors_b - errors_a)[order]
    return DetectionComparison(
        run_a,
        run_b,
        rows,
        better_in_a=order[gain > 0],
        worse_in_a=order[::-1][gain[::-1] < 0],
        tied=np.sort(order[gain == 0]),
    )


def summarize(project: Project, predictions: DetectionPredictions, *, original: bool, task=None, **options: Any):
    """The run's report (``task.summarize``, the detection report by default) on the project's boxes now:
    edited boxes, excluded images left out; the dataset's own boxes when ``original``."""
    dataset = project.label_dataset(original)
    predictions = scored(project, predictions, original)
    summary = (task or DETECTION).summarize(dataset, predictions, **options)
    summary["labels"] = "original" if original else "edited"
    return summary


def headline(metrics: Mapping[str, Any]) -> str:
    """The one number a run's title shows: "mAP 61.2%" (COCO's mAP over IoU .50:.95)."""
    value = metrics.get("map")
    return f"mAP {value:.1%}" if isinstance(value, (int, float)) and value >= 0 else ""


class ObjectTask(Task):
    """What the object tasks share: a run gives boxes with scores and classes per image."""

    #: Dataset tasks whose truth a model of this task is scored on (a detector runs on an instance
    #: segmentation dataset's boxes; a localizer's one box is scored like a detection).
    accepts: tuple[str, ...] = ()
    scored_by = "predicted boxes and true boxes"
    outputs = ("detections.csv", "per_image.csv", "predictions.npz")
    run_format = "detections"
    no_embeddings = "Detectors give no embeddings yet: the Analysis tab is for classifiers and segmenters"

    def runs_on(self, dataset_task: str) -> bool:
        return dataset_task in self.accepts

    views = ("Detection", "PR curves", "Confusion", "Error types", "Per image")

    # -- models and data ------------------------------------------------------------------
    def fit(self, card: ModelCard, dataset: Dataset, class_map: Mapping[str, str] | None = None) -> Fit:
        if card.task != self.name or dataset.task not in self.accepts:
            return wrong_task(card, dataset)
        return detector_fit(card, dataset, class_map)

    def job(self, card: ModelCard, dataset: Dataset, *, class_map: Mapping[str, str] | None = None, **settings):
        fit = self.fit(card, dataset, class_map)
        if not fit.fits:
            raise ModelError(fit.reason)
        for other in OTHER_SETTINGS:
            settings.pop(other, None)
        return DetectionJob(card, dataset, class_map=None if class_map is None else dict(class_map), **settings)

    def has_labels(self, dataset: Dataset) -> bool:
        return bool(dataset.classes) and dataset.has_boxes

    # -- evaluation -----------------------------------------------------------------------
    def summarize(self, dataset: Dataset, predictions, **options: Any) -> dict[str, Any]:
        return summarize_detection(dataset, predictions, **options)

    def write_evaluation(self, dataset: Dataset, predictions, out_dir: str | Path, **options: Any) -> dict[str, Any]:
        summary = write_detection_evaluation(dataset, predictions, out_dir, **options)
        predictions.save(Path(out_dir) / "predictions.npz")
        return summary

    def headline(self, metrics: Mapping[str, Any]) -> str:
        return headline(metrics)

    # -- runs in the project store ----------------------------------------------------------
    def write_run(self, path: Path, predictions) -> Path:
        return predictions.save(path)

    def read_evaluation(self, out_dir: Path):
        return DetectionPredictions.load(Path(out_dir) / "predictions.npz")

    def load_run(self, path: Path, dataset: Dataset):
        return load(path, dataset)

    def summarize_run(self, project, predictions, *, original: bool, **options: Any) -> dict[str, Any]:
        return summarize(project, predictions, original=original, task=self, **options)

    def compare_runs(self, project, run_a, run_b, pred_a, pred_b):
        return compare(project, run_a, run_b, pred_a, pred_b)


class Detection(ObjectTask):
    """Object detection: any number of boxes per image, each with a class and a score."""

    name = "detection"
    title = "object detection"
    #: A localization dataset's one box per image is scored like any other box.
    accepts = ("detection", "instance_segmentation", "localization")


DETECTION = Detection()
