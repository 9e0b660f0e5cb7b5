"""Time core.metrics against references measured in the same run; print ratios and whether targets are met.

    python benchmarks/bench_metrics.py [--quick]

Each time is the median of several runs. References: scikit-learn for classification, the bare numpy
code every segmentation repository writes (mask the ignored pixels, bincount ``19 * t + p``) for pixels.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from record import record

from core.metrics import (
    SegmentationConfusion,
    classification_report,
    confusion_matrix,
    normalize_confusion_matrix,
    segmentation_report,
)


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def line(name: str, ours: float, ref: float, ref_name: str, ok: bool, target: str) -> None:
    status = "target met" if ok else "MISSED"
    print(
        f"{name:<44} ours {ours * 1e3:8.1f} ms | {ref_name} {ref * 1e3:8.1f} ms | "
        f"ours/ref {ours / ref:5.2f}x | target {target}: {status}"
    )


def predictions(n: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, classes, n)
    y_pred = np.where(rng.random(n) < 0.7, y_true, rng.integers(0, classes, n))
    return y_true, y_pred


def all_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> dict:
    cm = confusion_matrix(y_true, y_pred, classes)
    return {"report": classification_report(cm), "by_true": normalize_confusion_matrix(cm, "true")}


def sklearn_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> tuple:
    from sklearn.metrics import confusion_matrix as sk_cm
    from sklearn.metrics import precision_recall_fscore_support

    labels = np.arange(classes)
    return sk_cm(y_true, y_pred, labels=labels), precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=np.nan
    )


def bench_classification(repeat: int, save: bool) -> None:
    n, classes = 1_000_000, 1_000
    y_true, y_pred = predictions(n, classes)
    ours = median_seconds(lambda: all_metrics(y_true, y_pred, classes), repeat)
    ref = median_seconds(lambda: sklearn_metrics(y_true, y_pred, classes), max(repeat // 2, 1))
    ok = ours < 0.100 and ref / ours >= 5
    line("confusion + report, 1M preds, 1000 classes", ours, ref, "sklearn", ok, "<100 ms and >=5x faster")
    if save:
        record(
            "metrics_classification",
            f"Confusion matrix + full report, {n:,} predictions, {classes:,} classes",
            f"{ours * 1e3:.0f} ms, {ref / ours:.0f}× faster than scikit-learn in the same run ({ref * 1e3:.0f} ms)",
            "< 100 ms, ≥ 5× faster",
            ok,
            "python benchmarks/bench_metrics.py",
        )

    subset = np.sort(np.random.default_rng(1).choice(n, 100_000, replace=False))
    ours = median_seconds(lambda: all_metrics(y_true[subset], y_pred[subset], classes), repeat)
    ref = median_seconds(lambda: sklearn_metrics(y_true[subset], y_pred[subset], classes), max(repeat // 2, 1))
    line("all metrics again for a 100k filtered subset", ours, ref, "sklearn", ours < 0.030, "<30 ms")
    if save:
        record(
            "metrics_subset",
            f"All metrics for a filtered subset of {len(subset):,} samples",
            f"{ours * 1e3:.0f} ms, {ours / ref:.2f}× scikit-learn's time in the same run",
            "< 30 ms",
            ours < 0.030,
            "python benchmarks/bench_metrics.py",
        )


def masks(count: int, shape: tuple[int, int], classes: int, seed: int = 2) -> tuple[list, list]:
    """Blocky truth masks (regions of 32 x 32 pixels) with 10% ignored pixels; 80% correct predictions."""
    rng = np.random.default_rng(seed)
    targets, preds = [], []
    for _ in range(count):
        blocks = rng.integers(0, classes, (shape[0] // 32, shape[1] // 32), dtype=np.uint8)
        target = np.kron(blocks, np.ones((32, 32), np.uint8))
        pred = np.where(rng.random(shape, np.float32) < 0.8, target, rng.integers(0, classes, shape, np.uint8))
        target[rng.random(shape, np.float32) < 0.1] = 255
        targets.append(target)
        preds.append(pred)
    return targets, preds


def bare_bincount(targets: list, preds: list, classes: int) -> np.ndarray:
    cm = np.zeros(classes * classes, np.int64)
    for t, p in zip(targets, preds):
        k = t != 255
        cm += np.bincount(classes * t[k].astype(np.int64) + p[k], minlength=classes * classes)
    return cm.reshape(classes, classes)


def unmasked_bincount(targets: list, preds: list, classes: int) -> None:
    """No ignore handling at all: not a correct result, only a lower bound for one bincount per mask."""
    for t, p in zip(targets, preds):
        np.bincount((classes * t.astype(np.int64) + p).reshape(-1), minlength=256 * classes)


def accumulate(targets: list, preds: list, classes: int) -> SegmentationConfusion:
    acc = SegmentationConfusion(classes, ignore_index=255)
    for t, p in zip(targets, preds):
        acc.update(t, p)
    return acc


def bench_segmentation(count: int, repeat: int, save: bool) -> None:
    classes = 19
    targets, preds = masks(count, (1024, 2048), classes)
    acc = accumulate(targets, preds, classes)
    assert np.array_equal(acc.compute(), bare_bincount(targets, preds, classes))
    ours = median_seconds(lambda: segmentation_report(accumulate(targets, preds, classes).compute()), repeat)
    ref = median_seconds(lambda: bare_bincount(targets, preds, classes), repeat)
    name = f"pixel confusion + report, {count} masks 1024x2048"
    line(name, ours, ref, "numpy", ours <= 1.5 * ref, "<=1.5x bare numpy bincount")
    lower = median_seconds(lambda: unmasked_bincount(targets, preds, classes), repeat)
    line(
        "  same, against one unmasked bincount/mask", ours, lower, "numpy", ours <= 1.5 * lower, "<=1.5x (lower bound)"
    )
    if save:
        record(
            "metrics_pixels",
            f"Pixel confusion, {count} masks of 1024×2048, {classes} classes + ignore",
            f"{ours / ref:.2f}× a masked numpy bincount ({ours * 1e3:.0f} ms / {ref * 1e3:.0f} ms), "
            f"{ours / lower:.2f}× one unmasked bincount a mask",
            "≤ 1.5× a masked numpy bincount",
            ours <= 1.5 * ref,
            "python benchmarks/bench_metrics.py",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and 20 masks instead of 100")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    print(f"numpy {np.__version__}; median of {repeat} runs (sklearn: {max(repeat // 2, 1)})")
    bench_classification(repeat, save=not args.quick)
    bench_segmentation(20 if args.quick else 100, 3, save=not args.quick)
    if args.quick:
        print("--quick: not recorded in benchmarks/results.json")


if __name__ == "__main__":
    main()
