"""COCO's detection metrics (mAP, mAR, per-class AP), the numbers pycocotools' COCOeval prints, vectorised.

:func:`detection_report` gives the same values as ``COCOeval(gt, dt, iou_type).evaluate(); accumulate();
summarize()`` on the same objects (equal to 1e-9; the tests compare on random inputs), in a fraction of its time:
the matching runs for every image, class, area range and IoU threshold at once, one round per detection rank.

COCOeval's rules, kept exactly (docs/metrics-conventions.md, "Object detection: COCO's conventions"):

- IoU thresholds 0.50:0.05:0.95; recall points 0:0.01:1 (101), precision interpolated (the best precision at
  any recall at or above the point); at most 1, 10, 100 detections per image and class, the best scores first
  (a stable sort: ties keep the order given), detections beyond the 100th of an image and class ignored.
- A detection takes, among the unmatched objects of its image and class, the one with the highest IoU at or
  above the threshold (ties: the later object); objects to be counted first, ignored ones (crowd regions,
  ``ignore``, outside the area range) only when none qualifies. A detection matched to an ignored object is
  ignored, as is an unmatched one whose own area is outside the area range.
- A crowd region's IoU divides by the detection's area only, and it may take any number of detections.
- Area ranges (pixels²): small [0, 32²], medium [32², 96²], large [96², 1e10] (both ends included, as COCO).
  An object's area is ``extras["area"]`` when given (a COCO reader's annotation ``area``, which is what
  pycocotools uses on the original json, also for boxes), else its box's ``w * h`` (no +1) for ``bbox`` and its
  mask's pixel count for ``segm``. A detection's area is its box's ``w * h`` or its mask's pixel count.
- A class without counted objects has AP and AR -1 and is left out of the means; a mean with no class is -1.

Inputs, per image (the same number of images in both): ``ground_truth[i] = (boxes, classes)`` or
``(boxes, classes, extras)`` with ``extras`` a dict of optional per-object entries ``"iscrowd"`` (bool),
``"ignore"`` (bool: VOC's difficult, neither a miss nor a reason to punish a detection; matched with the normal
IoU, like COCOeval's ignored objects), ``"area"`` (float) and ``"masks"`` (segm: N x H x W bool, or COCO RLE
dicts); ``predictions[i] = (boxes, scores, classes)`` or ``(boxes, scores, classes, masks)``. Boxes are
N x 4 ``(x0, y0, x1, y1)`` pixels; for ``segm`` the boxes are not used and may be None.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

#: COCOeval's parameters (pycocotools/cocoeval.py, Params.setDetParams), built with the same expressions.
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETECTIONS = (1, 10, 100)
AREA_RANGES = {"all": (0.0, 1e5**2), "small": (0.0, 32.0**2), "medium": (32.0**2, 96.0**2), "large": (96.0**2, 1e5**2)}
IOU_TYPES = ("bbox", "segm")


@dataclass(frozen=True)
class CocoCurves:
    """COCOeval's ``eval`` arrays: ``precision`` T x R x K x A x M (interpolated, at the recall points) and
    ``recall`` T x K x A x M, -1 where a class has no counted object (T IoU thresholds, R recall points,
    K classes, A area ranges as in :data:`AREA_RANGES`, M entries of :data:`MAX_DETECTIONS`)."""

    precision: np.ndarray
    recall: np.ndarray


@dataclass
class _Objects:
    """Every image's objects (or detections) in one set of flat arrays, image by image in the given order."""

    image: np.ndarray  # int64
    classes: np.ndarray  # int64
    boxes: np.ndarray  # float64 N x 4 (x, y, w, h) as COCO stores them
    area: np.ndarray  # float64
    crowd: np.ndarray  # bool
    ignore: np.ndarray  # bool
    scores: np.ndarray  # float64 (detections)
    masks: list  # RLE dicts (segm)


def detection_report(ground_truth, predictions, num_classes: int, iou_type: str = "bbox") -> dict:
    """COCO's summary of detections against the truth (see the module's docstring for the inputs).

    Returns ``map`` (AP at IoU 0.50:0.95, all areas, 100 detections), ``map_50``, ``map_75``, ``map_small``,
    ``map_medium``, ``map_large``, ``mar_1``, ``mar_10``, ``mar_100`` (AR with at most 1, 10, 100 detections),
    ``mar_small``, ``mar_medium``, ``mar_large`` (COCOeval's twelve ``stats``), and per class (lists of length
    ``num_classes``, -1 where the class has no counted object, as COCOeval): ``ap`` (IoU 0.50:0.95), ``ap_50``
    and ``ar`` (AR with 100 detections).
    """
    curves = coco_curves(ground_truth, predictions, num_classes, iou_type)
    return summarize(curves)


