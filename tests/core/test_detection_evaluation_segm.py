"""Instance segmentation evaluated as COCO does (iou_type "segm"): against pycocotools' COCOeval on a COCO set written
here (crowd RLEs included), mask IoU behind every match, unreadable masks as failures; TIDE's fast AP@0.5."""

import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from core.datasets.base import Dataset
from core.datasets.layouts import open_dataset
from core.evaluation.detection import evaluate_detection
from core.evaluation.detection_files import summarize_detection, write_detection_evaluation
from core.inference.detection import encode_masks
from core.inference.detections import DetectionPredictions
from core.metrics import detection_errors as de
from core.metrics.detection import detection_report
from tests.fake_datasets import COCO_CATEGORIES, _rle_counts, write_images

HEIGHT, WIDTH = 60, 80
STATS = ("map", "map_50", "map_75", "map_small", "map_medium", "map_large", "mar_1", "mar_10", "mar_100")


def polygon_of(rng, size: float) -> list[float]:
    """A random convex-ish polygon (a jittered octagon) of about ``size`` pixels across inside the image."""
    cx, cy = rng.uniform(size / 2, WIDTH - size / 2), rng.uniform(size / 2, HEIGHT - size / 2)
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    radius = size / 2 * rng.uniform(0.6, 1.0, 8)
    xs = np.clip(cx + radius * np.cos(angles), 0, WIDTH - 1)
    ys = np.clip(cy + radius * np.sin(angles), 0, HEIGHT - 1)
    # Halves: float32 holds them exactly (the reader keeps polygons as float32; a coordinate like 12.3 would
    # move by 2e-7 and may flip a pixel on the edge against pycocotools' float64 rasterisation of the json).
    return (np.column_stack([xs, ys]).ravel() * 2).round().__truediv__(2).tolist()


def write_instances(root, n_images: int = 6, seed: int = 0) -> dict:
    """A COCO instances set: polygons of several sizes (small to large), one crowd region (uncompressed RLE) in
    every other image; each annotation's area is its mask's pixel count (what COCOeval then sorts by)."""
    rng = np.random.default_rng(seed)
    images, annotations = [], []
    for i in range(n_images):
        images.append({"id": 7 + i, "file_name": f"{i:04d}.png", "height": HEIGHT, "width": WIDTH})
        for _ in range(int(rng.integers(1, 6))):
            segmentation = [polygon_of(rng, float(rng.choice([6, 16, 56])))]
            annotations.append({"segmentation": segmentation, "iscrowd": 0, "image_id": 7 + i})
        if i % 2 == 0:
            crowd = np.zeros((HEIGHT, WIDTH), np.uint8)
            crowd[40:58, 2:30] = 1
            segmentation = {"size": [HEIGHT, WIDTH], "counts": _rle_counts(crowd)}
            annotations.append({"segmentation": segmentation, "iscrowd": 1, "image_id": 7 + i})
    for k, annotation in enumerate(annotations):
        segmentation = annotation["segmentation"]
        if isinstance(segmentation, list):
            rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, HEIGHT, WIDTH))
        else:
            rle = mask_utils.frPyObjects(segmentation, HEIGHT, WIDTH)
        annotation |= {
            "id": k + 1,
            "category_id": int(rng.choice([c["id"] for c in COCO_CATEGORIES])),
            "area": float(mask_utils.area(rle)),
            "bbox": [float(v) for v in mask_utils.toBbox(rle)],
        }
    data = {"images": images, "annotations": annotations, "categories": COCO_CATEGORIES}
    write_images(root / "val2017", [image["file_name"] for image in images], size=(HEIGHT, WIDTH))
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "instances_val2017.json").write_text(json.dumps(data))
    return data


def extent(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] if len(xs) else [0, 0, 1, 1]


