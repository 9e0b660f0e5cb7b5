"""What a detection run got wrong, beyond mAP: PR curves and a confusion matrix with background.

Pure functions of arrays, no datasets. One image's truth is ``(boxes, classes)`` or ``(boxes, classes, extras)``
with extras a dict of bool arrays ``iscrowd`` / ``ignore`` (VOC's ``difficult`` is accepted as ``ignore``); one
image's detections are ``(boxes, scores, classes)``: the shapes :func:`core.metrics.detection.detection_report`
takes. Every TP / FP / FN here starts from :func:`core.metrics.boxes.match_image` (COCOeval's greedy rule), so
crowd regions and ignored objects count nowhere: neither as misses nor against the detections they take.

- :func:`class_pr_curves`: per class, precision and recall at every distinct score (IoU 0.5, all images pooled),
  with the score of the best F1.
- :func:`image_confusion` / :func:`confusion_matrix`: a (C + 1) x (C + 1) matrix, rows truth, columns predicted
  (scikit-learn's convention), the last row false detections on background, the last column missed objects.
  Matching is class-aware first (the diagonal is exactly the TPs of ``match_image``); the detections and objects
  left over are then paired by IoU regardless of class (a "dog" box on a cat lands in row cat, column dog);
  what is still left goes to background.
- :func:`truth_arrays` / :func:`detection_arrays` / :func:`match`: the inputs as arrays, and their match.

TIDE's error kinds (and the mAP@0.5 each would add if fixed) are in :mod:`core.metrics.detection_errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.metrics.boxes import FN, FP, IGNORED, TP, ImageMatch, as_boxes, match_image

Truth = tuple  # (boxes, classes) or (boxes, classes, extras)
Detections = tuple  # (boxes, scores, classes)


# -- inputs ---------------------------------------------------------------------------------------------------
def truth_arrays(truth: Truth) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(boxes float64 G x 4, classes int64 G, iscrowd bool G, ignore bool G) of one image's truth."""
    boxes, classes = as_boxes(truth[0]), np.asarray(truth[1], dtype=np.int64).reshape(-1)
    extras = truth[2] if len(truth) > 2 and truth[2] is not None else {}
    g = len(classes)

    def flag(*names: str) -> np.ndarray:
        found = next((extras[n] for n in names if extras.get(n) is not None), None)
        return np.zeros(g, dtype=bool) if found is None else np.asarray(found, dtype=bool).reshape(-1)

    return boxes, classes, flag("iscrowd"), flag("ignore", "difficult")


def detection_arrays(detections: Detections) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes float64 M x 4, scores float64 M, classes int64 M) of one image's detections."""
    return (
        as_boxes(detections[0]),
        np.asarray(detections[1], dtype=np.float64).reshape(-1),
        np.asarray(detections[2], dtype=np.int64).reshape(-1),
    )


def match(truth: Truth, detections: Detections, iou_threshold: float = 0.5, *, ious=None) -> ImageMatch:
    """:func:`match_image` of one image given as tuples; ``ious``: the M x G IoU to match with (masks' IoU for
    instance segmentation), the boxes' when None."""
    boxes, classes, crowd, ignore = truth_arrays(truth)
    pred_boxes, scores, pred_classes = detection_arrays(detections)
    return match_image(
        boxes, classes, pred_boxes, scores, pred_classes, iou_threshold, iscrowd=crowd, ignore=ignore, ious=ious
    )


def counted(truth: Truth) -> np.ndarray:
    """Which objects count (neither crowd nor ignored)."""
    _, _, crowd, ignore = truth_arrays(truth)
    return ~(crowd | ignore)


