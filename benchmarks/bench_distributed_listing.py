"""Opening a dataset under torchrun: how many folders and directory entries each rank lists, before and after
rank 0 lists for all (``core.inference.distributed.open_dataset``).

Each layout is written under /tmp: ``image-folder`` is ``--files`` empty images in 10 class folders; the others
are the small datasets of ``tests/fake_datasets.py`` (Cityscapes, YOLO, COCO with two splits, VOC segmentation
and detection, the multilabel CSV layout with names to match by walking ``images/``), whose readers look into
folders beyond the image folders (split lists, annotation files, nested folders). ``torchrun --standalone
--nproc_per_node=--ranks`` (gloo, CPU) runs this file again as its worker, and each rank opens the dataset:

- ``before``: every rank calls ``open_dataset`` (as evaluate and analyze did);
- ``after``: ``distributed.open_dataset``: rank 0 lists, the others open from its broadcast listing.

Each rank counts the ``os.scandir`` calls (glob, pathlib and ``os.walk`` list through it) and ``os.listdir`` calls
it made, the entries they returned, and times its open (the slowest rank is the job's). Target, for every
layout: each folder is listed once in the whole job (``twice`` 0, the other ranks' ``calls`` 0, the entries over
all ranks equal to one listing of the tree: ratio 1.00).

    python benchmarks/bench_distributed_listing.py [--files 20000] [--ranks 2] [--layouts image-folder,yolo,...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script: core from the checkout
from record import record  # noqa: E402


def counting_listings() -> tuple[list[int], list[str]]:
    """Wrap os.scandir and os.listdir so that every folder listed and every entry returned is counted:
    ([calls, entries], the folders listed)."""
    counts, folders = [0, 0], []
    real_scandir, real_listdir = os.scandir, os.listdir

    class Counted:
        def __init__(self, path="."):
            self.inner = real_scandir(path)
            counts[0] += 1
            folders.append(os.fspath(path))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.inner.close()

        def __iter__(self):
            return self

        def __next__(self):  # os.walk calls next() on it
            entry = next(self.inner)
            counts[1] += 1
            return entry

        def close(self):
            self.inner.close()

    def listdir(path="."):
        names = real_listdir(path)
        counts[0] += 1
        counts[1] += len(names)
        folders.append(os.fspath(path))
        return names

    os.scandir, os.listdir = Counted, listdir
    return counts, folders


def worker(root: str, mode: str) -> None:
    """One rank: open the dataset the ``mode`` way; rank 0 prints every rank's counts as JSON."""
    from core.datasets import open_dataset
    from core.inference import distributed

    rank, _ = distributed.start("cpu")
    counts, folders = counting_listings()
    distributed.barrier()
    started = time.perf_counter()
    dataset = open_dataset(root) if mode == "before" else distributed.open_dataset(rank, root)
    seconds = time.perf_counter() - started
    mine = {"calls": counts[0], "entries": counts[1], "seconds": seconds, "samples": len(dataset), "folders": folders}
    everyone = distributed.gather(rank, mine)
    distributed.stop()
    if rank.is_main:
        print(json.dumps(everyone))


def make_tree(root: Path, files: int) -> Path:
    for c in range(10):
        folder = root / "test" / f"class_{c}"
        folder.mkdir(parents=True)
        for i in range(c, files, 10):
            (folder / f"{i:07d}.png").touch()
    return root


def make_layout(name: str, root: Path, files: int) -> Path:
    """The dataset of layout ``name`` under ``root``; its folder (what the ranks open)."""
    from tests import fake_datasets as fake

    if name == "image-folder":
        return make_tree(root, files)
    if name == "cityscapes":
        fake.write_cityscapes(root)
        return root
    if name == "yolo":
        fake.write_yolo(root)
        return root
    if name == "coco":
        fake.write_coco(root)
        fake.write_coco(root, split="train2017", seed=1)
        return root
    if name == "voc":
        return fake.write_voc(root)[0]
    if name == "voc-detection":
        return fake.write_voc_detection(root)[0]
    if name == "multilabel-csv":  # names without their extension, in sub-folders: matched by walking images/
        names = [f"{folder}/{i:03d}" for folder in ("a", "b") for i in range(5)]
        fake.write_images(root / "images", [f"{n}.png" for n in names])
        rows = "".join(f"{n},{'cat' if i % 2 else 'dog'}\n" for i, n in enumerate(names))
        (root / "labels.csv").write_text("image,labels\n" + rows)
        return root
    raise SystemExit(f"unknown layout {name!r}; known: {', '.join(LAYOUTS)}")


LAYOUTS = ("image-folder", "cityscapes", "yolo", "coco", "voc", "voc-detection", "multilabel-csv")


def launch(root: Path, mode: str, ranks: int) -> list[dict]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}",
               __file__, "--worker", str(root), mode]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=REPO, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(layout: str, mode: str, ranks: list[dict], one_listing: int) -> tuple[int, int]:
    """One line: the listings over all ranks, the folders listed more than once in the job, each rank's part.
    Returns (entries listed over all ranks, folders listed more than once)."""
    calls = sum(r["calls"] for r in ranks)
    entries = sum(r["entries"] for r in ranks)
    twice = sum(1 for n in Counter(f for r in ranks for f in r["folders"]).values() if n > 1)
    slowest = max(r["seconds"] for r in ranks)
    each = ", ".join(f"rank {i}: {r['calls']} calls, {r['entries']:,} entries" for i, r in enumerate(ranks))
    print(f"{layout:15s} {mode:6s}: {calls:3d} listings, {twice:2d} folders listed twice or more, {entries:,} entries "
          f"(ratio to one listing {entries / one_listing:.2f}); slowest rank {slowest:.3f}s  [{each}]")  # fmt: skip
    return entries, twice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000, help="images of the image-folder layout")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help=f"comma-separated, of {', '.join(LAYOUTS)}")
    parser.add_argument("--worker", nargs=2, metavar=("ROOT", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    print(f"{args.ranks} ranks (torchrun --standalone, gloo); image-folder: {args.files:,} files in 10 class folders")
    layouts = args.layouts.split(",")
    seen: dict[tuple[str, str], tuple[int, int, int]] = {}  # (layout, mode) -> entries, twice, one listing
    for layout in layouts:
        scratch = Path(tempfile.mkdtemp(prefix="cvlens-bench-listing-"))
        try:
            root = make_layout(layout, scratch, args.files)
            one_listing = None
            for mode in ("before", "after"):
                ranks = launch(root, mode, args.ranks)
                one_listing = one_listing or ranks[0]["entries"]
                seen[layout, mode] = (*report(layout, mode, ranks, one_listing), one_listing)
                assert len({r["samples"] for r in ranks}) == 1
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if set(layouts) != set(LAYOUTS) or "image-folder" not in layouts:
        print("not recorded: --layouts measures part of the row")
        return
    entries, _, one = seen["image-folder", "after"]
    before = seen["image-folder", "before"][0]
    repeated = sum(seen[layout, "after"][1] for layout in LAYOUTS)
    record(
        "distributed_listing",
        f"Listing the dataset under torchrun, {args.ranks} ranks: {args.files:,} files in class folders, and "
        f"{len(LAYOUTS) - 1} other layouts",
        f"{entries:,} entries listed in the job ({entries / one:.2f}× one listing; {before:,} when every rank "
        f"listed); folders listed more than once, over the {len(LAYOUTS)} layouts: {repeated}",
        "each folder listed once per job",
        repeated == 0 and entries <= one * 1.01,
        "python benchmarks/bench_distributed_listing.py",
    )


if __name__ == "__main__":
    main()
