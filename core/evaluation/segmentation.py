"""The outputs of a segmentation evaluation: what `python main.py evaluate` writes for a segmenter.

``metrics.json`` holds the dataset's pixel confusion matrix and its segmentation report (per-class
IoU, Dice, accuracy, precision, pixels; pixel accuracy, mean class accuracy, mean IoU, mean Dice,
frequency-weighted IoU), with absent classes as null and named; ``per_image.csv`` the per-image
scores, worst mean IoU first; the predicted masks stay in the run folder (``masks/``), which the
GUI opens like any run.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import Dataset
from core.evaluation.classification import json_text, text_bytes
from core.metrics import report_to_json
from core.system.files import write_atomic


def summarize_segmentation(dataset: Dataset, predictions) -> dict[str, Any]:
    """Everything the metrics view shows for a segmentation run, JSON-ready (NaN -> null)."""
    report = predictions.report()
    classes = list(predictions.classes)
    summary: dict[str, Any] = {
        "dataset": str(dataset.root),
        "layout": dataset.layout,
        "split": dataset.split,
        "task": "segmentation",
        "classes": classes,
        "model": predictions.model,
        "device": predictions.device,
        "samples": len(dataset),
        "predicted": predictions.num_done,
        "evaluated": int(predictions.has_truth.sum()),
        "failed": len(predictions.errors),
        "failures": [{"sample_id": dataset.sample_ids[i], "error": e} for i, e in sorted(predictions.errors.items())],
        "mask_errors": [
            {"sample_id": dataset.sample_ids[i], "error": e} for i, e in sorted(predictions.mask_errors.items())
        ],
        "settings": predictions.settings,
        "confusion_matrix": predictions.confusion().tolist(),
        "absent_classes": [name for name, present in zip(classes, report["present"]) if not present],
        "per_class": {
            name: {key: report[key][c] for key in ("iou", "dice", "accuracy", "precision", "support")}
            for c, name in enumerate(classes)
        },
    }
    for key in ("pixel_accuracy", "mean_accuracy", "mean_iou", "mean_dice", "fw_iou"):
        summary[key] = report[key]
    return report_to_json(summary)


def per_image_rows(dataset: Dataset, predictions) -> list[list[Any]]:
    """per_image.csv: one row per image with a true mask, the worst mean IoU first."""
    scores = predictions.per_image_scores()
    header = ["sample_id", "mean_iou", "mean_dice", "pixel_accuracy"]
    indices = np.flatnonzero(predictions.has_truth)
    order = indices[np.argsort(scores["mean_iou"][indices], kind="stable")]
    rows: list[list[Any]] = [header]
    for i in order:
        rows.append([dataset.sample_ids[i], *(f"{scores[k][i]:.6f}" for k in header[1:])])
    return rows


def write_segmentation_evaluation(dataset: Dataset, predictions, out_dir: str | Path) -> dict[str, Any]:
    """Write metrics.json and per_image.csv into ``out_dir`` (each atomically); the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize_segmentation(dataset, predictions)
    write_atomic(out / "metrics.json", text_bytes(json_text(summary)))
    buffer = io.StringIO()
    csv.writer(buffer).writerows(per_image_rows(dataset, predictions))
    write_atomic(out / "per_image.csv", text_bytes(buffer.getvalue()))
    return summary
