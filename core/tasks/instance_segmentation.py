"""Runs of instance segmenters (Mask R-CNN): a box, a class, a score and a mask per object.

A run is a detection run whose ``DetectionPredictions`` keep a mask per box (COCO run-length encodings);
scored with COCO's mask IoU (``iou_type="segm"``) on datasets with instance masks, and by its boxes alone on
a detection dataset (the run is then a detection run, as a two-class softmax model on a binary set is binary).
"""

from __future__ import annotations

from typing import Any

from core.datasets.base import Dataset
from core.tasks.base import Task
from core.tasks.detection import DETECTION, ObjectTask


class InstanceSegmentation(ObjectTask):
    """Instance segmentation: every object's own mask, with its box, class and score."""

    name = "instance_segmentation"
    title = "instance segmentation"
    accepts = ("instance_segmentation", "detection")
    scored_by = "predicted masks and true instance masks"

    def for_dataset(self, dataset: Dataset) -> Task:
        """Boxes only on a dataset without instance masks: a detection run."""
        return self if dataset.task == self.name else DETECTION

    def summarize(self, dataset: Dataset, predictions, **options: Any) -> dict[str, Any]:
        options.setdefault("iou_type", "segm" if dataset.task == self.name else "bbox")
        return super().summarize(dataset, predictions, **options)

    def write_evaluation(self, dataset: Dataset, predictions, out_dir, **options: Any) -> dict[str, Any]:
        options.setdefault("iou_type", "segm" if dataset.task == self.name else "bbox")
        return super().write_evaluation(dataset, predictions, out_dir, **options)


INSTANCE_SEGMENTATION = InstanceSegmentation()
