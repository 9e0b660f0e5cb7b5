"""TIDE's error kinds of a detection run (Bolya et al., ECCV 2020) and the mAP@0.5 each would add if fixed.

Same inputs as :mod:`core.metrics.detection_analysis` (one image's truth ``(boxes, classes[, extras])``, its
detections ``(boxes, scores, classes)``), and the same matching (:func:`core.metrics.boxes.match_image`, crowd
regions and ignored objects counting nowhere).

- :func:`image_errors` / :func:`error_counts`: each false positive's kind (classification, localization, both,
  duplicate, background) and the missed objects.
- :func:`fixed_inputs`: the truth and detections with one kind's errors fixed by TIDE's oracle rules.
- :func:`error_delta_map`: the mAP@0.5 each kind would add if fixed, by default from the statuses already matched
  (:func:`fast_delta_map`, COCOeval's AP at IoU 0.5 of :func:`coco_ap_50`), without matching again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.metrics.boxes import FN, FP, IGNORED, TP, ImageMatch
from core.metrics.detection import MAX_DETECTIONS, RECALL_THRESHOLDS, detection_report
from core.metrics.detection_analysis import Detections, Truth, counted, detection_arrays, match, truth_arrays

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
