"""What a detection run got wrong, beyond mAP: PR curves, a confusion matrix with background, TIDE's error kinds.

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
- :func:`image_errors` / :func:`error_delta_map`: the error kinds of TIDE (Bolya et al., ECCV 2020) with the
  mAP@0.5 each would add if fixed, by TIDE's oracle rules (see :func:`fixed_inputs`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.metrics.boxes import FN, FP, IGNORED, TP, ImageMatch, as_boxes, match_image
from core.metrics.detection import MAX_DETECTIONS, RECALL_THRESHOLDS, detection_report

#: TIDE's thresholds: a detection overlapping an object at ``FOREGROUND_IOU`` or more would be a TP if it had
#: the right class; one overlapping every object at ``BACKGROUND_IOU`` or less is on background.
FOREGROUND_IOU, BACKGROUND_IOU = 0.5, 0.1
#: TIDE's error kinds, in the order of its report (the codes of :attr:`ImageErrors.pred_error` index this).
ERROR_KINDS = ("classification", "localization", "both", "duplicate", "background", "missed")
CLASSIFICATION, LOCALIZATION, BOTH, DUPLICATE, BACKGROUND, MISSED = range(6)
#: :attr:`ImageErrors.pred_error` of a detection that is no error (a TP, or one matched to an ignored object).
NO_ERROR = -1

#: COCOeval's recall points and its cap of detections per image and class (for :func:`coco_ap_50`).
RECALL_POINTS, MAX_DETECTIONS_PER_IMAGE = RECALL_THRESHOLDS, MAX_DETECTIONS[-1]

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


# -- TIDE's error kinds -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageErrors:
    """One image's detections and objects sorted into TIDE's error kinds."""

    #: :func:`match_image` at the foreground IoU: TP / FP / ignored.
    match: ImageMatch
    #: Per detection: the index into :data:`ERROR_KINDS` of a false positive's kind; NO_ERROR for the others.
    pred_error: np.ndarray  # int8 M
    #: Per detection: the object its error is about (the other class's object, the one localized badly, the one
    #: found already by a better detection, the nearest for "both"); -1 for none (background, no error).
    pred_object: np.ndarray  # int64 M
    #: Per detection: a classification or localization error that TIDE's fix turns into a TP (the best scoring
    #: such error on an object no detection found); the fix of the others removes them.
    fixable: np.ndarray  # bool M
    #: Per object: missed (FN) with no classification or localization error on it either.
    missed: np.ndarray  # bool G


def _false_positive_kinds(ious: np.ndarray, same: np.ndarray, foreground: float, background: float):
    """TIDE's tests of false positives (rows of ``ious`` with the counted objects), in its order: (kinds, objects)."""
    m = len(ious)
    if not ious.shape[1]:
        return np.full(m, BACKGROUND, dtype=np.int8), np.full(m, -1, dtype=np.int64)
    same_iou, other_iou = np.where(same, ious, 0.0), np.where(same, 0.0, ious)
    rows = np.arange(m)
    same_best, other_best, any_best = same_iou.argmax(1), other_iou.argmax(1), ious.argmax(1)
    same_max, other_max, any_max = same_iou[rows, same_best], other_iou[rows, other_best], ious[rows, any_best]
    localization = (same_max >= background) & (same_max < foreground)
    classification = ~localization & (other_max >= foreground)
    # A same-class object at the foreground IoU is taken (an unmatched one would have matched): a duplicate.
    duplicate = ~localization & ~classification & (same_max >= foreground)
    on_background = ~localization & ~classification & ~duplicate & (any_max <= background)
    kinds = np.select(
        [localization, classification, duplicate, on_background],
        [LOCALIZATION, CLASSIFICATION, DUPLICATE, BACKGROUND],
        BOTH,
    ).astype(np.int8)
    objects = np.select(
        [localization | duplicate, classification, on_background], [same_best, other_best, -1], any_best
    )
    return kinds, objects.astype(np.int64)


