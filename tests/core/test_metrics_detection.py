"""COCO detection metrics against pycocotools' COCOeval itself, on random and on hand-made cases.

Every comparison converts our per-image arrays into COCO json the way a COCO exporter would (boxes as
[x, y, x1 - x0, y1 - y0], category k as id k + 1, image i as id i + 1, area w * h or the mask's) and asks for
the arrays and the twelve stats to be equal to 1e-9.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from core.metrics import coco_curves, detection_report
from core.metrics.detection import IOU_THRESHOLDS, RECALL_THRESHOLDS

STATS = [
    "map", "map_50", "map_75", "map_small", "map_medium", "map_large",
    "mar_1", "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large",
]  # fmt: skip


def _rle(mask_or_rle):
    if isinstance(mask_or_rle, dict):
        return mask_or_rle
    return mask_utils.encode(np.asfortranarray(np.asarray(mask_or_rle, dtype=np.uint8)))


def _truth_annotation(i: int, j: int, item, iou_type: str, next_id: int) -> dict:
    boxes, classes = item[0], np.asarray(item[1]).reshape(-1)
    extras = item[2] if len(item) > 2 else {}
    crowd = extras.get("iscrowd")
    ann = {"id": next_id, "image_id": i + 1, "category_id": int(classes[j]) + 1}
    ann["iscrowd"] = int(crowd[j]) if crowd is not None else 0
    if iou_type == "segm":
        ann["segmentation"] = _rle(extras["masks"][j])
        ann["area"] = float(mask_utils.area(ann["segmentation"]))
        ann["bbox"] = [float(v) for v in mask_utils.toBbox(ann["segmentation"])]
    else:
        x0, y0, x1, y1 = (float(v) for v in np.asarray(boxes, dtype=np.float64)[j])
        ann["bbox"] = [x0, y0, x1 - x0, y1 - y0]
        ann["area"] = ann["bbox"][2] * ann["bbox"][3]
    if extras.get("area") is not None:
        ann["area"] = float(extras["area"][j])
    return ann


def _detection(i: int, j: int, item, iou_type: str) -> dict:
    det = {"image_id": i + 1, "category_id": int(np.asarray(item[2])[j]) + 1, "score": float(item[1][j])}
    if iou_type == "segm":  # no "bbox": loadRes would then take the box's area, not the mask's
        det["segmentation"] = _rle(item[3][j])
    else:
        x0, y0, x1, y1 = (float(v) for v in np.asarray(item[0], dtype=np.float64)[j])
        det["bbox"] = [x0, y0, x1 - x0, y1 - y0]
    return det


def cocoeval(ground_truth, predictions, num_classes: int, iou_type: str = "bbox") -> COCOeval:
    """pycocotools' COCOeval run (evaluate, accumulate, summarize) on our inputs converted to COCO json."""
    anns = []
    for i, item in enumerate(ground_truth):
        anns += [_truth_annotation(i, j, item, iou_type, len(anns) + j + 1) for j in range(len(item[1]))]
    dets = [_detection(i, j, item, iou_type) for i, item in enumerate(predictions) for j in range(len(item[1]))]
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = {
            "images": [{"id": i + 1, "width": 640, "height": 480} for i in range(len(ground_truth))],
            "annotations": anns,
            "categories": [{"id": k + 1, "name": f"c{k}"} for k in range(num_classes)],
        }
        truth.createIndex()
        evaluation = COCOeval(truth, truth.loadRes(dets), iou_type)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation


def _coco_per_class(evaluation: COCOeval, iou_index=slice(None)) -> list[float]:
    precision = evaluation.eval["precision"][iou_index, :, :, 0, 2]
    out = []
    for k in range(precision.shape[-1]):
        kept = precision[..., k][precision[..., k] > -1]
        out.append(float(np.mean(kept)) if kept.size else -1.0)
    return out