# -- PR curves -------------------------------------------------------------------------------------------------
def pr_curve(scores, is_tp, num_positives: int) -> dict[str, np.ndarray]:
    """Precision and recall of the detections scoring at least each distinct score, highest score first.

    ``precision = TP / (TP + FP)``, ``recall = TP / num_positives`` (the objects that count, found or not): as
    scikit-learn's ``precision_recall_curve`` without its appended (recall 0, precision 1) point, in reverse
    order, and with recall over every object rather than over the detected ones. Recall is NaN without objects.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    scores, hits = scores[order], np.asarray(is_tp, dtype=bool).reshape(-1)[order]
    # The last detection of each run of equal scores: a threshold keeps all of them or none.
    last = np.flatnonzero(np.r_[scores[1:] != scores[:-1], True]) if len(scores) else np.zeros(0, dtype=np.int64)
    tp = np.cumsum(hits)[last].astype(np.float64)
    precision = tp / (last + 1)
    recall = tp / num_positives if num_positives else np.full(len(last), np.nan)
    return {"recall": recall, "precision": precision, "scores": scores[last]}


def best_f1(curve: dict[str, np.ndarray]) -> dict[str, float]:
    """The point of a :func:`pr_curve` with the highest ``F1 = 2 P R / (P + R)`` (the highest score of ties);
    NaN everywhere when no point has an F1 above 0 (no detection, no object, or no TP)."""
    p, r = curve["precision"], curve["recall"]
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    f1 = np.nan_to_num(f1, nan=0.0)
    if not len(f1) or f1.max() <= 0:
        return {"score": float("nan"), "precision": float("nan"), "recall": float("nan"), "f1": float("nan")}
    k = int(np.argmax(f1))
    return {"score": float(curve["scores"][k]), "precision": float(p[k]), "recall": float(r[k]), "f1": float(f1[k])}


def thin_curve(curve: dict, max_points: int = 1000) -> dict:
    """A :func:`pr_curve` of at most about ``max_points`` points, evenly spaced along it, its first and last point
    and its best F1's point kept (a COCO class may have 100,000 detections: metrics.json stays small)."""
    n = len(curve["scores"])
    if n <= max_points:
        return curve
    best = curve.get("best_f1", {}).get("score")
    keep = np.round(np.linspace(0, n - 1, max_points)).astype(np.int64)
    if best is not None and np.isfinite(best):
        keep = np.r_[keep, np.flatnonzero(curve["scores"] == best)]
    keep = np.unique(keep)
    return {**curve, **{key: curve[key][keep] for key in ("recall", "precision", "scores")}}