def mask_run(dataset: Dataset, seed: int = 1) -> DetectionPredictions:
    """A run of masks: each object found by 0-2 shifted copies of its mask (the wrong class now and then), plus
    blobs on nothing; every mask's box its extent."""
    rng = np.random.default_rng(seed)
    run = DetectionPredictions.empty("instance_segmentation", dataset.classes, dataset.sample_ids, model="toy")
    for i in range(len(dataset)):
        instances, (_, classes) = dataset.load_instances(i), dataset.load_boxes(i)
        masks, labels = [], []
        for mask, label in zip(instances, classes):
            for _ in range(int(rng.integers(0, 3))):
                masks.append(np.roll(mask, tuple(rng.integers(-3, 4, 2)), axis=(0, 1)))
                labels.append(int(label) if rng.random() < 0.8 else int(rng.integers(0, len(dataset.classes))))
        for _ in range(int(rng.integers(0, 3))):
            blob = np.zeros((HEIGHT, WIDTH), bool)
            x, y = rng.integers(0, WIDTH - 10), rng.integers(0, HEIGHT - 10)
            blob[y : y + 8, x : x + 9] = True
            masks.append(blob)
            labels.append(int(rng.integers(0, len(dataset.classes))))
        stack = np.asarray(masks, bool).reshape(-1, HEIGHT, WIDTH)
        scores = rng.random(len(masks)).astype(np.float32)
        boxes = np.asarray([extent(m) for m in stack], np.float32).reshape(-1, 4)
        run.set_image(i, boxes, scores, labels, size=(HEIGHT, WIDTH), masks=encode_masks(stack))
    return run


def cocoeval_segm(data: dict, dataset: Dataset, run: DetectionPredictions) -> COCOeval:
    """pycocotools' COCOeval(iouType="segm") of ``run`` on the json itself."""
    category_ids = [c["id"] for c in sorted(COCO_CATEGORIES, key=lambda c: c["id"])]
    image_ids = {image["file_name"]: image["id"] for image in data["images"]}
    results = []
    for i, sample in enumerate(dataset.sample_ids):
        _, scores, labels = run.image(i)
        for d, counts in enumerate(run.masks[i]):
            rle = {"size": [HEIGHT, WIDTH], "counts": counts.decode()}
            results.append(
                {"image_id": image_ids[sample], "category_id": category_ids[labels[d]], "segmentation": rle,
                 "score": float(scores[d])}
            )  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = json.loads(json.dumps(data))
        truth.createIndex()
        evaluation = COCOeval(truth, truth.loadRes(results), iouType="segm")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation


def test_segm_numbers_equal_cocoeval_with_crowd_regions(tmp_path):
    data = write_instances(tmp_path)
    dataset = open_dataset(tmp_path)
    assert dataset.task == "instance_segmentation"
    assert any(a["iscrowd"] for a in data["annotations"])
    run = mask_run(dataset)
    summary = summarize_detection(dataset, run, iou_type="segm")
    reference = cocoeval_segm(data, dataset, run)
    assert summary["iou_type"] == "segm"
    assert summary["map_medium"] >= 0 and summary["map_small"] >= 0  # the areas span COCO's ranges
    for k, key in enumerate(STATS):
        assert summary[key] == pytest.approx(reference.stats[k], abs=1e-9), key
    precision = reference.eval["precision"]  # T x R x K x A x M
    for k, name in enumerate(dataset.classes):
        values = precision[:, :, k, 0, 2]
        expected = float(np.mean(values[values > -1])) if (values > -1).any() else -1.0
        assert summary["ap"][name] == pytest.approx(expected, abs=1e-9), name
    # The same run scored by its boxes gives other numbers: the masks were used.
    boxes = summarize_detection(dataset, run)
    assert boxes["iou_type"] == "bbox" and boxes["map"] != summary["map"]