def assert_same_as_cocoeval(ground_truth, predictions, num_classes: int, iou_type: str = "bbox") -> dict:
    evaluation = cocoeval(ground_truth, predictions, num_classes, iou_type)
    curves = coco_curves(ground_truth, predictions, num_classes, iou_type)
    np.testing.assert_allclose(curves.precision, evaluation.eval["precision"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(curves.recall, evaluation.eval["recall"], rtol=0, atol=1e-9)
    report = detection_report(ground_truth, predictions, num_classes, iou_type)
    np.testing.assert_allclose([report[k] for k in STATS], evaluation.stats, rtol=0, atol=1e-9)
    np.testing.assert_allclose(report["ap"], _coco_per_class(evaluation), rtol=0, atol=1e-9)
    np.testing.assert_allclose(report["ap_50"], _coco_per_class(evaluation, 0), rtol=0, atol=1e-9)
    return report


def random_case(seed: int, num_images: int = 25, num_classes: int = 4, crowd_rate: float = 0.1):
    """Objects of every area range; detections near them (right class 80% of the time) or anywhere, scores
    rounded to one decimal so that many tie; every 6th image has more than 100
    detections of one class."""
    rng = np.random.default_rng(seed)
    truth, predictions = [], []
    for i in range(num_images):
        n = int(rng.integers(0, 9))
        corner = rng.uniform(0, 300, (n, 2))
        boxes = np.hstack([corner, corner + np.exp(rng.uniform(np.log(3), np.log(250), (n, 2)))]).astype(np.float32)
        classes = rng.integers(0, num_classes, n)
        truth.append((boxes, classes, {"iscrowd": rng.random(n) < crowd_rate}))
        m = int(rng.integers(101, 160) if i % 6 == 0 else rng.integers(0, 15))
        near = rng.integers(0, max(n, 1), m)
        anywhere = rng.uniform(0, 300, (m, 2))
        random_boxes = np.hstack([anywhere, anywhere + rng.uniform(2, 200, (m, 2))])
        jittered = boxes[near] * rng.normal(1, 0.04, (m, 4)) if n else random_boxes
        use_near = rng.random(m) < 0.7
        pred_boxes = np.where(use_near[:, None], jittered, random_boxes).astype(np.float32)
        pred_classes = np.where(use_near & (rng.random(m) < 0.8), classes[near] if n else 0, rng.integers(0, 4, m))
        if i % 6 == 0:  # more than 100 of one class: COCOeval keeps the best 100
            pred_classes = np.where(rng.random(m) < 0.9, classes[0] if n else 0, pred_classes)
        predictions.append((pred_boxes, np.round(rng.random(m), 1).astype(np.float32), pred_classes))
    return truth, predictions


@pytest.mark.parametrize("seed", range(6))
def test_random_boxes_equal_cocoeval(seed):
    truth, predictions = random_case(seed)
    report = assert_same_as_cocoeval(truth, predictions, 4)
    assert 0 < report["map"] < 1 and report["map_small"] > -1 and report["map_large"] > -1


def test_random_cases_cover_what_they_claim():
    truth, predictions = random_case(0)
    areas = np.concatenate([np.prod(b[:, 2:] - b[:, :2], axis=1) for b, _, _ in truth])
    assert (areas < 32**2).any() and ((areas > 32**2) & (areas < 96**2)).any() and (areas > 96**2).any()
    assert max(np.bincount(c).max() for _, _, c in predictions if len(c)) > 100
    scores = np.concatenate([s for _, s, _ in predictions])
    assert len(np.unique(scores)) < len(scores) / 10
    assert any(e["iscrowd"].any() for _, _, e in truth)


@pytest.mark.parametrize("seed", range(3))
def test_whole_pixel_grid_with_equal_ious_and_duplicate_objects(seed):
    """Boxes on a coarse grid: many IoUs are equal (ties go to the later object) or fall exactly on a threshold
    (0.5, 0.75...), some objects are duplicates, and scores take four values."""
    rng = np.random.default_rng(seed)
    truth, predictions = [], []
    for _ in range(20):
        n = int(rng.integers(0, 12))
        corner = rng.integers(0, 6, (n, 2)) * 8
        boxes = np.hstack([corner, corner + rng.integers(1, 5, (n, 2)) * 8]).astype(np.float32)
        if n > 1:
            boxes[-1] = boxes[0]  # a duplicate object
        classes = rng.integers(0, 2, n)
        truth.append(
            (boxes, classes, {"iscrowd": rng.random(n) < 0.1, "area": np.prod(boxes[:, 2:] - boxes[:, :2], 1)})
        )
        m = int(rng.integers(0, 25))
        corner = rng.integers(0, 6, (m, 2)) * 8
        pred = np.hstack([corner, corner + rng.integers(1, 5, (m, 2)) * 8]).astype(np.float32)
        predictions.append((pred, rng.integers(1, 5, m).astype(np.float32) / 4, rng.integers(0, 2, m)))
    assert_same_as_cocoeval(truth, predictions, 2)


@pytest.mark.parametrize("later_is_a", [False, True])
def test_equal_ious_go_to_the_later_object(later_is_a):
    """The first detection overlaps objects A and B equally (IoU 0.6); the second overlaps only A. COCOeval gives
    the first one the later object of the two: if that is B, both detections are right."""
    a, b = [0, 0, 10, 10], [5, 0, 15, 10]
    objects = np.array([b, a] if later_is_a else [a, b], dtype=np.float32)
    truth = [(objects, np.array([0, 0]))]
    predictions = [(np.array([[2.5, 0, 12.5, 10], a], np.float32), np.array([0.9, 0.8], np.float32), np.array([0, 0]))]
    report = assert_same_as_cocoeval(truth, predictions, 1)
    assert report["map_50"] == pytest.approx(0.5 if later_is_a else 1.0, abs=0.01)


def test_recalls_that_fall_exactly_on_the_recall_points():
    """100 objects of one class: recall k / 100 meets the points 0.00..1.00 (float64, as COCOeval compares)."""
    rng = np.random.default_rng(0)
    boxes = np.array([[10, 10, 50, 50]], dtype=np.float32)
    truth = [(boxes, np.array([0])) for _ in range(100)]
    found = rng.random(100) < 0.8
    predictions = [
        (boxes if f else boxes + 100, np.array([s], np.float32), np.array([0])) for f, s in zip(found, rng.random(100))
    ]
    assert_same_as_cocoeval(truth, predictions, 1)


def test_all_scores_tied_keep_the_given_order():
    truth, predictions = random_case(11)
    tied = [(b, np.full(len(s), 0.5, dtype=np.float32), c) for b, s, c in predictions]
    assert_same_as_cocoeval(truth, tied, 4)


def test_many_classes_and_a_class_never_present_or_never_predicted():
    truth, predictions = random_case(3, num_classes=4)
    # class 4 is predicted but has no truth (-1), class 5 has truth but is never predicted (0), 6 neither (-1)
    truth[1] = (
        np.vstack([truth[1][0], [[5, 5, 60, 60]]]),
        np.r_[truth[1][1], 5],
        {"iscrowd": np.r_[truth[1][2]["iscrowd"], False]},
    )
    predictions[2] = (
        np.vstack([predictions[2][0], [[0, 0, 40, 40]]]),
        np.r_[predictions[2][1], 0.9],
        np.r_[predictions[2][2], 4],
    )
    report = assert_same_as_cocoeval(truth, predictions, 7)
    assert report["ap"][4] == -1 and report["ap"][5] == 0 and report["ap"][6] == -1
    assert len(report["ap"]) == len(report["ap_50"]) == len(report["ar"]) == 7


def test_images_without_truth_and_without_predictions():
    truth, predictions = random_case(5)
    for i in (1, 3, 4):
        truth[i] = (np.zeros((0, 4), np.float32), np.zeros(0, np.int64))
    for i in (2, 3, 7):
        predictions[i] = (np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
    assert_same_as_cocoeval(truth, predictions, 4)


def test_crowd_regions_take_any_number_of_detections():
    crowd = np.array([[0, 0, 200, 200], [300, 300, 340, 340]], dtype=np.float32)
    truth = [(crowd, np.array([0, 0]), {"iscrowd": np.array([True, False])})]
    inside = np.array([[10, 10, 60, 60], [100, 100, 150, 150], [0, 0, 210, 210], [302, 301, 340, 338]], np.float32)
    predictions = [(inside, np.array([0.9, 0.8, 0.7, 0.6], np.float32), np.zeros(4, np.int64))]
    report = assert_same_as_cocoeval(truth, predictions, 1)
    assert report["map_50"] == pytest.approx(1.0)  # the three in the crowd are ignored, not false


def test_area_from_extras_is_the_one_compared_with_the_ranges():
    truth, predictions = random_case(7)
    rng = np.random.default_rng(0)
    truth = [(b, c, {**e, "area": rng.uniform(0, 20000, len(c))}) for b, c, e in truth]
    plain = detection_report([t[:2] for t in truth], predictions, 4)
    report = assert_same_as_cocoeval(truth, predictions, 4)
    assert report["map_small"] != plain["map_small"]


def test_ignore_is_cocoevals_ignore_with_the_normal_iou():
    """An object marked ``ignore`` behaves as COCOeval's object outside every area range (area > 1e10):
    ignored the same way, matched with the normal IoU, once."""
    truth, predictions = random_case(9, crowd_rate=0.0)
    rng = np.random.default_rng(1)
    marked = [rng.random(len(c)) < 0.3 for _, c, _ in truth]
    ours = [(b, c, {"ignore": m}) for (b, c, _), m in zip(truth, marked)]
    huge = [
        (b, c, {"area": np.where(m, 2e10, np.prod(b[:, 2:] - b[:, :2], axis=1))}) for (b, c, _), m in zip(truth, marked)
    ]
    evaluation = cocoeval(huge, predictions, 4)
    curves = coco_curves(ours, predictions, 4)
    np.testing.assert_allclose(curves.precision, evaluation.eval["precision"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(curves.recall, evaluation.eval["recall"], rtol=0, atol=1e-9)
    assert not np.array_equal(curves.precision, coco_curves(truth, predictions, 4).precision)


def test_an_ignored_object_is_no_miss_and_its_detection_no_false_positive():
    boxes = np.array([[0, 0, 50, 50], [100, 100, 150, 150]], dtype=np.float32)
    found_one = [(boxes[:1], np.array([0.9], np.float32), np.array([0]))]
    both_on_difficult = [(boxes, np.array([0.8, 0.9], np.float32), np.array([0, 0]))]
    difficult = [(boxes, np.array([0, 0]), {"ignore": np.array([False, True])})]
    assert detection_report(difficult, found_one, 1)["map"] == pytest.approx(1.0)
    assert detection_report(difficult, both_on_difficult, 1)["map"] == pytest.approx(1.0)
    counted = [(boxes, np.array([0, 0]))]
    assert detection_report(counted, found_one, 1)["map"] < 0.6


def test_no_predictions_at_all():
    truth, _ = random_case(2)
    nothing = [(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64)) for _ in truth]
    report = detection_report(truth, nothing, 5)
    present = {int(k) for _, c, e in truth for k in c[~e["iscrowd"]]}
    assert report["ap"] == [0.0 if k in present else -1.0 for k in range(5)]
    assert report["map"] == 0.0 and report["mar_100"] == 0.0


def test_empty_input_is_undefined_everywhere():
    report = detection_report([], [], 3)
    assert all(report[k] == -1 for k in STATS)
    assert report["ap"] == report["ap_50"] == [-1.0, -1.0, -1.0]


def test_inputs_that_do_not_fit_are_refused():
    box = np.array([[0, 0, 10, 10]], np.float32)
    with pytest.raises(ValueError, match="images"):
        detection_report([(box, [0])], [], 1)
    with pytest.raises(ValueError, match="classes outside"):
        detection_report([(box, [1])], [(box, [0.5], [0])], 1)
    with pytest.raises(ValueError, match="needs the boxes"):
        detection_report([(None, [0])], [(box, [0.5], [0])], 1)
    with pytest.raises(ValueError, match="masks"):
        detection_report([(None, [0])], [(None, [0.5], [0])], 1, iou_type="segm")
    with pytest.raises(ValueError, match="iou_type"):
        detection_report([(box, [0])], [(box, [0.5], [0])], 1, iou_type="keypoints")


def _blobs(rng, n: int, shape=(48, 64)) -> np.ndarray:
    """n random masks (rectangles with holes), some of them tiny."""
    masks = np.zeros((n, *shape), dtype=bool)
    for j in range(n):
        y, x = rng.integers(0, shape[0] - 4), rng.integers(0, shape[1] - 4)
        h, w = rng.integers(2, shape[0] - y + 1), rng.integers(2, shape[1] - x + 1)
        masks[j, y : y + h, x : x + w] = True
        masks[j] &= rng.random(shape) < 0.9
    return masks


@pytest.mark.parametrize("seed", range(3))
def test_segm_with_masks_equals_cocoeval(seed):
    rng = np.random.default_rng(seed)
    truth, predictions = [], []
    for i in range(8):
        n = int(rng.integers(0, 5))
        masks, classes = _blobs(rng, n), rng.integers(0, 3, n)
        crowd = rng.random(n) < 0.15
        as_rles = i % 2 == 1  # half the images give RLE dicts, the other half boolean arrays
        truth.append((None, classes, {"iscrowd": crowd, "masks": [_rle(m) for m in masks] if as_rles else masks}))
        m = int(rng.integers(0, 8))
        near = rng.integers(0, max(n, 1), m)
        pred = masks[near] ^ (rng.random((m, *masks.shape[1:])) < 0.1) if n else _blobs(rng, m)
        pred_classes = classes[near] if n else rng.integers(0, 3, m)
        predictions.append((None, np.round(rng.random(m), 1), pred_classes, pred if i % 3 else [_rle(p) for p in pred]))
    report = assert_same_as_cocoeval(truth, predictions, 3, iou_type="segm")
    assert report["map"] > 0


def test_segm_crowd_masks_as_uncompressed_rle():
    mask = np.zeros((20, 30), dtype=bool)
    mask[2:15, 3:25] = True
    uncompressed = {"size": [20, 30], "counts": [int(v) for v in _uncompressed_counts(mask)]}
    truth = [(None, np.array([0]), {"iscrowd": np.array([True]), "masks": [uncompressed]})]
    part = np.zeros_like(mask)
    part[4:10, 5:12] = True
    predictions = [(None, np.array([0.5]), np.array([0]), part[None])]
    report = detection_report(truth, predictions, 1, iou_type="segm")
    assert report["map"] == -1  # only a crowd: nothing to find, and the detection inside it is ignored


def _uncompressed_counts(mask: np.ndarray) -> list[int]:
    flat = mask.T.ravel().astype(np.int8)  # COCO's column-major order
    changes = np.flatnonzero(np.diff(np.r_[0, flat, 1 - flat[-1]]))
    return list(np.diff(np.r_[0, changes]))


def test_map_equals_torchmetrics_mean_average_precision():
    import torch
    from torchmetrics.detection import MeanAveragePrecision

    truth, predictions = random_case(4)
    predictions = [(b[:100], s[:100], c[:100]) for b, s, c in predictions]  # torchmetrics warns beyond 100
    # whole pixels: torchmetrics converts boxes to float32 tensors, where fractions would round differently
    truth = [(np.round(b), c, e) for b, c, e in truth]
    predictions = [(np.round(b), s, c) for b, s, c in predictions]
    # COCOeval's float64 thresholds: torchmetrics' defaults are float32 (torch.linspace), 0.550000011920929 for 0.55,
    # which moves IoUs and recalls that fall exactly on a threshold (docs/metrics-conventions.md)
    thresholds = {"iou_thresholds": IOU_THRESHOLDS.tolist(), "rec_thresholds": RECALL_THRESHOLDS.tolist()}
    metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", backend="pycocotools", **thresholds)
    metric.update(
        [{"boxes": torch.tensor(b), "scores": torch.tensor(s), "labels": torch.tensor(c)} for b, s, c in predictions],
        [
            {"boxes": torch.tensor(b), "labels": torch.tensor(c), "iscrowd": torch.tensor(e["iscrowd"])}
            for b, c, e in truth
        ],
    )
    theirs = metric.compute()
    ours = detection_report(truth, predictions, 4)
    for key in ("map", "map_50", "map_75", "map_small", "map_large", "mar_1", "mar_100"):
        assert ours[key] == pytest.approx(float(theirs[key]), abs=1e-6), key  # theirs are float32 tensors