def scored_matches(
    ground_truth: Sequence[Truth],
    predictions: Sequence[Detections],
    iou_threshold: float = 0.5,
    matches: Sequence[ImageMatch] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(scores, classes, is TP) of every counted detection of every image, and the classes of the counted objects.
    ``matches``: the images' :func:`match` at ``iou_threshold`` when already made."""
    scores, hits = [np.zeros(0)], [np.zeros(0, bool)]
    classes, objects = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for i, (truth, detections) in enumerate(zip(ground_truth, predictions)):
        m = match(truth, detections, iou_threshold) if matches is None else matches[i]
        keep = m.pred_status != IGNORED
        _, image_scores, image_classes = detection_arrays(detections)
        scores.append(image_scores[keep])
        classes.append(image_classes[keep])
        hits.append(m.pred_status[keep] == TP)
        objects.append(truth_arrays(truth)[1][counted(truth)])
    return tuple(np.concatenate(parts) for parts in (scores, classes, hits, objects))


def class_pr_curves(
    ground_truth: Sequence[Truth],
    predictions: Sequence[Detections],
    num_classes: int,
    iou_threshold: float = 0.5,
    matches: Sequence[ImageMatch] | None = None,
) -> list[dict]:
    """Per class, its :func:`pr_curve` over all images with ``"best_f1"`` (:func:`best_f1`) added."""
    scores, classes, hits, objects = scored_matches(ground_truth, predictions, iou_threshold, matches)
    positives = np.bincount(objects, minlength=num_classes)
    curves = []
    for c in range(num_classes):
        mine = classes == c
        curve = pr_curve(scores[mine], hits[mine], int(positives[c]))
        curves.append({**curve, "best_f1": best_f1(curve)})
    return curves


def best_f1_threshold(
    ground_truth: Sequence[Truth],
    predictions: Sequence[Detections],
    iou_threshold: float = 0.5,
    matches: Sequence[ImageMatch] | None = None,
) -> dict[str, float]:
    """The :func:`best_f1` of every class pooled (micro F1): the one score threshold a run is shown at by default."""
    scores, _, hits, objects = scored_matches(ground_truth, predictions, iou_threshold, matches)
    return best_f1(pr_curve(scores, hits, len(objects)))


# -- confusion matrix -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageConfusion:
    """Where one image's objects and detections land in the confusion matrix (C = the background's index)."""

    #: Per object: the predicted column (its own class for a TP, another class, C when missed); -1: not counted.
    truth_column: np.ndarray
    #: Per object: the detection in its cell with it (-1: none).
    truth_pair: np.ndarray
    #: Per detection: the truth row (an object's class, C for a false detection on background); -1: not counted
    #: (matched to a crowd region or an ignored object).
    pred_row: np.ndarray
    #: Per detection: the object in its cell with it (-1: none).
    pred_pair: np.ndarray


def image_confusion(
    truth: Truth,
    detections: Detections,
    num_classes: int,
    iou_threshold: float = 0.5,
    matched: ImageMatch | None = None,
) -> ImageConfusion:
    """One image's :class:`ImageConfusion`: :func:`match_image` first (the diagonal), then the detections left
    over, best score first, each take the unmatched counted object with the highest IoU at or above the threshold
    whatever its class (off the diagonal); the rest are background (last row) or missed (last column).
    ``matched``: the image's :func:`match` at ``iou_threshold`` when already made."""
    _, classes, _, _ = truth_arrays(truth)
    _, scores, pred_classes = detection_arrays(detections)
    m = match(truth, detections, iou_threshold) if matched is None else matched
    pairs_of_truth = np.full(len(classes), -1, dtype=np.int64)
    pairs_of_pred = np.where(m.pred_status == TP, m.pred_match, -1)
    pairs_of_truth[m.pred_match[m.pred_status == TP]] = np.flatnonzero(m.pred_status == TP)
    free = m.truth_status == FN
    # Only false positives overlapping a missed object enough can pair: the loop skips the others.
    near = (m.pred_status == FP) & (np.where(free, m.ious, -1.0).max(axis=1, initial=-1.0) >= iou_threshold)
    for d in np.argsort(-scores, kind="stable"):
        if not near[d]:
            continue
        overlaps = np.where(free, m.ious[d], -1.0)
        j = int(np.argmax(overlaps))
        if overlaps[j] >= iou_threshold:
            free[j], pairs_of_pred[d], pairs_of_truth[j] = False, j, d
    truth_column = np.where(m.truth_status == IGNORED, -1, _paired_class(pred_classes, pairs_of_truth, num_classes))
    pred_row = np.where(m.pred_status == IGNORED, -1, _paired_class(classes, pairs_of_pred, num_classes))
    return ImageConfusion(truth_column, pairs_of_truth, pred_row, pairs_of_pred)


def _paired_class(classes: np.ndarray, pairs: np.ndarray, background: int) -> np.ndarray:
    """The class of each paired item, ``background`` where unpaired (-1)."""
    out = np.full(len(pairs), background, dtype=np.int64)
    out[pairs >= 0] = classes[pairs[pairs >= 0]]
    return out


def confusion_matrix(
    ground_truth: Sequence[Truth],
    predictions: Sequence[Detections],
    confusions: Sequence[ImageConfusion],
    num_classes: int,
) -> np.ndarray:
    """The (C + 1) x (C + 1) int64 matrix of :func:`image_confusion` results: each counted object adds one to (its
    class, its column), each false detection on background one to (C, its class). Row c sums to the counted
    objects of class c, column c to the counted detections of class c."""
    matrix = np.zeros((num_classes + 1, num_classes + 1), dtype=np.int64)
    for truth, detections, conf in zip(ground_truth, predictions, confusions):
        classes, pred_classes = truth_arrays(truth)[1], detection_arrays(detections)[2]
        objects = conf.truth_column >= 0
        np.add.at(matrix, (classes[objects], conf.truth_column[objects]), 1)
        background = conf.pred_row == num_classes
        np.add.at(matrix, (conf.pred_row[background], pred_classes[background]), 1)
    return matrix


def worst_first(tp, fp, fn) -> np.ndarray:
    """The order of images by errors: most FP + FN first, then most FN, then the given order."""
    tp, fp, fn = (np.asarray(a, dtype=np.int64) for a in (tp, fp, fn))
    return np.lexsort((np.arange(len(fp)), -fn, -(fp + fn)))