def test_every_match_of_a_segm_run_uses_the_mask_iou(tmp_path):
    # An L-shaped object and a detection filling the rest of its box: the boxes are equal (box IoU 1), the masks
    # disjoint (mask IoU 0). Scored by boxes it is a TP; by masks a false positive on background and a miss.
    truth = np.zeros((1, 20, 20), bool)
    truth[0, 0:10, 0:3] = truth[0, 7:10, 0:10] = True
    detection = np.zeros((1, 20, 20), bool)
    detection[0, 0:7, 3:10] = True  # the rest of the L's box; the run says its box is the L's
    dataset = InstanceDataset(tmp_path, [(truth, [0])])
    run = DetectionPredictions.empty("instance_segmentation", dataset.classes, dataset.sample_ids, model="toy")
    run.set_image(0, [[0, 0, 10, 10]], [0.9], [0], size=(20, 20), masks=encode_masks(detection))
    by_box = summarize_detection(dataset, run, score_threshold=0.5)
    by_mask = summarize_detection(dataset, run, score_threshold=0.5, iou_type="segm")
    assert by_box["map_50"] == pytest.approx(1.0) and by_box["per_class"]["cat"]["tp"] == 1
    assert by_mask["map_50"] == 0.0 and by_mask["per_class"]["cat"]["tp"] == 0
    # The cat missed (last column), the detection a false one on background (last row).
    assert by_mask["confusion"]["matrix"] == [[0, 0, 1], [0, 0, 0], [1, 0, 0]]
    assert by_mask["errors"]["counts"]["background"] == 1  # mask IoU 0 with every object
    assert by_mask["pr_curves"]["cat"]["precision"] == [0.0]
    out = tmp_path / "eval"
    write_detection_evaluation(dataset, run, out, score_threshold=0.5, iou_type="segm")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iou_type"] == "segm" and "mask IoU" in metrics["convention"]
    rows = (out / "detections.csv").read_text().splitlines()
    assert [row.split(",")[-1] for row in rows[1:]] == ["FP:background", "FN"]
    assert (out / "per_image.csv").read_text().splitlines()[1].startswith("img0.png,0,1,1,")


class InstanceDataset(Dataset):
    """An instance segmentation dataset in memory: masks per image, their extents as boxes."""

    layout = "in-memory instances"

    def __init__(self, tmp_path, images, broken=()):
        super().__init__(
            tmp_path, task="instance_segmentation", tasks=("instance_segmentation", "detection"),
            classes=["cat", "dog"], splits=[], split=None, sample_ids=[f"img{i}.png" for i in range(len(images))],
        )  # fmt: skip
        self.images, self.broken = images, set(broken)

    def load_boxes(self, index):
        masks, classes = self.images[index]
        boxes = np.asarray([extent(m) for m in masks], np.float32).reshape(-1, 4)
        return boxes, np.asarray(classes, np.int64)

    def load_instances(self, index):
        if index in self.broken:
            raise ValueError(f"img{index}.png: annotation 0 cannot be drawn")
        return self.images[index][0]


def test_images_whose_masks_cannot_be_read_are_failures(tmp_path):
    mask = np.zeros((1, 20, 20), bool)
    mask[0, 2:8, 2:8] = True
    dataset = InstanceDataset(tmp_path, [(mask, [0]), (mask, [1]), (mask, [0])], broken=[1])
    run = DetectionPredictions.empty("instance_segmentation", dataset.classes, dataset.sample_ids, model="toy")
    for i in range(3):
        run.set_image(i, [[2, 2, 8, 8]], [0.8], [dataset.load_boxes(i)[1][0]], size=(20, 20), masks=encode_masks(mask))
    summary = summarize_detection(dataset, run, iou_type="segm")
    assert summary["num_images"] == 2 and summary["failed"] == 1
    assert summary["failures"][0]["sample_id"] == "img1.png" and "cannot be drawn" in summary["failures"][0]["error"]
    assert summary["map"] == pytest.approx(1.0)  # the dog's only image failed: no dog objects left
    assert summary["ap"]["dog"] == -1
    # A run whose masks are of another size than the truth's: a failure of each image, not a crash.
    other = DetectionPredictions.empty("instance_segmentation", dataset.classes, dataset.sample_ids, model="toy")
    other.set_image(0, [[2, 2, 8, 8]], [0.8], [0], size=(10, 10), masks=encode_masks(mask[:, :10, :10]))
    evaluation = evaluate_detection(dataset, other, iou_type="segm")
    assert len(evaluation.images) == 0 and "differ in size" in evaluation.failures[0]


