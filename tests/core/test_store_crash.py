"""SIGKILL in the middle of a burst of edits, of saving runs, of an export: nothing acknowledged is lost.

Each child prints one line per operation *after* it returned (the commit is done); the test kills
it with SIGKILL while it is busy, reopens the store and checks every acknowledged operation.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.datasets import open_dataset
from core.inference.predictions import Predictions
from core.labels import open_project
from core.labels.runs import list_runs
from tests.core.test_labels_support import acks_until, image_folder, spawn, synthetic

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

EDITS = r"""
import sys
from pathlib import Path
import numpy as np
from tests.core.test_labels_support import synthetic
from core.labels import open_project
project = open_project(synthetic(Path(sys.argv[1]), 500))
for i in range(1_000_000):
    if i % 5 == 4:  # a batch step of 20 samples, all or nothing
        step = project.set_note(np.arange(20) + i % 480, f"batch {i}")
    else:
        step = project.set_note(i % 500, f"note {i}")
    print(step.id, i, len(step.changes), flush=True)
"""


def _kill(child, after: list[str]) -> list[str]:
    child.send_signal(signal.SIGKILL)
    # Read on through child.stdout, not communicate(): communicate reads the raw pipe and would miss
    # the acks that readline() already buffered but had not returned yet.
    rest = child.stdout.read()
    child.stderr.read()
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return after + [line for line in rest.splitlines() if line.strip()]  # acks already in the pipe count


def test_sigkill_during_a_burst_of_edits_loses_no_acknowledged_edit(tmp_path: Path) -> None:
    child = spawn(EDITS, str(tmp_path / "ds"))
    acked = _kill(child, acks_until(child, 60))
    project = open_project(synthetic(tmp_path / "ds", 500))
    store = project.store
    assert not project.read_only, "the killed process's lock must be gone"
    assert store.integrity_check() == "ok"
    history = store.history()
    rows_per_step: dict[int, list] = {}
    for entry in history:
        rows_per_step.setdefault(entry.step, []).append(entry)
    for line in acked:
        step, i, count = (int(v) for v in line.split())
        entries = rows_per_step[step]
        assert len(entries) == count and {e.new for e in entries} == {f"batch {i}" if i % 5 == 4 else f"note {i}"}
    assert len(rows_per_step) - len(acked) in (0, 1)  # at most the one committed as the kill came
    assert all(len(v) in (1, 20) for v in rows_per_step.values())  # no step half-written
    latest = {}
    for entry in history:
        latest[int(entry.sample_id[1:])] = entry.new
    assert project.notes() == latest  # the current values agree with the history


RUNS = r"""
import sys
from pathlib import Path
import numpy as np
from tests.core.test_labels_support import synthetic
from core.inference.predictions import Predictions
from core.labels import open_project
project = open_project(synthetic(Path(sys.argv[1]), 4000, classes=50))
for i in range(1000):
    scores = np.random.default_rng(i).random((4000, 50), dtype=np.float32)
    done = np.ones(4000, dtype=bool)
    ids, classes = project.dataset.sample_ids, project.dataset.classes
    predictions = Predictions("multiclass", classes, ids, scores, done, model=f"m{i}")
    run = project.save_run(predictions, metrics={"i": i}, settings={"batch_size": i})
    print(run.id, i, flush=True)
"""


def test_sigkill_while_saving_runs_keeps_every_acknowledged_run(tmp_path: Path) -> None:
    child = spawn(RUNS, str(tmp_path / "ds"))
    first = acks_until(child, 2)
    time.sleep(np.random.default_rng().uniform(0.0, 0.15))  # land anywhere in the next save
    acked = _kill(child, first)
    project = open_project(synthetic(tmp_path / "ds", 4000, classes=50))
    assert project.store.integrity_check() == "ok"
    runs = {run.id: run for run in list_runs(project.store)}
    for line in acked:
        run_id, i = (int(v) for v in line.split())
        assert runs[run_id].metrics == {"i": i} and runs[run_id].settings == {"batch_size": i}
    for run in runs.values():  # no row without its file, and every file whole
        predictions = Predictions.load(project.store.folder / run.predictions_file)
        expected = np.random.default_rng(run.metrics["i"]).random((4000, 50), dtype=np.float32)
        assert np.array_equal(predictions.scores, expected)
    assert len(runs) - len(acked) in (0, 1)
    assert not list(project.store.runs_folder.glob("*.tmp.npz"))  # a half-written file is tidied away


EXPORTS = r"""
import sys
from pathlib import Path
from core.datasets import open_dataset
from core.labels import open_project
from core.labels.export import export_labels
project = open_project(open_dataset(Path(sys.argv[1])))
project.set_label([0, 1], "eel")
for k in range(1000):
    export_labels(project, Path(sys.argv[2]) / f"out_{k}")
    print(k, flush=True)
"""


def test_sigkill_during_an_export_leaves_no_partial_export(tmp_path: Path) -> None:
    root = image_folder(tmp_path, per_class=40)
    child = spawn(EXPORTS, str(root), str(tmp_path / "exports"))
    first = acks_until(child, 2)
    time.sleep(np.random.default_rng().uniform(0.0, 0.05))
    acked = {int(k) for k in _kill(child, first)}
    for folder in (tmp_path / "exports").iterdir():
        if folder.name.startswith("."):
            assert ".partial-" in folder.name  # the unfinished one, hidden, never under its final name
            continue
        exported = open_dataset(folder)
        assert len(exported) == 120 and json.loads((folder / "summary.json").read_text())["samples_edited"] == 2
        acked.discard(int(folder.name.split("_")[1]))
    assert not acked, f"acknowledged exports missing: {acked}"
    assert open_project(open_dataset(root)).store.integrity_check() == "ok"
