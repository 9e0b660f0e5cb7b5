"""Time core.metrics.detection_report against pycocotools' COCOeval and faster-coco-eval, measured in the same run.

    python benchmarks/bench_detection_metrics.py [--quick] [--images N] [--repeat R]

The data: N images (5,000, COCO val's size), 80 classes, about 7 objects and 20 detections per image (most near an
object, some anywhere, a few of the wrong class), 1% crowd regions. Each time is the median of several runs.
Ours starts from the per-image arrays; the references start from their COCO objects already built (the json
loaded, ``loadRes`` done), so their times leave out work that ours includes. Every run also checks that the
twelve numbers are equal.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from record import record

from core.metrics import detection_report

STATS = [
    "map", "map_50", "map_75", "map_small", "map_medium", "map_large",
    "mar_1", "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large",
]  # fmt: skip


def median_seconds(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """The median time of ``repeat`` runs and the last result."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def dataset(num_images: int, num_classes: int = 80, seed: int = 0):
    """Per-image (boxes, classes, extras) truth and (boxes, scores, classes) detections."""
    rng = np.random.default_rng(seed)
    truth, predictions = [], []
    for _ in range(num_images):
        n = int(rng.poisson(7))
        corner = rng.uniform(0, 500, (n, 2))
        boxes = np.hstack([corner, corner + np.exp(rng.uniform(np.log(4), np.log(400), (n, 2)))]).astype(np.float32)
        classes = rng.integers(0, num_classes, n)
        truth.append((boxes, classes, {"iscrowd": rng.random(n) < 0.01}))
        m = int(rng.poisson(20))
        near = rng.integers(0, max(n, 1), m)
        corner = rng.uniform(0, 500, (m, 2))
        anywhere = np.hstack([corner, corner + rng.uniform(4, 300, (m, 2))])
        on_object = rng.random(m) < 0.7 if n else np.zeros(m, bool)
        jittered = boxes[near] * rng.normal(1, 0.03, (m, 4)) if n else anywhere
        pred_boxes = np.where(on_object[:, None], jittered, anywhere).astype(np.float32)
        right = on_object & (rng.random(m) < 0.9)
        pred_classes = np.where(right, classes[near] if n else 0, rng.integers(0, num_classes, m))
        scores = np.clip(rng.normal(np.where(right, 0.7, 0.35), 0.2), 0.001, 1).astype(np.float32)
        predictions.append((pred_boxes, scores, pred_classes))
    return truth, predictions


def coco_json(truth, predictions, num_classes: int):
    """Our inputs as COCO's dataset dict and result list (boxes [x, y, w, h], ids from 1)."""
    anns, dets = [], []
    for i, (boxes, classes, extras) in enumerate(truth):
        for b, c, crowd in zip(boxes.astype(np.float64).tolist(), classes.tolist(), extras["iscrowd"].tolist()):
            w, h = b[2] - b[0], b[3] - b[1]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": c + 1, "bbox": [b[0], b[1], w, h]})
            anns[-1].update(area=w * h, iscrowd=int(crowd))
    for i, (boxes, scores, classes) in enumerate(predictions):
        for b, s, c in zip(boxes.astype(np.float64).tolist(), scores.tolist(), classes.tolist()):
            dets.append({"image_id": i + 1, "category_id": c + 1, "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]})
            dets[-1]["score"] = s
    images = [{"id": i + 1, "width": 640, "height": 640} for i in range(len(truth))]
    categories = [{"id": k + 1, "name": str(k)} for k in range(num_classes)]
    return {"images": images, "annotations": anns, "categories": categories}, dets


def reference(coco_cls, eval_cls, data: dict, dets: list) -> Callable[[], np.ndarray]:
    """A COCOeval run on prebuilt COCO objects (built once, outside the timing)."""
    with contextlib.redirect_stdout(io.StringIO()):
        truth = coco_cls()
        truth.dataset = data
        truth.createIndex()
        results = truth.loadRes([dict(d) for d in dets])

    def run() -> np.ndarray:
        with contextlib.redirect_stdout(io.StringIO()):
            evaluation = eval_cls(truth, results, "bbox")
            evaluation.evaluate()
            evaluation.accumulate()
            evaluation.summarize()
        return np.asarray(evaluation.stats)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 images, 3 runs")
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of ours (the references: half as many)")
    args = parser.parse_args()
    num_images, repeat = (500, 3) if args.quick else (args.images, args.repeat)
    truth, predictions = dataset(num_images)
    data, dets = coco_json(truth, predictions, 80)
    print(f"{num_images} images, {len(data['annotations'])} objects, {len(dets)} detections, 80 classes")
    ours, report = median_seconds(lambda: detection_report(truth, predictions, 80), repeat)
    print(f"{'core.metrics.detection_report':<34} {ours:8.3f} s")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    refs = [("pycocotools COCOeval", COCO, COCOeval)]
    try:
        from faster_coco_eval import COCO as FastCOCO
        from faster_coco_eval import COCOeval_faster

        refs.append(("faster-coco-eval COCOeval_faster", FastCOCO, COCOeval_faster))
    except ImportError:
        print("faster-coco-eval is not installed: no comparison with it")
    theirs = {}
    for name, coco_cls, eval_cls in refs:
        seconds, stats = median_seconds(reference(coco_cls, eval_cls, data, dets), max(1, repeat // 2))
        same = np.allclose([report[k] for k in STATS], stats, rtol=0, atol=1e-9)
        theirs[name] = (seconds, same)
        print(f"{name:<34} {seconds:8.3f} s | ours/theirs {ours / seconds:5.3f} | same twelve numbers: {same}")
    if args.quick:
        print("--quick: not recorded in benchmarks/results.json")
        return
    coco_s, coco_same = theirs["pycocotools COCOeval"]
    fast = theirs.get("faster-coco-eval COCOeval_faster")
    figure = (
        f"{ours:.1f} s, {'the same' if coco_same else 'NOT the same'} twelve numbers as pycocotools' COCOeval "
        f"({coco_s:.0f} s, {ours / coco_s:.3f}×)"
        + (f" and faster-coco-eval ({fast[0]:.1f} s, {ours / fast[0]:.2f}×)" if fast else "")
        + " in the same run"
    )
    record(
        "detection_report",
        f"`detection_report` on {num_images:,} images, 80 classes, {len(dets):,} detections",
        figure,
        "the twelve numbers of COCOeval, exactly",
        all(same for _, same in theirs.values()),
        "python benchmarks/bench_detection_metrics.py",
    )


if __name__ == "__main__":
    main()
