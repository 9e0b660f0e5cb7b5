"""Helpers shared by the labeling, store and export tests (no tests of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from core.datasets.base import Dataset
from core.labels import open_project
from core.labels.connection import connect
from tests.fake_datasets import write_images

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["cat", "dog", "eel"]


def image_folder(parent: Path, splits: tuple[str, ...] = (), per_class: int = 3) -> Path:
    """``parent/pets``: PNG images in class folders (under split folders when ``splits``)."""
    root = parent / "pets"
    prefixes = [f"{s}/" for s in splits] or [""]
    names = [f"{p}{c}/{c}_{i}.png" for p in prefixes for c in CLASSES for i in range(per_class)]
    write_images(root, names)
    return root


def synthetic(root: Path, n: int, classes: int = 10, seed: int = 0) -> Dataset:
    """An in-memory multiclass dataset of ``n`` samples (no pixels): for store and speed tests."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = [f"class_{c}" for c in range(classes)]
    ids = [f"s{i:06d}" for i in range(n)]
    return Dataset(
        root,
        task="multiclass",
        classes=names,
        splits=[],
        split=None,
        sample_ids=ids,
        targets=rng.integers(0, classes, n),
    )


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    """Median seconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def label_store_timings(folder: Path, n: int = 100_000, edits: int = 40) -> dict:
    """Seconds of the project store's operations on ``n`` samples of 100 classes, in ``folder``.

    Shared by tests/core/test_labels_perf.py (loose bounds) and benchmarks/bench_label_store.py (the README's
    figures). ``edit`` is the median of ``edits`` single-label edits (``edits_all`` all of them); ``fsync_floor``
    the median of as many one-row transactions on a bare SQLite file beside the store, opened with the store's
    pragmas (WAL, synchronous=FULL): what an edit cannot go below; ``arrays`` the median of 5 calls each of
    ``targets``/``edited``/``status``, and ``copy_floor`` that of copying one array of ``n`` labels.
    """
    dataset = synthetic(folder / "ds", n, classes=100)
    opened, project = timed(lambda: open_project(dataset))
    batch, _ = timed(lambda: project.set_label(np.arange(0, n, 10), "class_5"))  # n / 10 samples, one step
    rng = np.random.default_rng(0)
    singles = [
        timed(lambda: project.set_label(int(rng.integers(n)), f"class_{rng.integers(100)}"))[0] for _ in range(edits)
    ]
    undo, _ = timed(project.undo)
    arrays = {name: timed(getattr(project, name), repeat=5)[0] for name in ("targets", "edited", "status")}
    project.store.close()
    reopened, project = timed(lambda: open_project(dataset))
    relabelled = int((project.targets()[::10] == 5).sum())
    project.store.close()
    conn = connect(folder / "floor.sqlite")
    conn.execute("CREATE TABLE edits (sample INTEGER, label TEXT)")

    def one_row() -> None:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO edits VALUES (?, ?)", (int(rng.integers(n)), "class_1"))
        conn.execute("COMMIT")

    floor = float(np.median([timed(one_row)[0] for _ in range(edits)]))
    conn.close()
    labels = dataset.targets.copy()
    copy_floor, _ = timed(labels.copy, repeat=5)
    return {
        "n": n, "opened": opened, "batch": batch, "edit": float(np.median(singles)), "edits_all": singles,
        "undo": undo, "arrays": arrays, "reopened": reopened, "relabelled": relabelled, "fsync_floor": floor,
        "copy_floor": copy_floor,
    }  # fmt: skip


def spawn(script: str, *args: str) -> subprocess.Popen:
    """A Python child running ``script`` in the repository, stdout as a line-buffered pipe.

    ``python -c`` run in the repository root imports ``core`` and ``tests.core...`` from there."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def acks_until(child: subprocess.Popen, count: int, timeout_lines: int = 100000) -> list[str]:
    """Read ``count`` acknowledgement lines from the child (it must print one line per ack)."""
    lines = []
    while len(lines) < count:
        line = child.stdout.readline()
        if not line:
            raise AssertionError(f"child ended early: {child.stderr.read()}")
        lines.append(line.strip())
        if len(lines) > timeout_lines:
            break
    return lines
