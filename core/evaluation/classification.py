"""One evaluation: labels + predictions -> the numbers the metrics view shows and `evaluate` writes.

The GUI and ``python main.py evaluate`` both call these functions, so the window and the files on
disk always agree. The work is split in two halves:

- :func:`decision_report` depends on the decisions (threshold, beta): the confusion matrix and
  precision / recall / F-beta per class and averaged. Cheap: the metrics view recomputes it while
  the user drags a threshold.
- :func:`score_report` depends on the scores only: average precision and ROC AUC per class (one vs
  rest) or per label, top-k accuracy, calibration. A sort per class: computed once per run.

:func:`summarize` joins both with the facts of the run, JSON-ready (NaN -> null).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import Dataset
from core.evaluation.decisions import Threshold, predicted_classes, predicted_tags
from core.inference.predictions import Predictions
from core.metrics import (
    average_precision,
    best_fbeta_threshold,
    classification_report,
    confidence_and_correct,
    confusion_matrix,
    expected_calibration_error,
    one_vs_rest_report,
    reliability_bins,
    report_to_json,
    roc_auc,
    top_k_accuracy,
)
from core.metrics._common import nanmean, safe_divide, zero_division_name
from core.metrics.multilabel import label_metrics
from core.system.files import write_atomic

RELIABILITY_BINS = 15
#: Top-k accuracies reported for multiclass tasks (those k below the number of classes).
TOP_K = (1, 3, 5)


def truth_is_tags(dataset: Dataset) -> bool:
    """A multilabel set: each sample's truth is a row of ``dataset.tags`` (any number of labels), not one class.

    The one place the classification evaluation asks the task (``core.tasks`` owns the rest of what differs)."""
    return dataset.task == "multilabel"


def decides_by_threshold(dataset: Dataset) -> bool:
    """Binary and multilabel sets decide by a threshold on the scores (multiclass takes the argmax)."""
    return dataset.task == "binary" or truth_is_tags(dataset)


def snap_threshold(threshold: Threshold) -> Threshold:
    """The threshold rounded to float32 (kept as float64 / a float64 array).

    Scores are float32 and ``core.evaluation.decisions`` compares in float32; a threshold that is a float32 value
    gives the same decisions whether a comparison happens in float32 or float64.
    """
    if threshold is None:
        return None
    value = np.asarray(threshold, dtype=np.float32).astype(np.float64)
    return float(value) if value.ndim == 0 else value


def labeled_pairs(
    dataset: Dataset, predictions: Predictions, threshold: Threshold = None
) -> tuple[np.ndarray, np.ndarray]:
    """(y_true, y_pred) over the whole dataset, -1 where a label or a prediction is missing.

    ``threshold`` decides binary tasks (score of class 1 >= threshold); None takes the argmax."""
    if dataset.targets is None:
        y_true = np.full(len(dataset), -1, dtype=np.int64)
    else:
        y_true = dataset.targets
    return y_true, predicted_classes(predictions, snap_threshold(threshold))


def decided_tags(
    dataset: Dataset, predictions: Predictions, threshold: Threshold = None
) -> tuple[np.ndarray, np.ndarray]:
    """(true, predicted) labels of a multilabel task as N' x L bool, over the predicted samples only."""
    done = predictions.done.copy()  # one snapshot: a running job fills it on its own thread
    limit = 0.5 if threshold is None else snap_threshold(threshold)
    return dataset.tags[done].astype(bool), predicted_tags(predictions, limit)[done].astype(bool)