def image_errors(
    truth: Truth,
    detections: Detections,
    *,
    foreground: float = FOREGROUND_IOU,
    background: float = BACKGROUND_IOU,
    matched: ImageMatch | None = None,
) -> ImageErrors:
    """TIDE's kinds of one image's false positives and misses (Bolya et al. 2020, ``tidecv/quantify.py``).

    A false positive of :func:`match_image` at ``foreground`` is, in this order of tests (IoU with the counted
    objects only, crowd regions and ignored objects aside):
    localization (best IoU with an object of its class in [background, foreground));
    classification (IoU >= foreground with an object of another class);
    duplicate (IoU >= foreground with an object of its class that a better detection took);
    background (IoU <= background with every object); both (the rest: wrong class and poorly localized).
    An object no detection found is missed unless a classification or localization error is on it.
    ``matched``: the image's :func:`match` at ``foreground`` when already made.
    """
    _, classes, crowd, ignore = truth_arrays(truth)
    _, scores, pred_classes = detection_arrays(detections)
    m = match(truth, detections, foreground) if matched is None else matched
    counts = ~(crowd | ignore)
    ious = m.ious[:, counts]
    same = pred_classes[:, None] == classes[None, counts]
    objects = np.flatnonzero(counts)
    pred_error = np.full(len(scores), NO_ERROR, dtype=np.int8)
    pred_object = np.full(len(scores), -1, dtype=np.int64)
    false = np.flatnonzero(m.pred_status == FP)
    kinds, found = _false_positive_kinds(ious[false], same[false], foreground, background)
    pred_error[false] = kinds
    pred_object[false] = np.where(found >= 0, objects[np.maximum(found, 0)] if len(objects) else -1, -1)
    on_object = np.isin(pred_error, (CLASSIFICATION, LOCALIZATION))
    on_object[on_object] = m.truth_status[pred_object[on_object]] == FN
    # TIDE fixes the best scoring classification or localization error on each object no detection found.
    candidates = np.argsort(-scores, kind="stable")
    candidates = candidates[on_object[candidates]]
    _, first = np.unique(pred_object[candidates], return_index=True)
    fixable = np.zeros(len(scores), dtype=bool)
    fixable[candidates[first]] = True
    targeted = np.zeros(len(classes), dtype=bool)
    targeted[pred_object[candidates]] = True
    return ImageErrors(m, pred_error, pred_object, fixable, (m.truth_status == FN) & ~targeted)


def error_counts(errors: Sequence[ImageErrors], truth_classes=None, pred_classes=None, class_index=None) -> dict:
    """{kind: count} over images; with ``class_index``, only the detections predicted as that class (and, for
    "missed", the objects of that class), ``truth_classes`` / ``pred_classes`` giving the classes per image."""
    counts = dict.fromkeys(ERROR_KINDS, 0)
    for i, image in enumerate(errors):
        pred_mine = np.ones(len(image.pred_error), bool) if class_index is None else pred_classes[i] == class_index
        truth_mine = np.ones(len(image.missed), bool) if class_index is None else truth_classes[i] == class_index
        for code, kind in enumerate(ERROR_KINDS[:MISSED]):
            counts[kind] += int(((image.pred_error == code) & pred_mine).sum())
        counts["missed"] += int((image.missed & truth_mine).sum())
    return counts


def fixed_inputs(
    ground_truth: Sequence[Truth], predictions: Sequence[Detections], errors: Sequence[ImageErrors], kind: str
) -> tuple[list[Truth], list[Detections]]:
    """The truth and detections with every error of ``kind`` fixed by TIDE's oracle (``tidecv/errors``).

    classification / localization: the fixable detection (:attr:`ImageErrors.fixable`) becomes a TP of its
    object: it takes the object's class and box (the IoU TIDE's fix assumes), keeping its score; the other
    detections of that kind are removed (their object is found already, or by a better error).
    both / duplicate / background: the detections are removed. missed: the objects are removed from the truth.
    Removing an unmatched detection or object changes no other match at the foreground IoU, and a fixed detection
    takes an object no other detection took, so every other TP and FP stays as it was.
    """
    code = ERROR_KINDS.index(kind)
    truths, detections_out = list(ground_truth), []
    for i, (truth, detections, image) in enumerate(zip(ground_truth, predictions, errors)):
        boxes, scores, classes = (np.array(a) for a in detection_arrays(detections))
        if code == MISSED:
            truths[i] = _without_objects(truth, image.missed)
            detections_out.append((boxes, scores, classes))
            continue
        mine = image.pred_error == code
        if code in (CLASSIFICATION, LOCALIZATION):
            fixed = mine & image.fixable
            truth_boxes, truth_classes = truth_arrays(truth)[:2]
            boxes[fixed] = truth_boxes[image.pred_object[fixed]]
            classes[fixed] = truth_classes[image.pred_object[fixed]]
            mine &= ~fixed
        detections_out.append((boxes[~mine], scores[~mine], classes[~mine]))
    return truths, detections_out


def _without_objects(truth: Truth, drop: np.ndarray) -> Truth:
    boxes, classes, crowd, ignore = truth_arrays(truth)
    keep = ~np.asarray(drop, dtype=bool)
    return boxes[keep], classes[keep], {"iscrowd": crowd[keep], "ignore": ignore[keep]}


