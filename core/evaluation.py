"""One evaluation: labels + predictions -> the numbers the metrics view shows and `evaluate` writes.

The GUI and ``python main.py evaluate`` both call :func:`summarize`, so the window and the
files on disk always agree.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import Dataset
from core.inference.predictions import Predictions


def labeled_pairs(dataset: Dataset, predictions: Predictions) -> tuple[np.ndarray, np.ndarray]:
    """(y_true, y_pred) over the whole dataset, -1 where a label or a prediction is missing."""
    if dataset.targets is None:
        y_true = np.full(len(dataset), -1, dtype=np.int64)
    else:
        y_true = dataset.targets
    return y_true, predictions.predicted


def summarize(dataset: Dataset, predictions: Predictions, beta: float = 1.0) -> dict[str, Any]:
    """Everything known about how the predictions match the labels, JSON-ready (NaN -> null)."""
    from core.metrics import classification_report, confusion_matrix, multilabel_report

    base: dict[str, Any] = {
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
    }
    if dataset.task == "multilabel" and dataset.tags is not None:
        done = predictions.done
        report = multilabel_report(dataset.tags[done], predictions.scores[done], beta=beta)
        base["evaluated"] = int(done.sum())
        base.update(_jsonable(report))
        return base
    y_true, y_pred = labeled_pairs(dataset, predictions)
    keep = (y_true >= 0) & (y_pred >= 0)
    cm = confusion_matrix(y_true[keep], y_pred[keep], num_classes=len(dataset.classes))
    report = classification_report(cm, beta=beta)
    base["evaluated"] = int(keep.sum())
    base["confusion_matrix"] = cm.tolist()
    base["per_class"] = {
        name: {key: _num(report[key][c]) for key in ("precision", "recall", "fbeta", "support")}
        for c, name in enumerate(dataset.classes)
    }
    base["accuracy"] = _num(report["accuracy"])
    for average in ("macro", "micro", "weighted"):
        base[average] = {k: _num(v) for k, v in report[average].items()}
    return base


def _num(value) -> float | int | None:
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    return _num(value)


def predictions_rows(dataset: Dataset, predictions: Predictions) -> list[list[Any]]:
    """Rows of predictions.csv: one per sample, the header first."""
    classes = dataset.classes or predictions.classes
    with_scores = len(predictions.classes) <= 20
    header = ["sample_id", "label", "label_name", "predicted", "predicted_name", "confidence", "correct", "error"]
    if with_scores:
        header += [f"p_{name}" for name in predictions.classes]
    rows: list[list[Any]] = [header]
    y_true, y_pred = labeled_pairs(dataset, predictions)
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


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_evaluation(dataset: Dataset, predictions: Predictions, out_dir: str | Path, beta: float = 1.0) -> dict:
    """Write metrics.json, predictions.csv and predictions.npz into ``out_dir`` (each atomically)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(dataset, predictions, beta=beta)
    _atomic_write(out / "metrics.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    buffer = io.StringIO()
    csv.writer(buffer).writerows(predictions_rows(dataset, predictions))
    _atomic_write(out / "predictions.csv", buffer.getvalue())
    predictions.save(out / "predictions.npz")
    return summary
