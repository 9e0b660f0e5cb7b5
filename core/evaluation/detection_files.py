"""The files of a detection evaluation: metrics.json (:func:`summary_of`, see docs/detection-metrics.md), and
detections.csv and per_image.csv (:func:`detection_rows`, :func:`per_image`), from one
:class:`~core.evaluation.detection.DetectionEvaluation`.

:func:`summarize_detection` is the metrics.json dict of a run (what the metrics views show);
:func:`write_detection_evaluation` evaluates a run and writes the three files, each atomically (what
`python main.py evaluate` writes for a detector).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import Dataset
from core.evaluation.classification import json_text, text_bytes
from core.evaluation.detection import DetectionEvaluation, evaluate_detection
from core.metrics import detection_analysis as da
from core.metrics import detection_errors as de
from core.metrics import report_to_json
from core.metrics.boxes import FN, IGNORED, TP
from core.metrics.detection import detection_report
from core.system.files import write_atomic

CONVENTION = (
    "Boxes x0,y0,x1,y1 in pixels; COCOeval's greedy matching (crowd regions and VOC's difficult objects ignored). "
    "mAP family: COCO (101-point interpolation, IoU 0.5:0.95, 100 detections per image). pr_curves: IoU 0.5, every "
    "score. confusion: rows truth, columns predicted; same-class matches first, then leftovers paired by IoU whatever "
    "the class; last row = false detections on background, last column = missed objects. errors: TIDE (Bolya et al. "
    "2020), t_f = iou_threshold, t_b = 0.1, counts at score_threshold; delta_map = mAP@0.5 gained with TIDE's oracle "
    "fix, over every detection."
)
SEGM_CONVENTION = (
    " iou_type segm: every IoU (mAP family, matching, PR curves, confusion, errors, per image) is COCO's mask IoU "
    "on run-length encodings (a crowd region's union is the detection's own area); object areas are the masks' "
    "pixel counts unless the reader gives COCO's annotation area; boxes in detections.csv are the detections' "
    "and the objects' boxes."
)
_REPORT_KEYS = (
    "map", "map_50", "map_75", "map_small", "map_medium", "map_large", "mar_1", "mar_10", "mar_100",
    "mar_small", "mar_medium", "mar_large",
)  # fmt: skip


# -- metrics.json -----------------------------------------------------------------------------------------------
def _per_class(values, classes: list[str]) -> dict[str, float]:
    """A per-class value of the report as {class: value} (a report may give a sequence or a dict)."""
    if isinstance(values, Mapping):
        return {str(classes[k]) if isinstance(k, (int, np.integer)) else str(k): v for k, v in values.items()}
    return dict(zip(classes, np.asarray(values, dtype=np.float64).tolist()))


def _class_numbers(classes: list[str], matrix: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per class at the operating point (from the confusion ``matrix``): objects, detections, TP, FP, FN,
    precision, recall, F1."""
    out = {}
    for c, name in enumerate(classes):
        tp, objects, detections = int(matrix[c, c]), int(matrix[c].sum()), int(matrix[:, c].sum())
        precision = tp / detections if detections else float("nan")
        recall = tp / objects if objects else float("nan")
        f1 = 2 * tp / (objects + detections) if objects + detections else float("nan")
        out[name] = {"objects": objects, "detections": detections, "tp": tp, "fp": detections - tp}
        out[name].update({"fn": objects - tp, "precision": precision, "recall": recall, "f1": f1})
    return out


def _error_numbers(evaluation: DetectionEvaluation, base_map_50: float) -> dict[str, Any]:
    counts = evaluation.counts()
    all_scores = [
        de.image_errors(t, d, matched=m)
        for t, d, m in zip(evaluation.truths, evaluation.detections, evaluation.matches_50)
    ]
    deltas = de.error_delta_map(
        evaluation.truths, evaluation.detections, all_scores, evaluation.num_classes, base=base_map_50
    )
    return {
        "iou_threshold": evaluation.iou_threshold,
        "background_iou": de.BACKGROUND_IOU,
        "score_threshold": evaluation.score_threshold,
        "counts": {kind: int(counts[kind].sum()) for kind in de.ERROR_KINDS},
        "delta_map_iou": de.FOREGROUND_IOU,
        "delta_map": deltas,
    }


