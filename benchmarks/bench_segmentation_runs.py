"""Keeping a segmentation run in the project store: time to save it, to load it, to show one mask.

    python benchmarks/bench_segmentation_runs.py [--images N] [--size HxW] [--classes C]

A synthetic run like a Cityscapes evaluation (blocky masks, a probability grid of 1/4 the image side)
is written to a run folder as ``SegmentationJob`` writes it, then packed into one archive
(``core.inference.mask_archive``). Loading is compared with the eager way: reading every mask.
Prints the times, the sizes, and whether loading (which reads no mask) stays under 1/10 of the eager read.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.inference.mask_archive import load_archive, save_archive
from core.inference.mask_store import SegmentationPredictions
from core.metrics import pixel_confusion_matrix


def blocky(rng: np.random.Generator, size: tuple[int, int], classes: int) -> np.ndarray:
    """A mask of 16 x 16 pixel blocks of random classes: compresses like a real one, not like noise."""
    small = rng.integers(0, classes, (-(-size[0] // 16), -(-size[1] // 16)), dtype=np.uint8)
    return np.kron(small, np.ones((16, 16), np.uint8))[: size[0], : size[1]]


def synthetic_run(folder: Path, n: int, size: tuple[int, int], classes: int) -> SegmentationPredictions:
    rng = np.random.default_rng(0)
    preds = SegmentationPredictions.empty([f"c{i}" for i in range(classes)], [f"{i:06d}" for i in range(n)], folder)
    grid = (size[0] // 4, size[1] // 4)
    for i in range(n):
        truth = blocky(rng, size, classes)
        mask = truth.copy()
        mask[: size[0] // 8] = blocky(rng, (size[0] // 8, size[1]), classes)
        probs = np.zeros((classes, *grid), np.uint8)
        np.put_along_axis(probs, mask[None, ::4, ::4].astype(np.intp), 200, axis=0)
        preds.record(i, mask, probs, pixel_confusion_matrix(truth, mask, classes, 255))
    preds.save()
    return preds


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--size", default="512x1024", help="image height x width (default 512x1024)")
    parser.add_argument("--classes", type=int, default=19)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        run = synthetic_run(Path(tmp) / "run", args.images, size, args.classes)
        archive = Path(tmp) / "run.npz"
        start = time.perf_counter()
        save_archive(run, archive)
        saved = time.perf_counter() - start
        start = time.perf_counter()
        loaded = load_archive(archive, run.sample_ids)
        load = time.perf_counter() - start
        start = time.perf_counter()
        loaded.report(), loaded.per_image_scores()  # what the metrics view shows at once
        metrics = time.perf_counter() - start
        start = time.perf_counter()
        loaded.mask(args.images // 2)
        one = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(args.images):
            loaded.mask(i)
        eager = time.perf_counter() - start
        print(f"{args.images} images {size[0]}x{size[1]}, {args.classes} classes")
        folder, packed = folder_bytes(Path(tmp) / "run") / 2**20, archive.stat().st_size / 2**20
        print(f"run folder {folder:8.1f} MiB | archive {packed:8.1f} MiB")
        print(f"save {saved:8.2f} s ({saved / args.images * 1e3:.1f} ms/image, on a worker thread in the window)")
        print(f"load {load * 1e3:7.1f} ms | metrics {metrics * 1e3:7.1f} ms | one mask {one * 1e3:6.1f} ms")
        print(f"every mask read (what an eager load would do) {eager:6.2f} s")
        ok = load < 0.1 * eager
        print(f"load / eager {load / eager:6.3f} | target < 0.1: {'target met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
