"""How long ``open_dataset`` takes on datasets of the real sizes, against the targets.

Writes each dataset into a temporary folder in its real layout and size (random pixels),
opens it several times and prints the median. Opening reads indexes and labels only, so
these are the times a user waits before the browser shows the first thumbnails. The floor,
timed the same way in the same run, is the least any reader does with those files: reading
the pickles' bytes, reading and gunzipping the .gz files, a bare ``os.scandir`` walk of the
folder tree, a plain ``json.load`` of the COCO file.

    python benchmarks/bench_open.py [--runs 5] [--only cifar10,fashion,folder,coco]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script: core and tests.fake_datasets from the checkout

from floors import median_seconds, scandir_walk  # noqa: E402
from record import record  # noqa: E402

from core.datasets import open_dataset  # noqa: E402
from tests.fake_datasets import coco_instances, png_bytes, write_cifar10, write_mnist  # noqa: E402


@dataclass
class Case:
    key: str
    title: str
    target_s: float
    write: Callable[[Path], Path]  # writes the data under a folder, returns what the user picks
    open: Callable[[Path], int]  # opens it, returns the number of samples
    floor: Callable[[Path], object]  # the least any reader does with those files
    floor_name: str


def _open_splits(*splits: str) -> Callable[[Path], int]:
    return lambda path: sum(len(open_dataset(path, split=s)) for s in splits)


def read_files(path: Path) -> int:
    """Every file's bytes under ``path``: the floor of a reader that parses them all."""
    return sum(len(f.read_bytes()) for f in sorted(path.rglob("*")) if f.is_file())


def gunzip_files(path: Path) -> int:
    """Every .gz file under ``path`` read and decompressed."""
    import gzip

    return sum(len(gzip.decompress(f.read_bytes())) for f in sorted(path.rglob("*.gz")))


def json_load(path: Path) -> object:
    """The instances file parsed by ``json.load``, nothing built from it."""
    import json

    with open(path / "annotations" / "instances_val2017.json", "rb") as handle:
        return json.load(handle)


def write_cifar(folder: Path) -> Path:
    write_cifar10(folder, per_batch=10_000, n_test=10_000)
    return folder / "cifar-10-batches-py"


def write_fashion(folder: Path) -> Path:
    write_mnist(folder / "FashionMNIST" / "raw", n_train=60_000, n_test=10_000, gz=True)
    return folder


def write_folder(folder: Path, n: int = 100_000, classes: int = 10) -> Path:
    """100,000 tiny PNGs in class folders: the same bytes written again and again, fast."""
    import numpy as np

    data = png_bytes(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    root = folder / "images"
    for c in range(classes):
        class_dir = root / f"class_{c:02d}"
        class_dir.mkdir(parents=True)
        for i in range(n // classes):
            (class_dir / f"img_{i:06d}.png").write_bytes(data)
    return root


def write_coco_val(folder: Path, n: int = 5_000, per_image: int = 7) -> Path:
    """An instances json the size of val2017's: 5,000 images, 7 objects each, 30-point polygons."""
    import json

    import numpy as np

    rng = np.random.default_rng(0)
    data = coco_instances(n, size=(480, 640), per_image=per_image)
    angles = np.linspace(0, 2 * np.pi, 30, endpoint=False)
    for ann in data["annotations"]:
        if not ann["iscrowd"]:
            x, y, r = rng.uniform(50, 590), rng.uniform(50, 430), rng.uniform(5, 50)
            ann["segmentation"] = [
                np.round(np.column_stack([x + r * np.cos(angles), y + r * np.sin(angles)]), 2).ravel().tolist()
            ]
    (folder / "annotations").mkdir()
    (folder / "val2017").mkdir()  # the images themselves are not read when opening
    text = json.dumps(data)
    (folder / "annotations" / "instances_val2017.json").write_text(text)
    print(
        f"  instances_val2017.json: {len(text) / 1e6:.0f} MB, {len(data['annotations']):,} annotations", file=sys.stderr
    )
    return folder


CASES = [
    Case("cifar10", "CIFAR-10 pickles, train + test (60,000)", 1.0, write_cifar, _open_splits("train", "test"),
         read_files, "reading the pickles"),
    Case("fashion", "Fashion-MNIST .gz, train + test (70,000)", 1.0, write_fashion, _open_splits("train", "test"),
         gunzip_files, "reading and gunzipping the files"),
    Case("folder", "Image folder, 10 classes (100,000 PNGs)", 3.0, write_folder, lambda p: len(open_dataset(p)),
         scandir_walk, "a bare os.scandir walk"),
    Case("coco", "COCO instances json (5,000 images)", 5.0, write_coco_val, lambda p: len(open_dataset(p)),
         json_load, "a plain json.load"),
]  # fmt: skip


def run(case: Case, runs: int) -> tuple[float, int, float]:
    """(median seconds of opening, samples, median seconds of the floor)."""
    with tempfile.TemporaryDirectory(prefix=f"bench_{case.key}_") as tmp:
        started = time.perf_counter()
        path = case.write(Path(tmp))
        print(f"  wrote {case.key} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        count = case.open(path)  # once untimed: later runs measure a warm file cache, as a second look would
        median = median_seconds(lambda: case.open(path), runs, warm_up=False)  # warmed by the count's open
        floor = median_seconds(lambda: case.floor(path), runs, warm_up=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return median, count, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated case keys: " + ",".join(c.key for c in CASES))
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(",")))
    print(f"{'dataset':<46} {'samples':>8} {'median':>9} {'target':>8}  verdict      floor")
    times = {}
    for case in CASES:
        if wanted and case.key not in wanted:
            continue
        median, count, floor = run(case, args.runs)
        times[case.key] = (case, median, floor)
        verdict = "target met" if median < case.target_s else "MISSED"
        print(
            f"{case.title:<46} {count:>8,} {median:>8.3f}s {case.target_s:>7.1f}s  {verdict:<11}  "
            f"{median / floor:.2f}x {case.floor_name} ({floor:.3f} s)",
            flush=True,
        )
    rows = [
        ("open_cifar10_fashion", "Opening CIFAR-10 (60,000) / Fashion-MNIST (70,000)", "cifar10", "fashion"),
        ("open_folder_coco", "Opening a folder of 100,000 images / a COCO file of 5,000 images", "folder", "coco"),
    ]
    for key, what, first, second in rows:
        if first in times and second in times:
            record_row(key, what, times[first], times[second])
        else:
            print(f"--only: {key} not recorded in benchmarks/results.json")


def record_row(key: str, what: str, first: tuple, second: tuple) -> None:
    """One README row of two cases: each median, its ratio against its floor, each target."""
    (case_a, a, floor_a), (case_b, b, floor_b) = first, second
    figure = f"{a:.2f} s ({a / floor_a:.2f}× {case_a.floor_name}) / {b:.2f} s ({b / floor_b:.2f}× {case_b.floor_name})"
    target = (
        f"< {case_a.target_s:g} s" if case_a.target_s == case_b.target_s
        else f"< {case_a.target_s:g} s / < {case_b.target_s:g} s"
    )  # fmt: skip
    met = a < case_a.target_s and b < case_b.target_s
    record(key, what, figure, target, met, "python benchmarks/bench_open.py")


if __name__ == "__main__":
    main()