def summarize(curves: CocoCurves) -> dict:
    """COCOeval.summarize's twelve numbers and the per-class AP / AR from its arrays."""
    p, r = curves.precision, curves.recall
    areas = list(AREA_RANGES)
    report = {
        "map": _mean(p[:, :, :, 0, 2]),
        "map_50": _mean(p[0, :, :, 0, 2]),
        "map_75": _mean(p[5, :, :, 0, 2]),
        **{f"map_{name}": _mean(p[:, :, :, areas.index(name), 2]) for name in ("small", "medium", "large")},
        **{f"mar_{m}": _mean(r[:, :, 0, i]) for i, m in enumerate(MAX_DETECTIONS)},
        **{f"mar_{name}": _mean(r[:, :, areas.index(name), 2]) for name in ("small", "medium", "large")},
    }
    report["ap"] = [_mean(p[:, :, k, 0, 2]) for k in range(p.shape[2])]
    report["ap_50"] = [_mean(p[0, :, k, 0, 2]) for k in range(p.shape[2])]
    report["ar"] = [_mean(r[:, k, 0, 2]) for k in range(r.shape[1])]
    return report


def _mean(values: np.ndarray) -> float:
    """COCOeval's mean: of the entries other than -1, or -1 when none is left."""
    kept = values[values > -1]
    return float(np.mean(kept)) if kept.size else -1.0


def coco_curves(ground_truth, predictions, num_classes: int, iou_type: str = "bbox") -> CocoCurves:
    """COCOeval's ``evaluate`` + ``accumulate``: the precision and recall arrays of :class:`CocoCurves`."""
    if iou_type not in IOU_TYPES:
        raise ValueError(f"iou_type must be one of {IOU_TYPES}, not {iou_type!r}")
    if len(ground_truth) != len(predictions):
        raise ValueError(f"{len(ground_truth)} images of truth but {len(predictions)} of predictions")
    truth = _flatten_truth(ground_truth, iou_type)
    dets = _flatten_predictions(predictions, iou_type)
    for what, objects in (("truth", truth), ("predictions", dets)):
        if objects.classes.size and (objects.classes.min() < 0 or objects.classes.max() >= num_classes):
            raise ValueError(f"{what} has classes outside 0..{num_classes - 1}")
    dets, rank = _top_detections(dets, len(ground_truth), num_classes)
    det_idx, gt_idx, ious = _candidate_pairs(truth, dets, iou_type)
    gt_ignored = _truth_ignored(truth)
    matched, det_ignored = _match(det_idx, gt_idx, ious, rank, gt_ignored, truth.crowd, len(dets.classes))
    outside = np.stack([(dets.area < lo) | (dets.area > hi) for lo, hi in AREA_RANGES.values()])
    det_ignored |= ~matched & outside[:, None, :]
    return _accumulate(dets, rank, matched, det_ignored, truth.classes, gt_ignored, num_classes)


# --- the inputs as flat arrays ---------------------------------------------------------------------------------


def _box_array(boxes, n: int, iou_type: str) -> np.ndarray:
    if boxes is None:
        if iou_type == "bbox" and n:
            raise ValueError("bbox evaluation needs the boxes (None is for segm only)")
        return np.zeros((n, 4), dtype=np.float64)
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def _xywh(b: np.ndarray) -> np.ndarray:
    """(x0, y0, x1, y1) as COCO's (x, y, w, h), computed as a conversion to COCO json would."""
    return np.column_stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]])


def _flags(extras: dict, key: str, n: int) -> np.ndarray:
    value = extras.get(key)
    return np.zeros(n, dtype=bool) if value is None else np.asarray(value, dtype=bool).reshape(n)


def _cat(parts: list, dtype, shape=(0,)) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(shape, dtype=dtype)


def _flatten_truth(ground_truth, iou_type: str) -> _Objects:
    counts, boxes, classes, crowd, ignore, area, masks = [], [], [], [], [], [], []
    for item in ground_truth:
        extras = (item[2] if len(item) > 2 else None) or {}
        classes.append(np.asarray(item[1], dtype=np.int64).reshape(-1))
        n = len(classes[-1])
        counts.append(n)
        boxes.append(_box_array(item[0], n, iou_type))
        crowd.append(_flags(extras, "iscrowd", n))
        ignore.append(_flags(extras, "ignore", n))
        given = extras.get("area")
        area.append(np.full(n, np.nan) if given is None else np.asarray(given, dtype=np.float64).reshape(n))
        if iou_type == "segm":
            masks.extend(_rles(extras.get("masks"), n))
    xywh = _xywh(_cat(boxes, np.float64, (0, 4)))
    own_area = _rle_area(masks) if iou_type == "segm" else xywh[:, 2] * xywh[:, 3]
    given = _cat(area, np.float64)
    image = np.repeat(np.arange(len(counts)), counts)
    flags = _cat(crowd, bool), _cat(ignore, bool)
    area = np.where(np.isnan(given), own_area, given)
    return _Objects(image, _cat(classes, np.int64), xywh, area, *flags, np.zeros(len(image)), masks)


