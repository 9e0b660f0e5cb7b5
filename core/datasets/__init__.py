"""Datasets where they lie on disk, behind one Dataset/Sample interface."""

from core.datasets.base import BOX_TASKS, IGNORE_INDEX, TASKS, UNLABELED, Dataset, DatasetError, Sample, SampleError
from core.datasets.registry import find_layout, layouts, open_dataset

__all__ = [
    "BOX_TASKS",
    "IGNORE_INDEX",
    "TASKS",
    "UNLABELED",
    "Dataset",
    "DatasetError",
    "Sample",
    "SampleError",
    "find_layout",
    "layouts",
    "open_dataset",
]