def test_segm_needs_a_run_with_masks(tmp_path):
    mask = np.ones((1, 4, 4), bool)
    dataset = InstanceDataset(tmp_path, [(mask, [0])])
    run = DetectionPredictions.empty("detection", dataset.classes, dataset.sample_ids, model="toy")
    run.set_image(0, [[0, 0, 4, 4]], [0.8], [0], size=(4, 4))
    with pytest.raises(ValueError, match="masks"):
        summarize_detection(dataset, run, iou_type="segm")
    with pytest.raises(ValueError, match="iou_type"):
        summarize_detection(dataset, run, iou_type="keypoints")


def random_run(seed: int, images: int = 25, classes: int = 4, many: bool = False):
    """Random boxes with score ties, crowd regions and ignored objects; ``many``: over 100 detections of one
    class in an image (COCOeval keeps the 100 best)."""
    rng = np.random.default_rng(seed)
    truths, detections = [], []
    for _ in range(images):
        g = int(rng.integers(0, 30 if many else 7))
        xy = rng.integers(0, 60, (g, 2))
        boxes = np.hstack([xy, xy + rng.integers(2, 25, (g, 2))]).astype(float)
        labels = rng.integers(0, classes, g)
        truths.append((boxes, labels, {"iscrowd": rng.random(g) < 0.15, "ignore": rng.random(g) < 0.1}))
        m = int(rng.integers(0, 250 if many else 15))
        source = rng.integers(0, max(g, 1), m)
        found = (boxes[source] if g else np.zeros((m, 4))) + rng.integers(-4, 5, (m, 4))
        found[:, 2:] = np.maximum(found[:, 2:], found[:, :2] + 1)
        right = labels[source] if g else np.zeros(m, np.int64)
        classes_of = np.where(rng.random(m) < 0.6, right, rng.integers(0, classes, m))
        detections.append((found, np.round(rng.random(m), 1), classes_of))  # rounded: ties of score
    return truths, detections


@pytest.mark.parametrize("seed", range(12))
def test_fast_ap_50_equals_detection_report_and_its_oracle_fixes(seed):
    truths, detections = random_run(seed, many=seed % 4 == 3)
    errors = [de.image_errors(t, d) for t, d in zip(truths, detections)]
    base, fixed = de.fast_delta_map(truths, detections, errors, 4)
    assert base == detection_report(truths, detections, 4)["map_50"]
    for kind in de.ERROR_KINDS:
        assert fixed[kind] == de.map_50(*de.fixed_inputs(truths, detections, errors, kind), 4), kind
    slow = de.error_delta_map(truths, detections, errors, 4, map_at_50=de.map_50)
    assert de.error_delta_map(truths, detections, errors, 4) == slow


def test_fast_ap_50_per_class_and_undefined_classes():
    truths = [(np.array([[0, 0, 10, 10]]), np.array([0]))]
    detections = [(np.array([[0, 0, 10, 10], [50, 50, 60, 60]]), np.array([0.5, 0.9]), np.array([0, 0]))]
    errors = [de.image_errors(t, d) for t, d in zip(truths, detections)]
    r = de._ranked(truths, detections, errors)
    mean, per_class = de.coco_ap_50(r.scores, r.classes, r.images, r.order, r.status, r.objects, 2)
    report = detection_report(truths, detections, 2)
    assert mean == report["map_50"] and per_class.tolist() == report["ap_50"]
    assert per_class[1] == -1  # no objects of class 1


