"""Time core.analysis on 60,000 samples of 512-d embeddings and 100 classes, against references measured
in the same run; print ratios and whether the targets of issue 13 are met.

    python benchmarks/bench_analysis.py [--quick] [--umap] [--cv]

Targets (CPU): label issues < 5 s given the probabilities, duplicates < 30 s, the map < 60 s.
References: label issues against the naive ranking (predicted != given, by self-confidence: the cheapest
thing one could do); duplicates against the exact blocked search measured on 10,000 samples and scaled by
(60,000 / 10,000)^2 (it is quadratic); the map against UMAP (``--umap``, when umap-learn is installed).
Times are medians of several runs, but the map's (one run each: tens of seconds), after a warm-up
(imports, numba's compilation) outside the timing. The data are synthetic
with planted label errors and duplicates, so the figures come with the precision and recall found.
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

from core.analysis import (
    compute_map,
    find_duplicates,
    find_label_issues,
    knn_scores,
    nearest_neighbours,
    rank_outliers,
)
from core.analysis.neighbours import unit_rows


def median_seconds(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def line(name: str, ours: float, ref: float, ref_name: str, target_s: float, extra: str = "") -> None:
    status = "target met" if ours < target_s else "MISSED"
    print(
        f"{name:<34} ours {ours:7.2f} s | {ref_name} {ref:7.2f} s | ours/ref {ours / ref:5.2f}x | "
        f"target <{target_s:.0f} s: {status}{extra}",
        flush=True,
    )


def synthetic(n: int, dim: int = 512, classes: int = 100, seed: int = 0) -> dict:
    """Non-negative embeddings around class centres (like a ReLU network's), labels with 5% flipped,
    nearest-centroid probabilities, 3 splits, 300 exact and 300 near copies planted across splits."""
    rng = np.random.default_rng(seed)
    centres = np.abs(rng.standard_normal((classes, dim))).astype(np.float32)
    truth = rng.integers(0, classes, n)
    x = np.abs(centres[truth] + 0.9 * rng.standard_normal((n, dim)).astype(np.float32))
    copies = rng.choice(n // 2, 600, replace=False)
    targets = rng.choice(np.arange(n // 2, n), 600, replace=False)
    x[targets] = x[copies]
    x[targets[300:]] += 0.01 * rng.standard_normal((300, dim)).astype(np.float32)
    truth[targets] = truth[copies]
    splits = np.where(np.arange(n) < n * 0.7, "train", np.where(np.arange(n) < n * 0.85, "val", "test"))
    splits[targets] = np.where(splits[copies] == "test", "train", "test")
    labels = truth.copy()
    flipped = rng.choice(n, n // 20, replace=False)
    labels[flipped] = (truth[flipped] + rng.integers(1, classes, len(flipped))) % classes
    logits = 40.0 * unit_rows(x) @ unit_rows(centres).T
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return dict(x=x, labels=labels, probs=probs, splits=splits, flipped=flipped, copies=(copies, targets))


def naive_issues(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    suspect = np.flatnonzero(probs.argmax(axis=1) != labels)
    return suspect[np.argsort(probs[suspect, labels[suspect]])]


def bench_label_issues(data: dict, repeat: int) -> tuple[float, float]:
    labels, probs = data["labels"], data["probs"]
    find_label_issues(labels[:2000] % 10, probs[:2000, :10])  # warm up: cleanlab's imports are not its speed
    ours, issues = median_seconds(lambda: find_label_issues(labels, probs), repeat)
    ref, _ = median_seconds(lambda: naive_issues(labels, probs), repeat)
    hits = len(np.intersect1d(issues.indices, data["flipped"]))
    extra = f" | precision {hits / max(len(issues), 1):.3f}, recall {hits / len(data['flipped']):.3f}"
    line("label issues (given probabilities)", ours, ref, "naive", 5, extra)
    return ours, ref


def bench_duplicates(data: dict, repeat: int, exact_n: int) -> tuple[float, float]:
    x, splits = data["x"], data["splits"]

    def ours():
        neighbours = nearest_neighbours(x, k=10)
        return neighbours, find_duplicates(embeddings=x, neighbours=neighbours, splits=splits)

    seconds, (neighbours, pairs) = median_seconds(ours, repeat)
    exact_s, _ = median_seconds(lambda: nearest_neighbours(x[:exact_n], k=10, exact=True), 1)
    ref = exact_s * (len(x) / exact_n) ** 2
    copies, targets = data["copies"]
    found = {(min(a, b), max(a, b)) for a, b in zip(pairs.a.tolist(), pairs.b.tolist())}
    recall = np.mean([(min(a, b), max(a, b)) in found for a, b in zip(copies.tolist(), targets.tolist())])
    extra = f" | {len(pairs)} pairs, {int(pairs.leak.sum())} leaks, planted found {recall:.3f}"
    line(f"duplicates (k-NN {'exact' if neighbours.exact else 'IVF'} + groups)", seconds, ref, "exact*", 30, extra)
    start = time.perf_counter()
    rank_outliers(knn=knn_scores(neighbours))
    print(f"{'outliers from the same neighbours':<34} ours {time.perf_counter() - start:7.2f} s", flush=True)
    return seconds, ref


def bench_map(data: dict, with_umap: bool) -> tuple[float, float, str, str]:
    x = data["x"]
    start = time.perf_counter()
    _, method = compute_map(x, method="auto")
    ours = time.perf_counter() - start
    if with_umap:
        compute_map(x[:500], method="umap")  # numba compiles UMAP's functions once, outside the timing
        start = time.perf_counter()
        compute_map(x, method="umap")
        ref, ref_name = time.perf_counter() - start, "umap"
    else:
        start = time.perf_counter()
        compute_map(x, method="pca")
        ref, ref_name = time.perf_counter() - start, "pca"
    line(f"the map ({method}, from 512-d)", ours, ref, ref_name, 60)
    return ours, ref, method, ref_name


def bench_cross_validation(data: dict) -> None:
    from core.analysis import cross_validated_probabilities

    start = time.perf_counter()
    probs = cross_validated_probabilities(data["x"], data["labels"], folds=5)
    seconds = time.perf_counter() - start
    issues = find_label_issues(data["labels"], probs)
    hits = len(np.intersect1d(issues.indices, data["flipped"]))
    print(
        f"{'cross-validated probabilities':<34} ours {seconds:7.2f} s | precision "
        f"{hits / max(len(issues), 1):.3f}, recall {hits / len(data['flipped']):.3f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6,000 samples and fewer runs")
    parser.add_argument("--umap", action="store_true", help="time UMAP as the map's reference")
    parser.add_argument("--cv", action="store_true", help="also time the 5-fold logistic regression")
    args = parser.parse_args()
    n = 6_000 if args.quick else 60_000
    repeat = 1 if args.quick else 3
    data = synthetic(n)
    print(f"{n} samples x 512-d, 100 classes", flush=True)
    issues = bench_label_issues(data, repeat)
    duplicates = bench_duplicates(data, repeat, exact_n=min(n, 10_000))
    compute_map(data["x"][:500], method="auto")  # numba compiles PaCMAP's functions once, outside the timing
    the_map = bench_map(data, args.umap)
    if args.cv:
        bench_cross_validation(data)
    if args.quick:
        print("--quick: not recorded in benchmarks/results.json")
    else:
        record_row(n, issues, duplicates, the_map)


def record_row(n: int, issues: tuple, duplicates: tuple, the_map: tuple) -> None:
    """The README's row: each time, and its ratio against its reference from this run."""
    (issues_s, naive_s), (dup_s, exact_s), (map_s, ref_s, method, ref_name) = issues, duplicates, the_map
    names = {"pacmap": "PaCMAP", "umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}
    method, reference = names.get(method, method), names.get(ref_name, ref_name)
    figure = (
        f"{issues_s:.2f} s ({issues_s / naive_s:.0f}× the naive ranking) / {dup_s:.1f} s, "
        f"{dup_s / exact_s:.2f}× an exact blocked search / {map_s:.1f} s with {method} "
        f"({map_s / ref_s:.0f}× {reference})"
    )
    record(
        "analysis",
        f"Analysis of {n:,} samples × 512-d embeddings, 100 classes: label issues given the probabilities / "
        "duplicates and leaks / the 2-D map",
        figure,
        "< 5 s / < 30 s / < 60 s",
        issues_s < 5 and dup_s < 30 and map_s < 60,
        "python benchmarks/bench_analysis.py",
    )


if __name__ == "__main__":
    main()
