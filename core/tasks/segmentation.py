"""Runs of segmenters: a predicted mask per image and every image's pixel confusion matrix.

Kept in the project store as one archive (``core/inference/mask_archive.py``) that loads without decoding a
mask; summarized from the stored confusion matrices (the true masks as they were when the model ran);
compared class by class (IoU and Dice of both runs) and image by image (which run has the higher mean IoU).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.datasets.base import Dataset
from core.evaluation.segmentation import summarize_segmentation, write_segmentation_evaluation
from core.evaluation.selection import Selection
from core.inference.class_map import segmenter_fit
from core.inference.mask_archive import load_archive, save_archive
from core.inference.mask_store import SegmentationPredictions
from core.inference.segmentation import SegmentationJob
from core.models.cards import ModelCard, ModelError
from core.tasks.base import Fit, Task, wrong_task
from core.tasks.comparison import CompareFilter, Row, side_by_side

if TYPE_CHECKING:
    from core.inference.mask_store import SegmentationPredictions
    from core.labels.project import Project
    from core.labels.runs import Run

TASKS = ("segmentation",)
#: The dataset-wide numbers compared first, in this order.
OVERALL = {
    "mean_iou": "mean IoU",
    "mean_dice": "mean Dice",
    "pixel_accuracy": "pixel accuracy",
    "mean_accuracy": "mean class accuracy",
    "fw_iou": "frequency-weighted IoU",
}
#: The per-image score that decides which run does better on an image (higher is better).
PER_IMAGE = ("mean_iou", "mean IoU")
#: Differences of per-image scores smaller than this are ties (both runs predicted the same pixels).
TIE = 1e-9


def write(path: Path, predictions: SegmentationPredictions) -> Path:
    """One archive: masks, probabilities and confusion matrices (temp file + rename)."""
    return save_archive(predictions, path)


def load(path: Path, sample_ids: list[str]) -> SegmentationPredictions:
    """The saved run aligned to ``sample_ids``; its masks stay in the archive until shown."""
    return load_archive(path, sample_ids)


def summarize(project: Project, predictions: SegmentationPredictions, *, original: bool, **_: Any) -> dict[str, Any]:
    """The segmentation report of ``summarize_segmentation``, from the confusion matrices the run recorded."""
    summary = summarize_segmentation(project.dataset, predictions)
    summary["labels"] = "as run"
    return summary


def metric_rows(summary: dict[str, Any]) -> dict[str, float | None]:
    """The dataset-wide numbers, then "IoU · <class>" and "Dice · <class>" for every class."""
    out: dict[str, float | None] = {name: summary.get(key) for key, name in OVERALL.items()}
    per_class = summary.get("per_class", {})
    for measure in ("iou", "dice"):
        label = "IoU" if measure == "iou" else "Dice"
        out.update({f"{label} · {name}": values.get(measure) for name, values in per_class.items()})
    return out


@dataclass(frozen=True)
class SegmentationComparison:
    """Two segmentation runs: per-class IoU/Dice side by side, and the images where one does better."""

    run_a: Run
    run_b: Run
    rows: list[Row]
    #: Per image, the score of A minus that of B (NaN where either run has no score for it).
    delta: np.ndarray
    better_in_a: np.ndarray  # the largest gain first
    worse_in_a: np.ndarray  # the largest loss first
    tied: np.ndarray

    def filters(self) -> tuple[CompareFilter, CompareFilter]:
        """Better in A; worse in A (by the per-image mean IoU), the largest difference first."""
        a, b, score = f"#{self.run_a.id}", f"#{self.run_b.id}", PER_IMAGE[1]
        return (
            CompareFilter(
                "Better in A",
                f"Show in the browser the images with a higher {score} in run A than in run B, the largest gain first",
                Selection.of(f"better in {a} than {b} ({score})", self.better_in_a, ordered=True),
            ),
            CompareFilter(
                "Worse in A",
                f"Show in the browser the images with a lower {score} in run A than in run B, the largest loss first",
                Selection.of(f"worse in {a} than {b} ({score})", self.worse_in_a, ordered=True),
            ),
        )

    def status(self) -> str:
        total = len(self.better_in_a) + len(self.worse_in_a) + len(self.tied)
        return (
            f"{PER_IMAGE[1]} per image: better in A on {len(self.better_in_a):,} · worse in A on "
            f"{len(self.worse_in_a):,} · the same on {len(self.tied):,} of {total:,} images scored by both"
        )


def compare(
    project: Project, run_a: Run, run_b: Run, pred_a: SegmentationPredictions, pred_b: SegmentationPredictions
) -> SegmentationComparison:
    """Both runs' IoU and Dice per class and overall, and per image which run scores higher."""
    rows = side_by_side(
        metric_rows(summarize(project, pred_a, original=False)), metric_rows(summarize(project, pred_b, original=False))
    )
    key = PER_IMAGE[0]
    delta = pred_a.per_image_scores()[key] - pred_b.per_image_scores()[key]
    scored = np.flatnonzero(~np.isnan(delta))
    gain = scored[np.argsort(-delta[scored], kind="stable")]
    return SegmentationComparison(
        run_a,
        run_b,
        rows,
        delta=delta,
        better_in_a=gain[delta[gain] > TIE],
        worse_in_a=gain[::-1][delta[gain[::-1]] < -TIE],
        tied=scored[np.abs(delta[scored]) <= TIE],
    )