def test_a_tiny_mask_rcnn_end_to_end_writes_a_segm_evaluation(monkeypatch, tmp_path):
    """A randomly initialised Mask R-CNN (no weights downloaded) through the instance segmentation task's job on a
    COCO set, then its write_evaluation: metrics.json with iou_type segm, detections.csv and per_image.csv."""
    import dataclasses

    import torch
    import torchvision.models as tvm

    from core import tasks
    from core.inference.progress import run_to_end
    from core.models import zoo

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    write_instances(tmp_path / "coco", n_images=3)
    dataset = open_dataset(tmp_path / "coco")
    torch.manual_seed(0)
    model = tvm.get_model_builder("maskrcnn_resnet50_fpn")(
        weights=None, weights_backbone=None, num_classes=len(dataset.classes) + 1, min_size=64, max_size=96
    ).eval()
    card = zoo.zoo_card("maskrcnn_resnet50_fpn", None, num_classes=len(dataset.classes) + 1)
    card = dataclasses.replace(card, classes=["__background__", *dataset.classes])
    task = tasks.get("instance_segmentation")
    run = run_to_end(task.job(card, dataset, model=model, device="cpu", max_detections=20))
    assert run.done.all() and run.masks is not None and sum(len(m) for m in run.masks) > 0
    out = tmp_path / "evaluation"
    summary = task.write_evaluation(dataset, run, out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert summary["iou_type"] == metrics["iou_type"] == "segm" and metrics["num_images"] == 3
    assert metrics["num_detections"] == sum(len(m) for m in run.masks)
    detections = (out / "detections.csv").read_text().splitlines()
    assert detections[0] == "sample_id,x0,y0,x1,y1,score,class,match" and len(detections) > 1
    per_image = (out / "per_image.csv").read_text().splitlines()
    assert per_image[0].startswith("sample_id,tp,fp,fn") and len(per_image) == 4
    assert (out / "predictions.npz").exists()


@pytest.mark.parametrize("seed", range(4))
def test_match_image_statuses_equal_cocoeval_at_one_iou(seed):
    """Every detection's status of core.metrics.boxes.match_image (which the segm and fast paths build on) is
    COCOeval's at IoU 0.5, crowd regions and ties of score and IoU included."""
    from core.metrics.boxes import IGNORED, TP, match_image

    truths, detections = random_run(seed, images=15)
    images = [{"id": i + 1, "height": 100, "width": 100} for i in range(len(truths))]
    gt, dt = [], []
    for i, ((boxes, classes, extras), (found, scores, labels)) in enumerate(zip(truths, detections)):
        for b, c, crowd in zip(boxes, classes, extras["iscrowd"]):
            xywh = [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]
            gt.append({"id": len(gt) + 1, "image_id": i + 1, "category_id": int(c) + 1, "bbox": xywh,
                       "area": xywh[2] * xywh[3], "iscrowd": int(crowd)})  # fmt: skip
        for b, s, c in zip(found, scores, labels):
            dt.append({"image_id": i + 1, "category_id": int(c) + 1, "score": float(s),
                       "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]})  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {"images": images, "annotations": gt, "categories": [{"id": k + 1} for k in range(4)]}
        coco.createIndex()
        evaluation = COCOeval(coco, coco.loadRes(dt) if dt else COCO(), iouType="bbox")
        evaluation.params.iouThrs = np.array([0.5])
        evaluation.params.areaRng, evaluation.params.areaRngLbl = [[0, 1e10]], ["all"]
        evaluation.evaluate()
    expected = {}  # detection id -> "TP" / "FP" / "IGNORED"
    for entry in filter(None, evaluation.evalImgs):
        for d, matched, ignored in zip(entry["dtIds"], entry["dtMatches"][0], entry["dtIgnore"][0]):
            expected[d] = "IGNORED" if ignored else "TP" if matched else "FP"
    first_id = 1
    for (boxes, classes, extras), (found, scores, labels) in zip(truths, detections):
        m = match_image(boxes, classes, found, scores, labels, 0.5, iscrowd=extras["iscrowd"])
        ours = ["IGNORED" if s == IGNORED else "TP" if s == TP else "FP" for s in m.pred_status]
        assert ours == [expected[first_id + d] for d in range(len(found))]
        first_id += len(found)