def _run_facts(dataset: Dataset, predictions, evaluation: DetectionEvaluation) -> dict[str, Any]:
    failures = {**predictions.aligned(list(dataset.sample_ids)).errors, **evaluation.failures}
    return {
        "dataset": str(dataset.root),
        "layout": dataset.layout,
        "split": dataset.split,
        "model": predictions.model,
        "device": predictions.device,
        "samples": len(dataset),
        "predicted": int(np.sum(predictions.done)),
        "evaluated": len(evaluation.images),
        "failed": len(failures),
        "failures": [{"sample_id": dataset.sample_ids[i], "error": e} for i, e in sorted(failures.items())],
    }


def summary_of(dataset: Dataset, predictions, evaluation: DetectionEvaluation) -> dict[str, Any]:
    """metrics.json of an evaluated run (see docs/detection-metrics.md), JSON-ready (NaN -> null)."""
    classes = evaluation.classes
    report = detection_report(
        evaluation.truths, _report_detections(evaluation), evaluation.num_classes, iou_type=evaluation.iou_type
    )
    curves = da.class_pr_curves(
        evaluation.truths, evaluation.detections, evaluation.num_classes, de.FOREGROUND_IOU, evaluation.matches_50
    )
    counted = sum(int(da.counted(t).sum()) for t in evaluation.truths)
    matrix = evaluation.confusion_matrix()
    summary: dict[str, Any] = {
        "task": "detection",
        "classes": classes,
        "iou_type": evaluation.iou_type,
        **_run_facts(dataset, predictions, evaluation),
        "num_images": len(evaluation.images),
        "num_objects": counted,
        "num_detections": int(sum(len(d[1]) for d in evaluation.detections)),
        **{key: report[key] for key in _REPORT_KEYS if key in report},
        "ap": _per_class(report["ap"], classes),
        "ap_50": _per_class(report["ap_50"], classes),
        "pr_curves": {name: da.thin_curve(curve) for name, curve in zip(classes, curves)},
        "iou_threshold": evaluation.iou_threshold,
        "score_threshold": evaluation.score_threshold,
        "per_class": _class_numbers(classes, matrix),
        "confusion": {
            "iou_threshold": evaluation.iou_threshold,
            "score_threshold": evaluation.score_threshold,
            "labels": [*classes, "background"],
            "matrix": matrix,
        },
        "errors": _error_numbers(evaluation, float(report["map_50"])),
        "convention": CONVENTION + (SEGM_CONVENTION if evaluation.iou_type == "segm" else ""),
    }
    return report_to_json(summary)


def _report_detections(evaluation: DetectionEvaluation) -> list[tuple]:
    """detection_report's predictions: (boxes, scores, classes), and the masks' RLEs for segm."""
    if evaluation.masks is None:
        return evaluation.detections
    return [(*detections, masks) for detections, masks in zip(evaluation.detections, evaluation.masks)]


def summarize_detection(
    dataset: Dataset,
    predictions,
    *,
    iou_threshold: float = 0.5,
    score_threshold: float | None = None,
    truth=None,
    iou_type: str = "bbox",
) -> dict[str, Any]:
    """Everything the metrics views show for a detection run: the metrics.json dict (docs/detection-metrics.md).

    ``score_threshold`` None takes the best-F1 score (every class pooled, IoU 0.5); ``truth`` overrides the
    dataset's boxes (edited ones); ``iou_type="segm"`` scores masks: see :func:`evaluate_detection`."""
    evaluation = evaluate_detection(
        dataset, predictions, iou_threshold=iou_threshold, score_threshold=score_threshold, truth=truth,
        iou_type=iou_type,
    )  # fmt: skip
    return summary_of(dataset, predictions, evaluation)


