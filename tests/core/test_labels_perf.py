"""Labeling by keyboard must feel instant: one edit is one short transaction, arrays come back at once.

Run with ``-s`` to see the timings. The bounds are loose (CI disks and shared cores vary); the
numbers printed are what to compare. An edit's time is mostly the fsync of ``synchronous=FULL``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.inference.predictions import Predictions
from core.labels import open_project
from tests.core.test_labels_support import label_store_timings, synthetic, timed

N = 100_000


def test_edits_and_arrays_at_100k_samples_are_fast(tmp_path: Path) -> None:
    """The figures themselves: python benchmarks/bench_label_store.py (it records the README's row)."""
    t = label_store_timings(tmp_path, N)
    assert t["relabelled"] >= N // 10 - 40
    print(
        f"\n100k samples: open {t['opened'] * 1e3:.0f} ms, batch of 10k {t['batch'] * 1e3:.0f} ms, "
        f"one edit {t['edit'] * 1e3:.1f} ms (median of 40, max {max(t['edits_all']) * 1e3:.1f}), "
        f"undo {t['undo'] * 1e3:.1f} ms, reopen with 10k edits {t['reopened'] * 1e3:.0f} ms; "
        + ", ".join(f"{k}() {v * 1e3:.2f} ms" for k, v in t["arrays"].items())
    )
    assert max(t["arrays"].values()) < 0.050
    assert t["edit"] < 0.025  # ~3 ms on an SSD-backed VM; the fsync dominates
    assert t["reopened"] < 1.0 and t["batch"] < 5.0


def test_a_run_of_100k_samples_loads_quickly(tmp_path: Path) -> None:
    dataset = synthetic(tmp_path / "ds", N, classes=10)
    project = open_project(dataset)
    scores = np.random.default_rng(0).random((N, 10), dtype=np.float32)
    predictions = Predictions("multiclass", dataset.classes, dataset.sample_ids, scores, np.ones(N, bool))
    saved, run = timed(lambda: project.save_run(predictions, metrics={}))
    loaded_in, loaded = timed(lambda: project.load_run(run.id))
    print(f"\nrun of 100k x 10: saved in {saved * 1e3:.0f} ms, loaded in {loaded_in * 1e3:.0f} ms")
    assert np.array_equal(loaded.scores, scores) and loaded_in < 2.0
