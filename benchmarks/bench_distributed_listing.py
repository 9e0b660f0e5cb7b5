"""Opening a dataset under torchrun: how many directory entries each rank lists, before and after rank 0
lists for all (``core.inference.distributed.open_dataset``).

An image folder of ``--files`` empty images in 10 class folders is written under /tmp; ``torchrun --standalone
--nproc_per_node=--ranks`` (gloo, CPU) runs this file again as its worker, and each rank opens the dataset:

- ``before``: every rank calls ``open_dataset`` (as evaluate and analyze did);
- ``after``: ``distributed.open_dataset``: rank 0 lists, the others open from its broadcast listing.

Each rank counts the entries ``os.scandir`` returned to it and times its open (the slowest rank is the
job's). Target: the entries listed over all ranks equal one listing of the tree (ratio to one process 1.0).

    python benchmarks/bench_distributed_listing.py [--files 20000] [--ranks 2]
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script: core from the checkout


def counting_scandir() -> list[int]:
    """Wrap os.scandir so that every entry it yields is counted: [calls, entries]."""
    counts = [0, 0]
    real = os.scandir

    class Counted:
        def __init__(self, path):
            self.inner = real(path)
            counts[0] += 1

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.inner.close()

        def __iter__(self):
            for entry in self.inner:
                counts[1] += 1
                yield entry

        def close(self):
            self.inner.close()

    os.scandir = Counted
    return counts


def worker(root: str, mode: str) -> None:
    """One rank: open the dataset the ``mode`` way; rank 0 prints every rank's counts as JSON."""
    from core.datasets import open_dataset
    from core.inference import distributed

    rank, _ = distributed.start("cpu")
    counts = counting_scandir()
    distributed.barrier()
    started = time.perf_counter()
    dataset = open_dataset(root) if mode == "before" else distributed.open_dataset(rank, root)
    seconds = time.perf_counter() - started
    mine = {"calls": counts[0], "entries": counts[1], "seconds": seconds, "samples": len(dataset)}
    everyone = distributed.gather(rank, mine)
    distributed.stop()
    if rank.is_main:
        print(json.dumps(everyone))


def make_tree(root: Path, files: int) -> None:
    for c in range(10):
        folder = root / "test" / f"class_{c}"
        folder.mkdir(parents=True)
        for i in range(c, files, 10):
            (folder / f"{i:07d}.png").touch()


def launch(root: Path, mode: str, ranks: int) -> list[dict]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}",
               __file__, "--worker", str(root), mode]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=REPO, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--worker", nargs=2, metavar=("ROOT", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    root = Path(tempfile.mkdtemp(prefix="cvlens-bench-listing-"))
    try:
        make_tree(root, args.files)
        print(f"{args.files:,} files in 10 class folders, {args.ranks} ranks (torchrun --standalone, gloo)")
        one_listing = None
        for mode in ("before", "after"):
            ranks = launch(root, mode, args.ranks)
            entries = sum(r["entries"] for r in ranks)
            calls = sum(r["calls"] for r in ranks)
            one_listing = one_listing or ranks[0]["entries"]
            slowest = max(r["seconds"] for r in ranks)
            each = ", ".join(f"rank {i}: {r['entries']:,} entries in {r['seconds']:.3f}s" for i, r in enumerate(ranks))
            ratio = entries / one_listing
            print(f"{mode:6s}: {calls} scandir calls, {entries:,} entries over all ranks (ratio to one listing "
                  f"{ratio:.2f}); slowest rank {slowest:.3f}s  [{each}]")  # fmt: skip
            assert all(r["samples"] == args.files for r in ranks)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