def multilabel_decisions(
    y_true: np.ndarray, y_pred: np.ndarray, beta: float = 1.0, zero_division: float | str = 0
) -> dict[str, Any]:
    """``core.metrics.multilabel_report`` from the decisions alone, without "average_precision".

    The same keys and values (the tests compare them), without the sort per label that average
    precision needs, so that a dragged threshold is followed for 100,000 samples.
    """
    y_true, y_pred = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    both = (y_true & y_pred).view(np.uint8)
    true, pred = y_true.view(np.uint8), y_pred.view(np.uint8)
    tp, n_true, n_pred = (a.sum(axis=0, dtype=np.int64) for a in (both, true, pred))
    fp, fn = n_pred - tp, n_true - tp
    tn = len(y_true) - tp - fp - fn
    tp_i, true_i, pred_i = (a.sum(axis=1, dtype=np.int64) for a in (both, true, pred))
    return {
        **label_metrics((tp, fp, fn), (tp_i, pred_i - tp_i, true_i - tp_i), beta, zero_division),
        "confusion": np.stack([np.stack([tn, fp], -1), np.stack([fn, tp], -1)], -2),
        "hamming_loss": float(safe_divide(fp.sum() + fn.sum(), y_true.size)),
        "subset_accuracy": float(safe_divide(np.count_nonzero((tp_i == true_i) & (tp_i == pred_i)), len(y_true))),
    }


def decision_report(
    dataset: Dataset,
    predictions: Predictions,
    threshold: Threshold = None,
    beta: float = 1.0,
    zero_division: float | str = 0,
) -> dict[str, Any]:
    """What the decisions achieve: {"evaluated", "report"} and, for single-label tasks, "counts" (C x C).

    "report" is ``classification_report`` (binary, multiclass) or :func:`multilabel_decisions` plus the
    per-label "threshold" (multilabel); ``zero_division`` is theirs (what an undefined 0/0 value counts as)."""
    if truth_is_tags(dataset):
        y_true, y_pred = decided_tags(dataset, predictions, threshold)
        report = multilabel_decisions(y_true, y_pred, beta, zero_division)
        report["threshold"] = np.broadcast_to(
            0.5 if threshold is None else snap_threshold(threshold), len(dataset.classes)
        )
        return {"evaluated": len(y_true), "report": report}
    counts = confusion_matrix(*labeled_pairs(dataset, predictions, threshold), num_classes=len(dataset.classes))
    return {
        "evaluated": int(counts.sum()),
        "counts": counts,
        "report": classification_report(counts, beta, zero_division),
    }


def scored_rows(dataset: Dataset, predictions: Predictions) -> np.ndarray:
    """Indices of the samples with a prediction and (single-label tasks) a label."""
    done = predictions.done.copy()
    if not truth_is_tags(dataset):
        done &= dataset.targets >= 0 if dataset.targets is not None else False
    return np.flatnonzero(done)