def _flatten_predictions(predictions, iou_type: str) -> _Objects:
    counts, boxes, scores, classes, masks = [], [], [], [], []
    for i, item in enumerate(predictions):
        scores.append(np.asarray(item[1], dtype=np.float64).reshape(-1))
        classes.append(np.asarray(item[2], dtype=np.int64).reshape(-1))
        n = len(scores[-1])
        if len(classes[-1]) != n:
            raise ValueError(f"image {i}: {n} scores but {len(classes[-1])} classes")
        counts.append(n)
        boxes.append(_box_array(item[0], n, iou_type))
        if iou_type == "segm":
            if len(item) < 4:
                raise ValueError(f"image {i}: segm needs (boxes, scores, classes, masks)")
            masks.extend(_rles(item[3], n))
    xywh = _xywh(_cat(boxes, np.float64, (0, 4)))
    area = _rle_area(masks) if iou_type == "segm" else xywh[:, 2] * xywh[:, 3]  # COCO.loadRes: bb[2] * bb[3]
    image = np.repeat(np.arange(len(counts)), counts)
    none = np.zeros(len(image), dtype=bool)
    return _Objects(image, _cat(classes, np.int64), xywh, area, none, none, _cat(scores, np.float64), masks)


def _rles(masks, n: int) -> list:
    """Masks (N x H x W bool, or COCO RLE dicts, compressed or not) as compressed RLE dicts."""
    from pycocotools import mask as mask_utils  # needed for segm only

    if masks is None:
        if n:
            raise ValueError("segm needs the objects' masks")
        return []
    if isinstance(masks, np.ndarray):
        if masks.shape[0] != n:
            raise ValueError(f"{masks.shape[0]} masks for {n} objects")
        if not n:
            return []
        return mask_utils.encode(np.asfortranarray(np.moveaxis(masks.astype(np.uint8), 0, -1)))
    rles = [m if not isinstance(m["counts"], list) else mask_utils.frPyObjects(m, *m["size"]) for m in masks]
    if len(rles) != n:
        raise ValueError(f"{len(rles)} masks for {n} objects")
    return rles


def _rle_area(rles: list) -> np.ndarray:
    from pycocotools import mask as mask_utils

    return np.asarray(mask_utils.area(rles), dtype=np.float64).reshape(-1) if rles else np.zeros(0)


