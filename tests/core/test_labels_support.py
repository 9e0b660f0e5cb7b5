"""Helpers shared by the labeling, store and export tests (no tests of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from core.datasets.base import Dataset
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