# -- the CSV files ------------------------------------------------------------------------------------------------
DETECTIONS_HEADER = ["sample_id", "x0", "y0", "x1", "y1", "score", "class", "match"]
PER_IMAGE_HEADER = ["sample_id", "tp", "fp", "fn", "objects", "detections", *de.ERROR_KINDS]


def _number(value: float) -> str:
    """Nine significant digits: a float32 reads back exactly."""
    return f"{float(value):.9g}"


def detection_rows(evaluation: DetectionEvaluation) -> list[list[str]]:
    """detections.csv: per evaluated image (dataset order) its detections at the operating point (match TP,
    FP:<kind> or IGNORED: matched to a crowd region or an ignored object), then its missed objects (FN, the
    object's box and class, no score)."""
    rows = [DETECTIONS_HEADER]
    for k, sample in enumerate(evaluation.images):
        sid, image = evaluation.sample_ids[sample], evaluation.errors[k]
        boxes, scores, classes = evaluation.operating(k)
        for d in range(len(scores)):
            status = image.match.pred_status[d]
            match = (
                "TP"
                if status == TP
                else "IGNORED"
                if status == IGNORED
                else f"FP:{de.ERROR_KINDS[image.pred_error[d]]}"
            )
            rows.append([sid, *map(_number, boxes[d]), _number(scores[d]), evaluation.classes[classes[d]], match])
        truth_boxes, truth_classes = da.truth_arrays(evaluation.truths[k])[:2]
        for j in np.flatnonzero(image.match.truth_status == FN):
            rows.append([sid, *map(_number, truth_boxes[j]), "", evaluation.classes[truth_classes[j]], "FN"])
    return rows


def per_image(evaluation: DetectionEvaluation) -> list[list[Any]]:
    """per_image.csv: one row per evaluated image, most FP + FN first, then most FN: TP, FP, FN, the counted
    objects and detections at the operating point, and each TIDE kind."""
    counts = evaluation.counts()
    rows: list[list[Any]] = [PER_IMAGE_HEADER]
    for k in evaluation.worst_order():
        tp, fp, fn = (int(counts[key][k]) for key in ("tp", "fp", "fn"))
        kinds = [int(counts[kind][k]) for kind in de.ERROR_KINDS]
        rows.append([evaluation.sample_ids[evaluation.images[k]], tp, fp, fn, tp + fn, tp + fp, *kinds])
    return rows


def _csv_bytes(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return text_bytes(buffer.getvalue())


def write_evaluation_files(out_dir: str | Path, summary: dict, evaluation: DetectionEvaluation) -> None:
    """metrics.json, detections.csv and per_image.csv into ``out_dir``, each atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "detections.csv", _csv_bytes(detection_rows(evaluation)))
    write_atomic(out / "per_image.csv", _csv_bytes(per_image(evaluation)))
    # Last: a folder with this metrics.json holds the CSV files of the same evaluation.
    write_atomic(out / "metrics.json", text_bytes(json_text(summary, allow_nan=False)))


def write_detection_evaluation(
    dataset: Dataset,
    predictions,
    out_dir: str | Path,
    *,
    iou_threshold: float = 0.5,
    score_threshold: float | None = None,
    truth=None,
    iou_type: str = "bbox",
) -> dict[str, Any]:
    """Write metrics.json, detections.csv and per_image.csv into ``out_dir`` (each atomically); the summary.
    ``iou_type="segm"``: every number with the mask IoU (see :func:`evaluate_detection`)."""
    evaluation = evaluate_detection(
        dataset, predictions, iou_threshold=iou_threshold, score_threshold=score_threshold, truth=truth,
        iou_type=iou_type,
    )  # fmt: skip
    summary = summary_of(dataset, predictions, evaluation)
    write_evaluation_files(out_dir, summary, evaluation)
    return summary