def _binary_calibration(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Confidence and correctness of one label's decision at 0.5 (present vs absent)."""
    return confidence_and_correct(y.astype(np.int64), np.stack([1.0 - p, p], axis=1))


def calibration_inputs(
    dataset: Dataset, predictions: Predictions, label: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, confidence, correct) behind a reliability diagram: the top-1 decision (single-label), or
    label ``label``'s present/absent decision at 0.5 (multilabel), over :func:`scored_rows`."""
    rows = scored_rows(dataset, predictions)
    if truth_is_tags(dataset):
        p = predictions.scores[rows, label].astype(np.float64)
        return rows, *_binary_calibration(dataset.tags[rows, label], p)
    return rows, *confidence_and_correct(dataset.targets[rows], predictions.scores[rows])


def _multilabel_scores(y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:

    labels = range(y.shape[1])
    calibration = [_binary_calibration(y[:, j], scores[:, j].astype(np.float64)) for j in labels]
    return {
        "average_precision": np.array([average_precision(y[:, j], scores[:, j]) for j in labels]),
        "roc_auc": np.array([roc_auc(y[:, j], scores[:, j]) for j in labels]),
        "expected_calibration_error": np.array([expected_calibration_error(*c, RELIABILITY_BINS) for c in calibration]),
        "reliability": [reliability_bins(*c, RELIABILITY_BINS) for c in calibration],
    }


def _single_label_scores(binary: bool, y: np.ndarray, scores: np.ndarray, beta: float) -> dict[str, Any]:

    ovr = one_vs_rest_report(y, scores, beta=beta)
    confidence, correct = confidence_and_correct(y, scores)
    out = {
        "average_precision": ovr["average_precision"],
        "roc_auc": ovr["roc_auc"],
        "expected_calibration_error": expected_calibration_error(confidence, correct, RELIABILITY_BINS),
        "reliability": reliability_bins(confidence, correct, RELIABILITY_BINS),
    }
    if not binary:
        out["top_k_accuracy"] = {k: top_k_accuracy(y, scores, k) for k in TOP_K if k < scores.shape[1]}
    if binary and scores.shape[1] == 2:
        out["best_threshold"] = best_fbeta_threshold(y == 1, scores[:, 1], beta)._asdict()
    return out


def score_report(dataset: Dataset, predictions: Predictions, beta: float = 1.0) -> dict[str, Any]:
    """The threshold-free numbers: "average_precision" and "roc_auc" per class (one vs rest) or per label,
    "mean_average_precision", "macro_roc_auc", "expected_calibration_error" and "reliability" (bins of
    ``reliability_bins``; per label for multilabel), "top_k_accuracy" {k: value} (multiclass) and
    "best_threshold" (binary: the class-1 threshold with the best F-beta). Only ``best_threshold``
    depends on ``beta``."""
    rows = scored_rows(dataset, predictions)
    scores = predictions.scores[rows]
    if truth_is_tags(dataset):
        out = _multilabel_scores(dataset.tags[rows].astype(bool), scores)
    else:
        out = _single_label_scores(decides_by_threshold(dataset), dataset.targets[rows], scores, beta)  # binary
    out["mean_average_precision"] = nanmean(out["average_precision"])
    out["macro_roc_auc"] = nanmean(out["roc_auc"])
    return out


def _run_facts(
    dataset: Dataset, predictions: Predictions, beta: float, threshold: Threshold, zero_division: float | str
) -> dict[str, Any]:
    return {
        "dataset": str(dataset.root),
        "layout": dataset.layout,
        "split": dataset.split,
        "task": dataset.task,
        "classes": list(dataset.classes),
        "model": predictions.model,
        "device": predictions.device,
        "samples": len(dataset),
        "predicted": predictions.num_done,
        "failed": len(predictions.errors),
        "failures": [{"sample_id": dataset.sample_ids[i], "error": e} for i, e in sorted(predictions.errors.items())],
        "beta": beta,
        "threshold": snap_threshold(threshold) if decides_by_threshold(dataset) else None,
        "zero_division": zero_division_name(zero_division),
    }


def has_labels(dataset: Dataset) -> bool:
    """Whether any sample has a truth to score against (a folder of unlabeled images has none)."""
    if truth_is_tags(dataset):
        return dataset.tags is not None and bool(dataset.classes)
    return bool(dataset.classes) and dataset.targets is not None and bool((dataset.targets >= 0).any())


def summarize(
    dataset: Dataset,
    predictions: Predictions,
    beta: float = 1.0,
    threshold: Threshold = None,
    zero_division: float | str = 0,
) -> dict[str, Any]:
    """Everything known about how the predictions match the labels, JSON-ready (NaN -> null).

    Single-label: "confusion_matrix", "per_class" {name: precision, recall, fbeta, support}, "accuracy",
    the "macro" / "micro" / "weighted" averages and "absent_classes" (in neither truth nor predictions:
    left out of the averages); multilabel: the keys of ``multilabel_report``. "labeled": false and
    "evaluated": 0 (and nothing scored) when the dataset has no labels. Both: the keys of
    :func:`score_report`, "beta", "threshold" (binary: a number or null for the argmax; multilabel: one
    per label) and "zero_division": "0", "1" or "nan", what an undefined (0/0) precision, recall or
    F-score counted as in the averages ("nan": left out)."""
    base = _run_facts(dataset, predictions, beta, threshold, zero_division)
    base["labeled"] = has_labels(dataset)
    if not base["labeled"]:  # unlabeled data is a real use: the predictions are the result
        return report_to_json({**base, "evaluated": 0})
    decisions = decision_report(dataset, predictions, threshold, beta, zero_division)
    report = decisions["report"]
    base["evaluated"] = decisions["evaluated"]
    if truth_is_tags(dataset):
        base.update({key: value for key, value in report.items() if key not in ("zero_division", "averaged")})
    else:
        base["confusion_matrix"] = decisions["counts"]
        keys = ("precision", "recall", "fbeta", "support")
        base["per_class"] = {name: {k: report[k][c] for k in keys} for c, name in enumerate(dataset.classes)}
        base["accuracy"] = report["accuracy"]
        base["absent_classes"] = [name for name, kept in zip(dataset.classes, report["averaged"]) if not kept]
        base.update({average: report[average] for average in ("macro", "micro", "weighted")})
    base.update(score_report(dataset, predictions, beta))
    return report_to_json(base)


def predictions_rows(dataset: Dataset, predictions: Predictions, threshold: Threshold = None) -> list[list[Any]]:
    """Rows of predictions.csv: one per sample, the header first."""
    classes = dataset.classes or predictions.classes
    with_scores = len(predictions.classes) <= 20
    header = ["sample_id", "label", "label_name", "predicted", "predicted_name", "confidence", "correct", "error"]
    if with_scores:
        header += [f"p_{name}" for name in predictions.classes]
    rows: list[list[Any]] = [header]
    y_true, y_pred = labeled_pairs(dataset, predictions, threshold)
    confidence = predictions.confidence
    for i, sample_id in enumerate(dataset.sample_ids):
        t, p = int(y_true[i]), int(y_pred[i])
        row: list[Any] = [
            sample_id,
            t if t >= 0 else "",
            classes[t] if 0 <= t < len(classes) else "",
            p if p >= 0 else "",
            predictions.classes[p] if p >= 0 else "",
            f"{confidence[i]:.6f}" if p >= 0 else "",
            int(t == p) if t >= 0 and p >= 0 else "",
            predictions.errors.get(i, ""),
        ]
        if with_scores:
            row += [f"{s:.6f}" if p >= 0 else "" for s in predictions.scores[i]]
        rows.append(row)
    return rows


def json_text(value: Any, **options: Any) -> str:
    """Indented JSON, UTF-8 where it can be: text holding a file name that is not UTF-8 (a lone
    surrogate) is written with ASCII escapes instead, so the file stays valid JSON and reads back equal."""
    text = json.dumps(value, indent=2, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, indent=2, ensure_ascii=True, **options)
    return text + "\n"


def text_bytes(text: str) -> bytes:
    """UTF-8 bytes of a report's text; a file name that is not UTF-8 (read as lone surrogates) goes back to
    the bytes it was read from (surrogateescape)."""
    return text.encode("utf-8", "surrogateescape")


def write_report(path: str | Path, summary: dict) -> Path:
    """Write a :func:`summarize` result as JSON (strict: no NaN), atomically; the metrics.json format."""
    path = Path(path)
    write_atomic(path, text_bytes(json_text(summary, allow_nan=False)))
    return path


def write_evaluation(
    dataset: Dataset,
    predictions: Predictions,
    out_dir: str | Path,
    beta: float = 1.0,
    threshold: Threshold = None,
    zero_division: float | str = 0,
) -> dict:
    """Write metrics.json, predictions.csv and predictions.npz into ``out_dir`` (each atomically)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(dataset, predictions, beta=beta, threshold=threshold, zero_division=zero_division)
    write_report(out / "metrics.json", summary)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(predictions_rows(dataset, predictions, threshold))
    write_atomic(out / "predictions.csv", text_bytes(buffer.getvalue()))
    predictions.save(out / "predictions.npz")
    return summary
