"""Opening folders of image files against their floors, measured in the same run.

- ``folder``: 60,000 images in 10 class folders, against torchvision's ``ImageFolder`` (target: ratio <= 1.0);
  the same 60,000 in one flat folder, against ``os.listdir`` (shown, no target).
- ``imagenet``: an ImageNet-train-like tree (1,000 synset folders under ``train/``, 300 files each by default)
  against a bare ``os.scandir`` walk of it (target: ratio <= 3.1), and the memory the dataset object holds
  (target: under 1 GB at 1.28M files: ``--imagenet-files 1281167``).

The files are empty (opening lists names, it reads no pixels); they are written once into a temporary folder
under /tmp and removed at the end. Times are medians of ``--runs`` opens after one untimed open (a warm cache,
as a second look would be).

    python benchmarks/bench_open_folders.py [--runs 5] [--only folder,imagenet] [--imagenet-files 300000]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script: core from the checkout

from floors import median_seconds, scandir_walk  # noqa: E402
from record import record  # noqa: E402

from core.datasets import open_dataset  # noqa: E402


def write_empty(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        os.close(os.open(folder / name, os.O_CREAT | os.O_WRONLY, 0o644))


def retained_bytes(function: Callable[[], object]) -> tuple[object, int]:
    """What ``function`` returns, and the Python memory it still holds once it returned (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = function()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return result, held


def row(name: str, count: int, ours: float, floor_name: str, floor: float, target: float | None) -> None:
    ratio = ours / floor
    verdict = "" if target is None else ("target met" if ratio <= target else "MISSED")
    goal = "" if target is None else f"<= {target:g}"
    print(
        f"{name:<44} {count:>9,} {ours * 1000:>8.0f} ms  {floor_name:<22} {floor * 1000:>7.0f} ms"
        f"  {ratio:>5.2f}x {goal:>7}  {verdict}",
        flush=True,
    )


def bench_folder(tmp: Path, runs: int, n: int = 60_000, classes: int = 10) -> tuple[float, float]:
    """Times a class tree against ImageFolder and a flat folder; returns (ours, ImageFolder) of the tree."""
    from torchvision.datasets import ImageFolder

    tree, flat = tmp / "classes", tmp / "flat"
    for c in range(classes):
        write_empty(tree / f"class_{c:02d}", [f"img_{i:06d}.png" for i in range(n // classes)])
    write_empty(flat, [f"img_{i:06d}.png" for i in range(n)])
    ours = median_seconds(lambda: open_dataset(tree), runs, warm_up=True)
    theirs = median_seconds(lambda: ImageFolder(tree, loader=lambda p: p), runs, warm_up=True)
    row(f"Image folder, {classes} classes", len(open_dataset(tree)), ours, "torchvision ImageFolder", theirs, 1.0)
    flat_ours = median_seconds(lambda: open_dataset(flat), runs, warm_up=True)
    floor = median_seconds(lambda: os.listdir(flat), runs, warm_up=True)
    row("Unlabeled flat folder", len(open_dataset(flat)), flat_ours, "os.listdir", floor, None)
    return ours, theirs


def bench_imagenet(tmp: Path, runs: int, files: int, synsets: int = 1000) -> tuple[float, float, int]:
    """Times an ImageNet-train-like tree against a bare walk; returns (ours, walk, bytes the dataset holds)."""
    root = tmp / "imagenet"
    started = time.perf_counter()
    per, extra = divmod(files, synsets)
    for s in range(synsets):
        wnid = f"n{1440764 + s:08d}"
        write_empty(root / "train" / wnid, [f"{wnid}_{i}.JPEG" for i in range(per + (s < extra))])
    print(f"  wrote {files:,} files in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    ours = median_seconds(lambda: open_dataset(root, split="train"), runs, warm_up=True)
    floor = median_seconds(lambda: scandir_walk(root), runs, warm_up=True)
    dataset, held = retained_bytes(lambda: open_dataset(root, split="train"))
    row(f"ImageNet-like train, {synsets:,} synsets", len(dataset), ours, "os.scandir walk", floor, 3.1)
    verdict = "target met" if held < 1 << 30 else "MISSED"
    print(f"{'  dataset object (tracemalloc)':<44} {held / (1 << 20):>9,.0f} MiB  (target < 1024 MiB)  {verdict}")
    return ours, floor, held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated: folder,imagenet")
    parser.add_argument("--imagenet-files", type=int, default=300_000, help="1281167 for the real train split")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(","))) or {"folder", "imagenet"}
    print(f"{'case':<44} {'samples':>9} {'ours':>11}  {'floor':<22} {'':>10}  {'ratio':>6} {'target':>7}")
    tmp = Path(tempfile.mkdtemp(prefix="bench_open_folders_", dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        if "folder" in wanted:
            folder = bench_folder(tmp, args.runs)
        if "imagenet" in wanted:
            imagenet = bench_imagenet(tmp, args.runs, args.imagenet_files)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if wanted != {"folder", "imagenet"}:
        print("not recorded: --only measures part of the row")
        return
    (f_ours, f_floor), (i_ours, i_floor, held) = folder, imagenet
    record(
        "open_folders",
        f"Opening a 60,000-image class-folder tree / an ImageNet-train-like tree of {args.imagenet_files:,} files",
        f"{f_ours:.2f} s, {f_ours / f_floor:.2f}× torchvision's `ImageFolder` / {i_ours:.2f} s, "
        f"{i_ours / i_floor:.2f}× a bare `os.scandir` walk, the dataset object {held / (1 << 20):.0f} MiB",
        "≤ 1× / ≤ 3.1×, < 1 GB",
        f_ours <= f_floor and i_ours <= 3.1 * i_floor and held < 1 << 30,
        f"python benchmarks/bench_open_folders.py --imagenet-files {args.imagenet_files}",
    )


if __name__ == "__main__":
    main()