def map_50(ground_truth: Sequence[Truth], predictions: Sequence[Detections], num_classes: int) -> float:
    """COCO's mAP at IoU 0.5 of :func:`core.metrics.detection.detection_report` (boxes)."""
    return float(detection_report(list(ground_truth), list(predictions), num_classes)["map_50"])


# -- COCO's AP at IoU 0.5 from matches already made -------------------------------------------------------------
def coco_ap_50(
    scores: np.ndarray,
    classes: np.ndarray,
    images: np.ndarray,
    order: np.ndarray,
    status: np.ndarray,
    object_classes: np.ndarray,
    num_classes: int,
) -> tuple[float, np.ndarray]:
    """(mAP, AP per class) at IoU 0.5 as COCOeval computes them (area "all", 100 detections), from each
    detection's status at IoU 0.5 (TP, FP or IGNORED) instead of a new matching.

    One entry per detection of every image: ``scores``, ``classes``, ``images`` (the image's position) and
    ``order`` (its position among its image's detections, the tie-break of equal scores); ``object_classes``:
    the class of every counted object. COCOeval's rules: per image and class only the 100 best detections
    (stable), then per class every image's detections by score (ties: image order, then the image's own order),
    101-point interpolated precision, -1 for a class without objects, the mean over the others (-1 if none).
    The matching of a detection depends only on the better ones of its image and class, so the statuses of a
    matching over every detection are those COCOeval gets on its 100 best."""
    scores, classes = np.asarray(scores, np.float64), np.asarray(classes, np.int64)
    images, order, status = np.asarray(images, np.int64), np.asarray(order, np.int64), np.asarray(status)
    # Rank within (image, class), score first (stable on the image's order): COCOeval keeps the 100 best.
    by_group = np.lexsort((order, -scores, classes, images))
    group = (images * num_classes + classes)[by_group]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else np.zeros(0, np.int64)
    rank = np.empty(len(group), np.int64)
    rank[by_group] = np.arange(len(group)) - np.repeat(starts, np.diff(np.r_[starts, len(group)]))
    keep = (rank < MAX_DETECTIONS_PER_IMAGE) & (status != IGNORED)
    scores, classes, images, order, hits = scores[keep], classes[keep], images[keep], order[keep], status[keep] == TP
    ranking = np.lexsort((order, images, -scores, classes))
    bounds = np.searchsorted(classes[ranking], np.arange(num_classes + 1))
    positives = np.bincount(np.asarray(object_classes, np.int64), minlength=num_classes)
    precision = -np.ones((len(RECALL_POINTS), num_classes))
    for k in np.flatnonzero(positives):
        hit = hits[ranking[bounds[k] : bounds[k + 1]]]
        precision[:, k] = _interpolated_precision(hit, int(positives[k]))
    kept = precision[precision > -1]  # COCOeval's mean over the R x K entries, in its order
    ap = np.array([np.mean(precision[:, k]) if positives[k] else -1.0 for k in range(num_classes)])
    return (float(np.mean(kept)) if kept.size else -1.0), ap


def _interpolated_precision(hits: np.ndarray, positives: int) -> np.ndarray:
    """COCOeval.accumulate's precision at the 101 recall points of one class's ranked detections."""
    tp = np.cumsum(hits, dtype=np.float64)
    fp = np.cumsum(~hits, dtype=np.float64)
    if not len(tp):
        return np.zeros(len(RECALL_POINTS))
    recall = tp / positives
    precision = np.maximum.accumulate((tp / (fp + tp + np.spacing(1)))[::-1])[::-1]
    at = np.searchsorted(recall, RECALL_POINTS, side="left")
    return np.where(at < len(tp), precision[np.minimum(at, len(tp) - 1)], 0.0)


@dataclass
class _Ranked:
    """Every detection of a run flat, with its status at IoU 0.5 and its TIDE kind (for the oracle fixes)."""

    scores: np.ndarray
    classes: np.ndarray
    images: np.ndarray
    order: np.ndarray
    status: np.ndarray
    error: np.ndarray
    fixable: np.ndarray
    #: The class of the object a detection's error is about (-1: none).
    object_class: np.ndarray
    objects: np.ndarray  # the classes of the counted objects
    missed: np.ndarray  # per counted object: missed with no error on it


