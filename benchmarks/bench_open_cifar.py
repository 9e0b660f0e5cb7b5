"""Opening full-size CIFAR-10 (and CIFAR-100) the first time and again, against torchvision in the same run.

The first open parses the pickles (restricted unpickler) and writes an index of each batch to the data
folder; a reopen reads the indexes and maps the pixels from the pickles. Target: a reopen (train + test)
in under 100 ms. torchvision's ``CIFAR10``/``CIFAR100`` parse the pickles whole on every open: the ratio
printed is ours / theirs. The data folder is a temporary one ($CVLENS_DATA_DIR), removed at the end.

    python benchmarks/bench_open_cifar.py [--runs 5] [--only cifar10,cifar100]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script: core and tests.fake_datasets from the checkout

from floors import median_seconds, timed  # noqa: E402
from record import record  # noqa: E402

from core.datasets import open_dataset  # noqa: E402
from tests.fake_datasets import write_cifar10, write_cifar100  # noqa: E402

TARGET_S = 0.100


def bench(name: str, folder: Path, data: Path, runs: int, theirs: Callable[[], object]) -> tuple[float, float]:
    """Print the row of one dataset; return (the reopen's median seconds, torchvision's)."""

    def ours() -> int:
        return sum(len(open_dataset(folder, split=split)) for split in ("train", "test"))

    cold_index = [timed(ours)]  # the first open writes the indexes
    for _ in range(runs - 1):  # each first open again: no indexes
        shutil.rmtree(data / "cache", ignore_errors=True)
        cold_index.append(timed(ours))
    first = statistics.median(cold_index)
    again = median_seconds(ours, runs, warm_up=False)  # after the cold opens above: the indexes are written
    reference = median_seconds(theirs, runs, warm_up=False)
    verdict = "target met" if again < TARGET_S else "MISSED"
    print(
        f"{name:<10} {ours():>7,} {first * 1000:>9.0f} ms {again * 1000:>9.0f} ms  {reference * 1000:>9.0f} ms"
        f"  {again / reference:>6.3f}x  {first / reference:>6.2f}x   < {TARGET_S * 1000:.0f} ms  {verdict}",
        flush=True,
    )
    return again, reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated: cifar10,cifar100")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(","))) or {"cifar10", "cifar100"}
    from torchvision.datasets import CIFAR10, CIFAR100

    class Cifar10(CIFAR10):
        meta = {**CIFAR10.meta, "md5": None}  # noqa: RUF012 (torchvision reads it as a class attribute)

        def _check_integrity(self) -> bool:  # the written files have random pixels: not the real md5s
            return True

    class Cifar100(CIFAR100):
        meta = {**CIFAR100.meta, "md5": None}  # noqa: RUF012

        def _check_integrity(self) -> bool:
            return True

    tmp = Path(tempfile.mkdtemp(prefix="bench_open_cifar_"))
    data = tmp / "data"
    os.environ["CVLENS_DATA_DIR"] = str(data)  # read at each open: the indexes go to the temporary folder
    print(
        f"{'dataset':<10} {'samples':>7} {'first open':>12} {'reopen':>12}  {'torchvision':>12}  {'reopen/tv':>8}  "
        f"{'first/tv':>8}  target"
    )
    times = {}
    try:
        if "cifar10" in wanted:
            write_cifar10(tmp, per_batch=10_000, n_test=10_000)
            times["cifar10"] = bench(
                "CIFAR-10",
                tmp / "cifar-10-batches-py",
                data,
                args.runs,
                lambda: (Cifar10(str(tmp), train=True, download=False), Cifar10(str(tmp), train=False)),
            )
        if "cifar100" in wanted:
            write_cifar100(tmp, n_train=50_000, n_test=10_000)
            times["cifar100"] = bench(
                "CIFAR-100",
                tmp / "cifar-100-python",
                data,
                args.runs,
                lambda: (Cifar100(str(tmp), train=True, download=False), Cifar100(str(tmp), train=False)),
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if len(times) < 2:
        print("--only: not recorded in benchmarks/results.json")
        return
    (ten, ten_tv), (hundred, hundred_tv) = times["cifar10"], times["cifar100"]
    record(
        "reopen_cifar",
        "Reopening CIFAR-10 / CIFAR-100 (train + test): labels from an index, pixels mapped from the pickles at "
        "recorded offsets",
        f"{ten * 1000:.0f} ms / {hundred * 1000:.0f} ms, {ten / ten_tv:.2f}× / {hundred / hundred_tv:.2f}× "
        "torchvision's parse in the same run",
        f"< {TARGET_S * 1000:.0f} ms",
        max(ten, hundred) < TARGET_S,
        "python benchmarks/bench_open_cifar.py",
    )


if __name__ == "__main__":
    main()
