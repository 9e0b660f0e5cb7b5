"""Runs of localizers: one box and the class scores per image (classification + localization).

A run keeps one box per image with the class scores of the image (``DetectionPredictions.class_scores``).
It is scored as the lecture (and ImageNet's localization challenge) defines it: an image is right when the
class is right and the box overlaps the true box with IoU >= 0.5; the class accuracy and the mean IoU are
reported beside it, and COCO's numbers of the one-box detections too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.datasets.base import Dataset
from core.evaluation.localization import summarize_localization, write_localization_evaluation
from core.tasks.detection import ObjectTask


def headline(metrics) -> str:
    """ "localized 87.0%": class right and IoU >= 0.5."""
    value = (metrics.get("localization") or {}).get("correct")
    return f"localized {value:.1%}" if isinstance(value, (int, float)) else ""


class Localization(ObjectTask):
    """Classification + localization: the class of the one object of an image, and its box."""

    name = "localization"
    title = "classification + localization"
    accepts = ("localization",)
    scored_by = "a predicted box and class, and the true box"
    views = ("Detection", "Per image")

    def summarize(self, dataset: Dataset, predictions, **options: Any) -> dict[str, Any]:
        return summarize_localization(dataset, predictions, **options)

    def write_evaluation(self, dataset: Dataset, predictions, out_dir: str | Path, **options: Any) -> dict[str, Any]:
        summary = write_localization_evaluation(dataset, predictions, out_dir, **options)
        predictions.save(Path(out_dir) / "predictions.npz")
        return summary

    def headline(self, metrics) -> str:
        return headline(metrics)


LOCALIZATION = Localization()
