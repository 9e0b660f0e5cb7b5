"""The evaluation of a localization run: one box and the class scores per image.

ImageNet's localization criterion: an image is localized correctly when the predicted class (the best of its class
scores) is the image's class AND the predicted box overlaps a true box of that class at IoU 0.5 or more
(Russakovsky et al. 2015, top-1). Beside it: the classification accuracy, the mean IoU of the predicted box with
the best true box of the image's class, per class; and the numbers of a detection run (mAP, PR curves, confusion,
errors), the one box counted as a detection with the score of its class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import Dataset
from core.evaluation.detection import DetectionEvaluation, evaluate_detection
from core.evaluation.detection_files import summary_of, write_evaluation_files
from core.metrics import detection_analysis as da
from core.metrics import report_to_json
from core.metrics.boxes import box_iou

#: The IoU at which a predicted box localizes the object (ImageNet's criterion).
LOCALIZATION_IOU = 0.5


def predicted_class(predictions, index: int) -> int:
    """The class of an image: the best class score, or the class of the best box where there are no scores."""
    if predictions.class_scores is not None and np.isfinite(predictions.class_scores[index]).any():
        return int(np.nanargmax(predictions.class_scores[index]))
    labels = predictions.labels[index]
    return int(labels[0]) if len(labels) else -1


def image_class(dataset: Dataset, index: int, truth: da.Truth) -> int:
    """The class of an image: its label where the dataset has one, else the class of its first counted box."""
    if dataset.targets is not None and dataset.targets[index] >= 0:
        return int(dataset.targets[index])
    classes = da.truth_arrays(truth)[1][da.counted(truth)]
    return int(classes[0]) if len(classes) else -1


def localization_rows(dataset: Dataset, predictions, evaluation: DetectionEvaluation) -> dict[str, np.ndarray]:
    """Per evaluated image: true class, predicted class, IoU of the best box with the true class's boxes."""
    predictions = predictions.aligned(list(dataset.sample_ids))
    true, predicted, iou = [], [], []
    for k, i in enumerate(evaluation.images):
        truth = evaluation.truths[k]
        true.append(image_class(dataset, int(i), truth))
        predicted.append(predicted_class(predictions, int(i)))
        boxes, classes = da.truth_arrays(truth)[:2]
        mine = da.counted(truth) & (classes == true[-1])
        overlap = box_iou(predictions.boxes[i][:1], boxes[mine])
        iou.append(float(overlap.max()) if overlap.size else 0.0)
    return {"true": np.asarray(true, np.int64), "predicted": np.asarray(predicted, np.int64), "iou": np.asarray(iou)}


def _rates(rows: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, Any]:
    right = rows["true"][keep] == rows["predicted"][keep]
    located = rows["iou"][keep] >= LOCALIZATION_IOU
    n = int(keep.sum())
    mean = (lambda a: float(a.mean())) if n else (lambda a: float("nan"))
    return {"images": n, "accuracy": mean(right), "mean_iou": mean(rows["iou"][keep]), "correct": mean(right & located)}


def localization_numbers(dataset: Dataset, predictions, evaluation: DetectionEvaluation) -> dict[str, Any]:
    """Accuracy, mean IoU and "correct" (class right and IoU >= 0.5) overall and per true class."""
    rows = localization_rows(dataset, predictions, evaluation)
    labeled = rows["true"] >= 0
    numbers = {"iou_threshold": LOCALIZATION_IOU, **_rates(rows, labeled)}
    numbers["per_class"] = {name: _rates(rows, rows["true"] == c) for c, name in enumerate(evaluation.classes)}
    return numbers


def summarize_localization(
    dataset: Dataset, predictions, *, iou_threshold: float = 0.5, score_threshold: float | None = None, truth=None
) -> dict[str, Any]:
    """metrics.json of a localization run: the detection numbers with task "localization" and a
    ``"localization"`` entry (:func:`localization_numbers`)."""
    evaluation = evaluate_detection(
        dataset, predictions, iou_threshold=iou_threshold, score_threshold=score_threshold, truth=truth
    )
    return _summary(dataset, predictions, evaluation)


def _summary(dataset: Dataset, predictions, evaluation: DetectionEvaluation) -> dict[str, Any]:
    summary = summary_of(dataset, predictions, evaluation)
    summary["task"] = "localization"
    summary["localization"] = report_to_json(localization_numbers(dataset, predictions, evaluation))
    return summary


def write_localization_evaluation(
    dataset: Dataset,
    predictions,
    out_dir: str | Path,
    *,
    iou_threshold: float = 0.5,
    score_threshold: float | None = None,
    truth=None,
) -> dict[str, Any]:
    """metrics.json (:func:`summarize_localization`), detections.csv and per_image.csv, each atomically."""
    evaluation = evaluate_detection(
        dataset, predictions, iou_threshold=iou_threshold, score_threshold=score_threshold, truth=truth
    )
    summary = _summary(dataset, predictions, evaluation)
    write_evaluation_files(out_dir, summary, evaluation)
    return summary