def _top_detections(dets: _Objects, num_images: int, num_classes: int) -> tuple[_Objects, np.ndarray]:
    """The detections ordered by image, class and score (stable), each with its rank in its image and class;
    those ranked 100 or beyond dropped, as COCOeval never sees them."""
    order = np.lexsort((-dets.scores, dets.classes, dets.image))
    group = dets.image[order] * num_classes + dets.classes[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else np.zeros(0, np.int64)
    rank = np.arange(len(group)) - np.repeat(starts, np.diff(np.r_[starts, len(group)]))
    keep = order[rank < MAX_DETECTIONS[-1]]
    taken = _Objects(
        dets.image[keep],
        dets.classes[keep],
        dets.boxes[keep],
        dets.area[keep],
        dets.crowd[keep],
        dets.ignore[keep],
        dets.scores[keep],
        [dets.masks[j] for j in keep] if dets.masks else [],
    )
    return taken, rank[rank < MAX_DETECTIONS[-1]]


def _truth_ignored(truth: _Objects) -> np.ndarray:
    """A x G: objects that count in no area range (crowd, ignore) or fall outside it (COCOeval's _ignore)."""
    flagged = truth.crowd | truth.ignore
    return np.stack([flagged | (truth.area < lo) | (truth.area > hi) for lo, hi in AREA_RANGES.values()])


# --- IoU of the detection / object pairs that can match ------------------------------------------------------


def _candidate_pairs(truth: _Objects, dets: _Objects, iou_type: str):
    """The (detection, object, IoU) triples of one image and class with IoU >= the lowest threshold."""
    if iou_type == "segm":
        return _mask_pairs(truth, dets)
    num_classes = int(max(truth.classes.max(initial=0), dets.classes.max(initial=0))) + 1
    gt_group = truth.image * num_classes + truth.classes
    gt_order = np.argsort(gt_group, kind="stable")
    sorted_groups = gt_group[gt_order]
    det_group = dets.image * num_classes + dets.classes
    start = np.searchsorted(sorted_groups, det_group, side="left")
    count = np.searchsorted(sorted_groups, det_group, side="right") - start
    pieces = []
    for lo, hi in _chunks(count, 1_000_000):
        det = np.repeat(np.arange(lo, hi), count[lo:hi])
        offsets = np.cumsum(count[lo:hi]) - count[lo:hi]
        within = np.arange(len(det)) - np.repeat(offsets, count[lo:hi])
        gt = gt_order[start[det] + within]
        iou = _box_iou_pairs(dets.boxes[det], truth.boxes[gt], truth.crowd[gt])
        keep = iou >= IOU_THRESHOLDS[0]
        pieces.append((det[keep], gt[keep], iou[keep]))
    return _join(pieces)


def _chunks(count: np.ndarray, size: int):
    """Ranges of detections whose pairs number about ``size`` at most (one detection's pairs never split)."""
    total = np.cumsum(count)
    lo = 0
    while lo < len(count):
        hi = max(int(np.searchsorted(total, (total[lo - 1] if lo else 0) + size, side="right")), lo + 1)
        yield lo, hi
        lo = hi


def _join(pieces):
    if not pieces:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return tuple(np.concatenate(column) for column in zip(*pieces))


def _box_iou_pairs(d: np.ndarray, g: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """pycocotools' bbIou, pair by pair: boxes (x, y, w, h); a crowd's union is the detection's area."""
    w = np.minimum(d[:, 2] + d[:, 0], g[:, 2] + g[:, 0]) - np.maximum(d[:, 0], g[:, 0])
    h = np.minimum(d[:, 3] + d[:, 1], g[:, 3] + g[:, 1]) - np.maximum(d[:, 1], g[:, 1])
    inter = w * h
    d_area = d[:, 2] * d[:, 3]
    union = np.where(crowd, d_area, d_area + g[:, 2] * g[:, 3] - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    return np.where((w > 0) & (h > 0), iou, 0.0)


def _mask_pairs(truth: _Objects, dets: _Objects):
    """As :func:`_candidate_pairs`, with pycocotools' RLE IoU (crowd-aware), image by image."""
    from pycocotools import mask as mask_utils

    pieces = []
    for image in np.unique(dets.image):
        d0, d1 = np.searchsorted(dets.image, [image, image + 1])
        g0, g1 = np.searchsorted(truth.image, [image, image + 1])
        if g0 == g1:
            continue
        crowd = truth.crowd[g0:g1].astype(np.uint8)
        iou = np.asarray(mask_utils.iou(list(dets.masks[d0:d1]), list(truth.masks[g0:g1]), crowd))
        same = dets.classes[d0:d1, None] == truth.classes[None, g0:g1]
        det, gt = np.nonzero(same & (iou >= IOU_THRESHOLDS[0]))
        pieces.append((det + d0, gt + g0, iou[det, gt]))
    return _join(pieces)


# --- matching, all images, classes, area ranges and IoU thresholds at once -----------------------------------


def _match(det_idx, gt_idx, ious, rank, gt_ignored, crowd, num_dets: int):
    """A x T x D: whether each detection is matched, and whether to an ignored object (COCOeval's greedy rule).

    Round r matches every image and class's r-th best detection at once: its choice depends only on the objects
    taken by the better ones. A detection's candidates are ordered by preference (counted before ignored, higher
    IoU, later object), so its match at each threshold is the first candidate above it and not yet taken.
    """
    num_areas, num_thresholds = gt_ignored.shape[0], len(IOU_THRESHOLDS)
    matched = np.zeros((num_areas, num_thresholds, num_dets), dtype=bool)
    det_ignored = np.zeros_like(matched)
    thresholds = IOU_THRESHOLDS[:, None]
    pair_rank = rank[det_idx]
    for a in range(num_areas):
        ignored = gt_ignored[a]
        order = np.lexsort((-gt_idx, -ious, ignored[gt_idx], det_idx, pair_rank))
        dets, gts, iou = det_idx[order], gt_idx[order], ious[order]
        bounds = np.searchsorted(pair_rank[order], np.arange(MAX_DETECTIONS[-1] + 1))
        taken = np.zeros((num_thresholds, len(crowd)), dtype=bool)
        for lo, hi in itertools.pairwise(bounds):
            if lo == hi:
                continue
            d, g = dets[lo:hi], gts[lo:hi]
            starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
            ok = (iou[lo:hi] >= thresholds) & (~taken[:, g] | crowd[g])
            first = np.minimum.reduceat(np.where(ok, np.arange(hi - lo), hi - lo), starts, axis=1)
            t, s = np.nonzero(first < hi - lo)
            chosen = g[first[t, s]]
            taken[t, chosen] = True
            matched[a, t, d[starts[s]]] = True
            det_ignored[a, t, d[starts[s]]] = ignored[chosen]
    return matched, det_ignored


# --- precision / recall --------------------------------------------------------------------------------------


def _accumulate(dets, rank, matched, det_ignored, gt_classes, gt_ignored, num_classes: int) -> CocoCurves:
    """COCOeval.accumulate: per class, the detections of every image by score (stable: image order, then rank),
    cumulative TP / FP, recall and interpolated precision at the 101 recall points.

    COCOeval cuts each image's list at 1, 10, 100 detections before sorting; here a detection beyond the cut
    stays in place with neither TP nor FP. That only repeats the point before it on the curve, which changes
    neither the final recall nor the interpolated precision (COCOeval keeps its ignored detections so too)."""
    num_areas, num_thresholds = gt_ignored.shape[0], len(IOU_THRESHOLDS)
    shape = (num_thresholds, len(RECALL_THRESHOLDS), num_classes, num_areas, len(MAX_DETECTIONS))
    precision, recall = -np.ones(shape), -np.ones((num_thresholds, num_classes, num_areas, len(MAX_DETECTIONS)))
    order = np.lexsort((rank, dets.image, -dets.scores, dets.classes))
    bounds = np.searchsorted(dets.classes[order], np.arange(num_classes + 1))
    counted = np.stack([np.bincount(gt_classes[~ign], minlength=num_classes) for ign in gt_ignored])  # A x K
    counts = ~det_ignored[:, :, order]  # A x T x D: a TP or an FP
    hit = matched[:, :, order]
    true_pos, false_pos = counts & hit, counts & ~hit
    in_top = np.stack([rank[order] < m for m in MAX_DETECTIONS])[:, None, :]  # M x 1 x D
    for k, a in zip(*np.nonzero(counted.T)):
        lo, hi = bounds[k], bounds[k + 1]
        tp = np.cumsum(true_pos[a, None, :, lo:hi] & in_top[..., lo:hi], axis=-1, dtype=np.int32)  # M x T x n
        fp = np.cumsum(false_pos[a, None, :, lo:hi] & in_top[..., lo:hi], axis=-1, dtype=np.int32)
        p, r = _curve(tp, fp, int(counted[a, k]))
        precision[:, :, k, a, :] = np.moveaxis(p, 0, -1)
        recall[:, k, a, :] = r.T
    return CocoCurves(precision, recall)


def _curve(tp: np.ndarray, fp: np.ndarray, npig: int) -> tuple[np.ndarray, np.ndarray]:
    """M x T x n cumulative counts -> interpolated precision at the recall points (M x T x R) and the final
    recall (M x T), with COCOeval's float64 arithmetic: rc = tp / npig, pr = tp / (fp + tp + eps)."""
    n = tp.shape[-1]
    if not n:
        return np.zeros((*tp.shape[:-1], len(RECALL_THRESHOLDS))), np.zeros(tp.shape[:-1])
    final = tp[..., -1] / npig
    pr = tp / (fp + tp + np.spacing(1))
    pr = np.maximum.accumulate(pr[..., ::-1], axis=-1)[..., ::-1]
    # COCOeval: searchsorted(rc, point, "left"); rc only grows with tp, so search the fewest TP reaching the point
    # among the integer counts, every row at once (rows shifted apart by more than any count)
    needed = _true_positives_needed(npig)
    rows = tp.reshape(-1, n).astype(np.int64)
    shift = np.arange(len(rows))[:, None] * (max(n, npig) + 1)
    where = np.searchsorted((rows + shift).ravel(), (needed[None, :] + shift).ravel(), side="left")
    index = where.reshape(len(rows), -1) - np.arange(len(rows))[:, None] * n
    values = np.take_along_axis(pr.reshape(-1, n), np.minimum(index, n - 1), axis=1)
    return np.where(index < n, values, 0.0).reshape(*tp.shape[:-1], -1), final


def _true_positives_needed(npig: int) -> np.ndarray:
    """For each recall point, the least integer c with c / npig >= the point in float arithmetic."""
    c = np.maximum(np.ceil(RECALL_THRESHOLDS * npig) - 2, 0).astype(np.int64)
    for _ in range(4):
        c = np.where(c / npig < RECALL_THRESHOLDS, c + 1, c)
    return c