def headline(metrics: dict[str, Any]) -> str:
    """The one number a run's title shows: "mean IoU 61.2%"."""
    value = metrics.get("mean_iou")
    return f"mean IoU {value:.1%}" if isinstance(value, (int, float)) else ""


class Segmentation(Task):
    """Semantic segmentation: a class per pixel; a run keeps a mask and class probabilities per image."""

    name = "segmentation"
    title = "semantic segmentation"
    per_pixel = True
    views = ("Pixels", "Images", "Label quality", "Analysis")
    outputs = ("per_image.csv", "masks/")
    run_format = "masks"
    scored_by = "a prediction and a true mask"

    # -- models and data ------------------------------------------------------------------
    def fit(self, card: ModelCard, dataset: Dataset, class_map: Mapping[str, str] | None = None) -> Fit:
        if dataset.task != self.name or card.task != self.name:
            return wrong_task(card, dataset)
        return segmenter_fit(card, dataset, class_map)

    def job(self, card: ModelCard, dataset: Dataset, *, class_map: Mapping[str, str] | None = None, **settings):
        fit = self.fit(card, dataset, class_map)
        if not fit.fits:
            raise ModelError(fit.reason)
        for classifier_only in ("amp", "compile", "jpeg_decode"):  # speed settings a segmenter has no use for
            settings.pop(classifier_only, None)
        return SegmentationJob(card, dataset, class_map=None if class_map is None else dict(class_map), **settings)

    def has_labels(self, dataset: Dataset) -> bool:
        return bool(dataset.classes)

    # -- evaluation -----------------------------------------------------------------------
    def summarize(self, dataset: Dataset, predictions, **_: Any) -> dict[str, Any]:
        return summarize_segmentation(dataset, predictions)

    def write_evaluation(self, dataset: Dataset, predictions, out_dir: str | Path, **_: Any) -> dict[str, Any]:
        return write_segmentation_evaluation(dataset, predictions, out_dir)

    def headline(self, metrics: Mapping[str, Any]) -> str:
        return headline(metrics)

    # -- runs in the project store ----------------------------------------------------------
    def write_run(self, path: Path, predictions) -> Path:
        return write(path, predictions)

    def read_evaluation(self, out_dir: Path):
        return SegmentationPredictions.load(Path(out_dir) / "masks")  # the run folder evaluate fills

    def load_run(self, path: Path, dataset: Dataset):
        return load(path, dataset.sample_ids)  # a segmentation run keeps its own classes and truth

    def summarize_run(self, project, predictions, *, original: bool, **options: Any) -> dict[str, Any]:
        return summarize(project, predictions, original=original, **options)

    def compare_runs(self, project, run_a, run_b, pred_a, pred_b):
        return compare(project, run_a, run_b, pred_a, pred_b)


SEGMENTATION = Segmentation()
