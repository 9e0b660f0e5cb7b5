"""Boxes against boxes: IoU (crowd-aware, as COCOeval computes it) and one image's matching at one IoU.

Boxes are float N x 4 ``(x0, y0, x1, y1)`` in pixels, the convention of torchvision's detection models and of
``Sample.boxes()``. Areas are ``(x1 - x0) * (y1 - y0)`` with no +1 (COCO's convention, not VOC devkit's).

:func:`match_image` matches one image's detections to its objects the way COCOeval does at one IoU
threshold: detections best score first, each takes the unmatched object of its class with the highest IoU at
or above the threshold, objects to be ignored (crowd regions, VOC's "difficult") only when no other object
qualifies; a detection matched to an ignored object is itself ignored, and a crowd region may take any number
of detections. Every view that draws TP / FP / FN and every count per image starts from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A detection's or an object's status in :class:`ImageMatch`.
FP, TP, IGNORED = 0, 1, 2
#: An object that no detection matched (``truth_status``).
FN = 0


def as_boxes(boxes) -> np.ndarray:
    """Any N x 4 array-like (or an empty list) as float64 N x 4."""
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def box_area(boxes) -> np.ndarray:
    b = as_boxes(boxes)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def box_iou(a, b, crowd=None) -> np.ndarray:
    """The len(a) x len(b) IoU of detections ``a`` with objects ``b``. Where ``crowd[j]`` is True the union
    is the detection's own area (COCOeval's rule: a detection inside a crowd region overlaps it fully)."""
    a, b = as_boxes(a), as_boxes(b)
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), dtype=np.float64)
    left = np.maximum(a[:, None, 0], b[None, :, 0])
    top = np.maximum(a[:, None, 1], b[None, :, 1])
    right = np.minimum(a[:, None, 2], b[None, :, 2])
    bottom = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area_a, area_b = box_area(a)[:, None], box_area(b)[None, :]
    union = area_a + area_b - inter
    if crowd is not None:
        crowd = np.asarray(crowd, dtype=bool).reshape(1, -1)
        union = np.where(crowd, np.broadcast_to(area_a, union.shape), union)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


@dataclass(frozen=True)
class ImageMatch:
    """One image's detections matched to its objects at one IoU threshold."""

    #: Per detection (in the order given): TP, FP or IGNORED (matched to a crowd or difficult object).
    pred_status: np.ndarray  # int8 M
    #: Per detection: the object it matched, -1 for none.
    pred_match: np.ndarray  # int64 M
    #: Per detection: its IoU with the matched object (0 for none).
    pred_iou: np.ndarray  # float64 M
    #: Per object (in the order given): TP (found), FN (missed) or IGNORED (crowd / difficult).
    truth_status: np.ndarray  # int8 G
    #: M x G IoU of every detection with every object, whatever the classes (for the error kinds).
    ious: np.ndarray

    @property
    def tp(self) -> int:
        return int((self.pred_status == TP).sum())

    @property
    def fp(self) -> int:
        return int((self.pred_status == FP).sum())

    @property
    def fn(self) -> int:
        return int((self.truth_status == FN).sum())


def match_image(
    truth_boxes,
    truth_classes,
    pred_boxes,
    pred_scores,
    pred_classes,
    iou_threshold: float = 0.5,
    *,
    iscrowd=None,
    ignore=None,
    ious: np.ndarray | None = None,
) -> ImageMatch:
    """COCOeval's greedy matching of one image at one IoU threshold (see the module's docstring).

    ``iscrowd`` marks crowd regions (matched with the crowd IoU, any number of times); ``ignore`` marks other
    objects that must neither count as misses nor punish detections (VOC's difficult). ``ious`` may pass a
    precomputed M x G crowd-aware IoU matrix. Ties of score keep the given order (a stable sort).
    """
    truth_classes = np.asarray(truth_classes, dtype=np.int64).reshape(-1)
    pred_classes = np.asarray(pred_classes, dtype=np.int64).reshape(-1)
    scores = np.asarray(pred_scores, dtype=np.float64).reshape(-1)
    g, m = len(truth_classes), len(pred_classes)
    crowd = np.zeros(g, dtype=bool) if iscrowd is None else np.asarray(iscrowd, dtype=bool).reshape(-1)
    ignored = crowd | (np.zeros(g, dtype=bool) if ignore is None else np.asarray(ignore, dtype=bool).reshape(-1))
    if ious is None:
        ious = box_iou(pred_boxes, truth_boxes, crowd)
    pred_status = np.full(m, FP, dtype=np.int8)
    pred_match = np.full(m, -1, dtype=np.int64)
    pred_iou = np.zeros(m, dtype=np.float64)
    taken = np.zeros(g, dtype=bool)
    # Objects to count first, ignored ones after (COCOeval sorts its ground truth so).
    object_order = np.argsort(ignored, kind="stable")
    lowest = min(iou_threshold, 1 - 1e-10)
    # Only the objects of its class at the threshold can take a detection: the loops see those alone (the
    # others would be skipped one by one; most detections of a run have none).
    reach = ((pred_classes[:, None] == truth_classes[None, :]) & (ious >= lowest))[:, object_order]
    ranked = np.argsort(-scores, kind="stable")
    for d in ranked[reach.any(axis=1)[ranked]] if g else ():
        best, found = lowest, -1
        for j in object_order[reach[d]]:
            if taken[j] and not crowd[j]:
                continue
            if found > -1 and not ignored[found] and ignored[j]:
                break  # a counted object is matched: ignored ones come only after
            if ious[d, j] < best:
                continue
            best, found = ious[d, j], j
        if found < 0:
            continue
        taken[found] = True
        pred_match[d], pred_iou[d] = found, ious[d, found]
        pred_status[d] = IGNORED if ignored[found] else TP
    truth_status = np.where(ignored, IGNORED, np.where(taken, TP, FN)).astype(np.int8)
    return ImageMatch(pred_status, pred_match, pred_iou, truth_status, ious)
