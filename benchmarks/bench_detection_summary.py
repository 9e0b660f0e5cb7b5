"""Time the summary of a detection run (metrics.json) and its parts; print whether the target is met.

    python benchmarks/bench_detection_summary.py [--images 1000] [--detections 100] [--classes 20] [--segm]

A synthetic run: about 7 objects an image, each found by a few jittered detections (right class mostly), the
rest of the detections at random places. Target: the summary of 1,000 images x 100 detections x 20 classes under
5 s (boxes). ``--segm``: the same boxes filled as masks (64 x 64 images scaled), scored with mask IoU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from record import record

from core.datasets.base import Dataset
from core.evaluation import detection as ev
from core.evaluation import detection_files as files
from core.inference.detection import encode_masks
from core.inference.detections import DetectionPredictions
from core.metrics.detection import detection_report

TARGET_S = 5.0


class Boxes(Dataset):
    """An object dataset held in memory (the reader's load_boxes / load_instances path)."""

    layout = "in-memory boxes"

    def __init__(self, truth, classes, size, task):
        names = [f"c{k}" for k in range(classes)]
        super().__init__(
            Path("."), task=task, tasks=(task,), classes=names, splits=[], split=None,
            sample_ids=[f"{i}.jpg" for i in range(len(truth))],
        )  # fmt: skip
        self.truth, self.size = truth, size

    def load_boxes(self, index):
        return self.truth[index][0].astype(np.float32), self.truth[index][1]

    def box_extras(self, index):
        return {"iscrowd": self.truth[index][2]}

    def load_instances(self, index):
        return filled(self.truth[index][0], self.size)


def filled(boxes: np.ndarray, size: int) -> np.ndarray:
    """N x size x size masks: each box's pixels."""
    masks = np.zeros((len(boxes), size, size), dtype=bool)
    for k, (x0, y0, x1, y1) in enumerate(np.round(boxes).astype(int)):
        masks[k, y0:y1, x0:x1] = True
    return masks


def synthetic(images: int, detections: int, classes: int, size: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth, preds = [], []
    for _ in range(images):
        g = int(rng.integers(1, 14))
        xy = rng.uniform(0, size * 0.7, (g, 2))
        wh = rng.uniform(size * 0.05, size * 0.3, (g, 2))
        boxes = np.clip(np.hstack([xy, xy + wh]), 0, size)
        labels = rng.integers(0, classes, g)
        crowd = rng.random(g) < 0.03
        truth.append((boxes, labels, crowd))
        near = min(detections, 3 * g)
        source = rng.integers(0, g, near)
        jitter = rng.normal(0, size * 0.02, (near, 4))
        near_boxes = boxes[source] + jitter
        near_labels = np.where(rng.random(near) < 0.85, labels[source], rng.integers(0, classes, near))
        far = detections - near
        fxy = rng.uniform(0, size * 0.8, (far, 2))
        far_boxes = np.hstack([fxy, fxy + rng.uniform(size * 0.03, size * 0.2, (far, 2))])
        det = np.clip(np.vstack([near_boxes, far_boxes]), 0, size)
        det[:, 2:] = np.maximum(det[:, 2:], det[:, :2] + 1)
        scores = np.r_[rng.uniform(0.3, 1, near), rng.uniform(0, 0.6, far)]
        preds.append((det, scores, np.r_[near_labels, rng.integers(0, classes, far)]))
    return truth, preds


def run_of(dataset: Boxes, preds, segm: bool) -> DetectionPredictions:
    task = "instance_segmentation" if segm else "detection"
    run = DetectionPredictions.empty(task, dataset.classes, dataset.sample_ids, model="synthetic")
    for i, (boxes, scores, labels) in enumerate(preds):
        masks = encode_masks(filled(boxes, dataset.size)) if segm else None
        run.set_image(i, boxes, scores, labels, size=(dataset.size, dataset.size), masks=masks)
    return run


def timed(fn, repeat: int):
    """(median CPU seconds of this process, the result): CPU time, as the machine may be shared."""
    times, out = [], None
    for _ in range(repeat):
        start = time.process_time()
        out = fn()
        times.append(time.process_time() - start)
    return statistics.median(times), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--detections", type=int, default=100)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--segm", action="store_true", help="masks and mask IoU")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", help="also write the evaluation there and print its wall time")
    args = parser.parse_args()
    size = 64 if args.segm else 640
    truth, preds = synthetic(args.images, args.detections, args.classes, size)
    task = "instance_segmentation" if args.segm else "detection"
    dataset = Boxes(truth, args.classes, size, task)
    run = run_of(dataset, preds, args.segm)
    iou_type = "segm" if args.segm else "bbox"
    what = f"{args.images} images x {args.detections} detections x {args.classes} classes, {iou_type}"

    evaluate_s, evaluation = timed(lambda: ev.evaluate_detection(dataset, run, iou_type=iou_type), args.repeat)
    summary_s, summary = timed(lambda: files.summary_of(dataset, run, evaluation), args.repeat)
    report_s, _ = timed(
        lambda: detection_report(
            evaluation.truths, files._report_detections(evaluation), evaluation.num_classes, iou_type=iou_type
        ),
        args.repeat,
    )
    wall = time.perf_counter()
    files.write_detection_evaluation(dataset, run, Path(args.out), iou_type=iou_type) if args.out else None
    wall = time.perf_counter() - wall
    total = evaluate_s + summary_s
    print(f"{what}: mAP {summary['map']:.4f}, mAP@0.5 {summary['map_50']:.4f}")
    print(f"  evaluate_detection  {evaluate_s:7.2f} s CPU  (matching, the operating point)")
    print(f"  summary_of          {summary_s:7.2f} s CPU  (of which one detection_report: {report_s:.2f} s)")
    verdict = "met" if total < TARGET_S else "MISSED"
    print(f"  total               {total:7.2f} s CPU  target {TARGET_S:.0f} s: {verdict}")
    if args.out:
        print(f"  write_detection_evaluation wall time {wall:.2f} s")
    print(f"  delta_map {summary['errors']['delta_map']}")
    if args.segm:
        print("--segm: not recorded in benchmarks/results.json (the README's row is the boxes')")
        return 0
    record(
        "detection_summary",
        "A detection run's whole evaluation (mAP, PR curves, confusion, TIDE's delta mAP, per image), "
        f"{args.images:,} images × {args.detections} detections × {args.classes} classes",
        f"{total:.1f} s CPU, {total / report_s:.1f}× one `detection_report` of the same detections in the same run "
        f"({report_s:.2f} s)",
        f"< {TARGET_S:g} s",
        total < TARGET_S,
        "python benchmarks/bench_detection_summary.py",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
