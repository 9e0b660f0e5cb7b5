"""What the sample view says about one sample: its prediction in words, its tags, its metadata.

Plain functions of a dataset, predictions and an index, so the sample view only lays them out.
A prediction summary is (text, colour or "" for the default, rows for the bars under it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core import tasks
from core.datasets import Dataset
from core.evaluation.decisions import predicted_class, predicted_tags
from core.evaluation.selection import tag_differences
from core.inference import Predictions
from gui.browser.colors import RIGHT_COLOR, WRONG_COLOR
from gui.browser.score_bars import EXTRA, HIT, MISSED, OTHER, TRUE_TAG

#: Layouts whose ``bbox`` meta is in another frame than the images shown: CelebA's
#: list_bbox_celeba.txt boxes faces in the in-the-wild images (img_celeba), not in the aligned
#: and cropped ones the reader shows, so drawing them there would point at the wrong place.
BOX_IN_OTHER_FRAME = {"CelebA"}


def usable(predictions: Predictions | None, dataset: Dataset | None) -> bool:
    """Class scores of every sample of ``dataset`` (a detector's boxes are drawn, not summarised here)."""
    return isinstance(predictions, Predictions) and dataset is not None and len(predictions) == len(dataset)


def classification_summary(
    dataset: Dataset, predictions: Predictions, index: int, threshold: Any = None
) -> tuple[str, str, list[tuple[str, float, bool]]]:
    """The predicted class (under the binary ``threshold``) with its score, and the top-5 rows."""
    if index in predictions.errors:
        return f"Prediction failed: {predictions.errors[index]}", WRONG_COLOR.name(), []
    top = predictions.top_k(index, 5)
    if not top:
        return "Prediction: not run yet", "", []
    labels = set(dataset[index].labels)
    best = predicted_class(predictions, index, threshold)
    score = float(predictions.scores[index, best])
    name = predictions.classes[best] if best < len(predictions.classes) else str(best)
    color = "" if not labels else RIGHT_COLOR.name() if best in labels else WRONG_COLOR.name()
    task = tasks.of(predictions)
    one_threshold = task.thresholded and not task.threshold_per_class  # binary: the threshold decides the class
    cut = f" at threshold {float(threshold):.2f}" if one_threshold and threshold is not None else ""
    rows = [(predictions.classes[c], s, c in labels) for c, s in top]
    return f"Prediction: {name} ({score:.1%}){cut}", color, rows


def multilabel_summary(
    dataset: Dataset, predictions: Predictions | None, index: int, threshold: Any = None
) -> tuple[str, str, list[tuple[str, float | None, str]]]:
    """Missed and extra tags under ``threshold``, and one row per true or predicted tag."""
    truth = dataset.tags[index]
    names = dataset.classes
    if not usable(predictions, dataset) or predictions.scores.shape[1] != len(names):
        rows = [(names[c], None, TRUE_TAG) for c in np.flatnonzero(truth)]
        return "Prediction: run a model to see one", "", rows
    if index in predictions.errors:
        return f"Prediction failed: {predictions.errors[index]}", WRONG_COLOR.name(), []
    if not predictions.done[index]:
        return "Prediction: not run yet", "", [(names[c], None, TRUE_TAG) for c in np.flatnonzero(truth)]
    predicted = predicted_tags(predictions, threshold)[index]
    missed, extra = tag_differences(truth, predicted)
    scores = predictions.scores[index]
    rows = []
    for c in np.flatnonzero((truth > 0) | (predicted > 0)):
        status = MISSED if c in missed else EXTRA if c in extra else HIT
        rows.append((names[c], float(scores[c]), status))
    if not missed and not extra:
        return f"Prediction: all {len(rows)} tags right", RIGHT_COLOR.name(), rows or [("(no tags)", None, OTHER)]
    words = [f"{len(missed)} missed" if missed else "", f"{len(extra)} extra" if extra else ""]
    return f"Prediction: {', '.join(w for w in words if w)}", WRONG_COLOR.name(), rows


def _landmarks(values: dict[str, int]) -> list[tuple[str, float, float]]:
    """{"lefteye_x": 69, "lefteye_y": 109, ...} -> [("lefteye", 69, 109), ...]."""
    out = []
    for key, x in values.items():
        if key.endswith("_x") and f"{key[:-2]}_y" in values:
            out.append((key[:-2], float(x), float(values[f"{key[:-2]}_y"])))
    return out


def meta_text(meta: dict[str, Any], layout: str = "") -> str:
    """One short line per metadata entry (identity, box, landmarks, anything else)."""
    lines = []
    for key, value in meta.items():
        if key == "bbox" and isinstance(value, dict):
            x, y, w, h = (value.get(k, 0) for k in ("x_1", "y_1", "width", "height"))
            note = " (in the in-the-wild image, not drawn)" if layout in BOX_IN_OTHER_FRAME else ""
            lines.append(f"Box: x {x}, y {y}, {w} × {h}{note}")
        elif key == "landmarks" and isinstance(value, dict):
            points = _landmarks(value)
            lines.append("Landmarks: " + ", ".join(f"{name} ({x:g}, {y:g})" for name, x, y in points))
        elif isinstance(value, (int, float, str)):
            lines.append(f"{key.replace('_', ' ').capitalize()}: {value}")
    return "\n".join(lines)


def meta_marks(meta: dict[str, Any], layout: str = "") -> tuple[list[tuple], list[tuple]]:
    """(boxes (x, y, w, h), points (x, y)) to draw on the image from the metadata."""
    boxes, points = [], []
    box = meta.get("bbox")
    if isinstance(box, dict) and layout not in BOX_IN_OTHER_FRAME:
        boxes.append(tuple(float(box.get(k, 0)) for k in ("x_1", "y_1", "width", "height")))
    landmarks = meta.get("landmarks")
    if isinstance(landmarks, dict):
        points = [(x, y) for _, x, y in _landmarks(landmarks)]
    return boxes, points
