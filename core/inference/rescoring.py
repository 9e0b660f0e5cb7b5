"""Re-scoring a segmentation run against changed true masks (a saved mask, an undo), without running the model.

Each sample's stored prediction is compared with its truth as it is now: its per-image confusion matrix is
replaced, so per-image scores and the dataset's totals (sums of those matrices) follow at once.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence

import numpy as np

from core.datasets.base import IGNORE_INDEX, Dataset, SampleError
from core.inference.mask_store import SegmentationPredictions
from core.metrics import pixel_confusion_matrix

__all__ = ["rescore", "rescore_sample", "sample_message", "truth_lookup"]


def sample_message(exc: Exception) -> str:
    """A sample's error in the user's words: a SampleError as it is, anything else with its type."""
    return str(exc) if isinstance(exc, SampleError) else f"{type(exc).__name__}: {exc}"


def truth_lookup(predictions: SegmentationPredictions, classes: Sequence[str]) -> np.ndarray | None:
    """The 256-entry table taking a dataset class to the run's (255 = ignored), from the run's class map;
    None when the dataset's classes are the run's."""
    class_map = (predictions.settings or {}).get("class_map")
    if not class_map:
        return None if list(classes) == list(predictions.classes) else _by_name(predictions.classes, classes)
    lookup = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for source, target in class_map.items():
        if source in classes and target in predictions.classes:
            lookup[list(classes).index(source)] = predictions.classes.index(target)
    return lookup


def _by_name(run_classes: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    lookup = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for k, name in enumerate(classes[:255]):
        if name in run_classes:
            lookup[k] = list(run_classes).index(name)
    return lookup


def rescore_sample(predictions: SegmentationPredictions, index: int, truth: np.ndarray | None, lookup=None) -> None:
    """Score sample ``index``'s stored prediction against a new true mask (the run is not re-run): its
    per-image confusion matrix is replaced, so per-image scores and dataset totals (sums) follow."""
    if not predictions.done[index]:
        return
    if truth is None:
        predictions.set_image_confusion(index, None)
        return
    try:
        mask = predictions.mask(index)
    except SampleError as exc:
        predictions.set_image_confusion(index, None, f"stored prediction: {exc}")
        return
    if truth.shape != mask.shape:
        h, w = mask.shape
        predictions.set_image_confusion(
            index, None, f"mask is {truth.shape[1]}x{truth.shape[0]} but the image is {w}x{h}"
        )
        return
    if lookup is not None:
        truth = lookup[np.clip(truth, 0, 255).astype(np.uint8)]
    dtype = np.uint8 if predictions.num_classes <= 255 else np.int64
    try:
        confusion = pixel_confusion_matrix(
            truth.astype(dtype, copy=False), mask.astype(dtype, copy=False), predictions.num_classes, IGNORE_INDEX
        )
    except (ValueError, TypeError) as exc:
        predictions.set_image_confusion(index, None, f"true mask: {exc}")
        return
    predictions.set_image_confusion(index, confusion)


def rescore(
    predictions: SegmentationPredictions, dataset: Dataset, indices: Sequence[int] | np.ndarray
) -> Generator[int, None, None]:
    """Re-score the given samples against ``dataset``'s true masks as they are now; yields after each
    sample (the count done), so a worker can report progress and stop between samples."""
    lookup = truth_lookup(predictions, dataset.classes)
    for done, index in enumerate(np.asarray(indices, dtype=np.int64).reshape(-1), start=1):
        try:
            truth = dataset.load_mask(int(index))
        except Exception as exc:  # an unreadable mask is the sample's error, as during the run
            predictions.set_image_confusion(int(index), None, f"true mask: {sample_message(exc)}")
        else:
            rescore_sample(predictions, int(index), truth, lookup)
        yield done
