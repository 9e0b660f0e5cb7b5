"""Multiclass classification: exactly one of C classes per sample, the argmax of a softmax."""

from __future__ import annotations

from core.datasets.base import Dataset
from core.tasks.binary import BINARY
from core.tasks.classification import Classification


class Multiclass(Classification):
    name = "multiclass"
    title = "multiclass classification"
    views = ("Matrix", "Classes", "Confused pairs", "Curves", "Calibration", "Errors", "Analysis")

    def runs_on(self, dataset_task: str) -> bool:
        return dataset_task in ("binary", "multiclass")

    def for_dataset(self, dataset: Dataset) -> Classification:
        # a two-class softmax model on a binary set decides by a threshold, as a binary model does
        return BINARY if dataset.task == "binary" else self


MULTICLASS = Multiclass()