def _ranked(ground_truth: Sequence[Truth], predictions: Sequence[Detections], errors: Sequence[ImageErrors]):
    parts: dict[str, list] = {key: [] for key in _Ranked.__dataclass_fields__}
    for i, (truth, detections, image) in enumerate(zip(ground_truth, predictions, errors)):
        _, scores, classes = detection_arrays(detections)
        truth_classes = truth_arrays(truth)[1]
        mine = counted(truth)
        parts["scores"].append(scores)
        parts["classes"].append(classes)
        parts["images"].append(np.full(len(scores), i, np.int64))
        parts["order"].append(np.arange(len(scores)))
        parts["status"].append(image.match.pred_status)
        parts["error"].append(image.pred_error)
        parts["fixable"].append(image.fixable)
        about = image.pred_object
        object_class = np.full(len(about), -1, np.int64)
        object_class[about >= 0] = truth_classes[about[about >= 0]]
        parts["object_class"].append(object_class)
        parts["objects"].append(truth_classes[mine])
        parts["missed"].append(image.missed[mine])
    empty = {"fixable": np.zeros(0, bool), "missed": np.zeros(0, bool), "scores": np.zeros(0)}
    flat = {k: np.concatenate(v) if v else empty.get(k, np.zeros(0, np.int64)) for k, v in parts.items()}
    return _Ranked(**flat)


def fast_delta_map(
    ground_truth: Sequence[Truth], predictions: Sequence[Detections], errors: Sequence[ImageErrors], num_classes: int
) -> tuple[float, dict[str, float]]:
    """(mAP@0.5, {kind: mAP@0.5 with that kind's errors fixed}) by :func:`fixed_inputs`' oracle, without matching
    again: fixing only removes unmatched detections or objects, or turns an error into the TP of an object that no
    detection found, so every other detection keeps its status (see :func:`fixed_inputs`); each fixed run's
    AP is :func:`coco_ap_50` of the statuses. Equal to ``detection_report``'s ``map_50`` of the fixed inputs,
    whatever the IoU of the matching (boxes or masks)."""
    r = _ranked(ground_truth, predictions, errors)
    base, _ = coco_ap_50(r.scores, r.classes, r.images, r.order, r.status, r.objects, num_classes)
    fixed = {}
    for code, kind in enumerate(ERROR_KINDS):
        if code == MISSED:
            objects = r.objects[~r.missed]
            fixed[kind] = coco_ap_50(r.scores, r.classes, r.images, r.order, r.status, objects, num_classes)[0]
            continue
        mine = r.error == code
        status, classes = r.status.copy(), r.classes.copy()
        if code in (CLASSIFICATION, LOCALIZATION):
            repaired = mine & r.fixable
            status[repaired], classes[repaired] = TP, r.object_class[repaired]
            mine &= ~repaired
        keep = ~mine
        fixed[kind] = coco_ap_50(
            r.scores[keep], classes[keep], r.images[keep], r.order[keep], status[keep], r.objects, num_classes
        )[0]
    return base, fixed


def error_delta_map(
    ground_truth: Sequence[Truth],
    predictions: Sequence[Detections],
    errors: Sequence[ImageErrors],
    num_classes: int,
    *,
    base: float | None = None,
    map_at_50: Callable[[Sequence[Truth], Sequence[Detections], int], float] | None = None,
) -> dict[str, float]:
    """{kind: mAP@0.5 gained when its errors alone are fixed (:func:`fixed_inputs`)}, at least 0 as TIDE
    reports it (a loss can only come from interpolation); NaN where the mAP is undefined (no objects).
    ``errors`` must come from :func:`image_errors` at IoU 0.5 over every detection (AP sweeps all scores).

    By default the mAPs come from the statuses already matched (:func:`fast_delta_map`: no new matching, the
    same numbers as ``detection_report`` on the fixed inputs, with box or mask IoU alike); ``map_at_50`` computes
    each fixed run's mAP from its inputs instead (boxes; ``base``: the unfixed run's, computed when None)."""
    if map_at_50 is None:
        base, fixed = fast_delta_map(ground_truth, predictions, errors, num_classes)
    else:
        if base is None:
            base = map_at_50(ground_truth, predictions, num_classes)
        fixed = {
            kind: map_at_50(*fixed_inputs(ground_truth, predictions, errors, kind), num_classes) for kind in ERROR_KINDS
        }
    return {
        kind: max(value - base, 0.0) if np.isfinite(base) and base >= 0 and np.isfinite(value) else np.nan
        for kind, value in fixed.items()
    }


def worst_first(tp, fp, fn) -> np.ndarray:
    """The order of images by errors: most FP + FN first, then most FN, then the given order."""
    tp, fp, fn = (np.asarray(a, dtype=np.int64) for a in (tp, fp, fn))
    return np.lexsort((np.arange(len(fp)), -fn, -(fp + fn)))
