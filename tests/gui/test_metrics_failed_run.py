"""A run that failed shows its error in the metrics view, never a table of NaN and an empty matrix.

The runner and the metrics view share one AppState, as in the window; the runs fail for real:
weights that are not there, weights that do not fit the network, a dataset none of whose images decode.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PySide6.QtWidgets import QLabel

from core.datasets import open_dataset
from gui.runner import RunnerPane
from gui.state import RunStatus
from tests.gui.test_metrics_data import FACES, faces, load, shown_pane

MODELS = FACES.parents[1] / "models"


@pytest.fixture
def pane(qtbot, app_state):
    yield from shown_pane(qtbot, app_state)


@pytest.fixture
def runner(qtbot, app_state):
    widget = RunnerPane(app_state)
    qtbot.addWidget(widget)
    yield widget
    widget.cancel()
    qtbot.waitUntil(lambda: not widget.is_running(), timeout=30_000)


def faces_card(tmp_path, name: str, **changes) -> str:
    """A copy of the bundled faces model's card (and weights) under tmp_path, with ``changes``."""
    card = json.loads((MODELS / "faces_cnn.json").read_text())
    card.pop("sha256")
    shutil.copy(MODELS / "faces_cnn.pt", tmp_path / "faces_cnn.pt")
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({**card, "name": name, "title": f"Faces {name}", **changes}))
    return str(path)


def visible_text(widget) -> str:
    """Everything the pane shows in labels (summary, banner, messages), as one string."""
    labels = [w for w in widget.findChildren(QLabel) if w.isVisibleTo(widget) and w.text()]
    return "\n".join(label.text() for label in labels)


def run_and_fail(qtbot, runner, state, dataset_path, model: str) -> str:
    state.set_dataset(open_dataset(dataset_path))
    assert runner.select_model(model)
    with qtbot.waitSignal(runner.run_failed, timeout=120_000) as failed:
        assert runner.start_run()
    return failed.args[0]


def assert_shows_the_failure(qtbot, pane, message: str) -> None:
    qtbot.waitUntil(lambda: pane.failure.isVisible(), timeout=10_000)
    qtbot.wait(300)  # the metrics' coalescing delay: what shows now stays
    shown = visible_text(pane)
    assert message in pane.failure.text().replace("&#x27;", "'")
    assert "failed" in pane.summary.text()
    assert "nan" not in shown.lower()
    assert not pane.matrix.isVisible() and not pane.table.isVisible()  # no empty matrix, no NaN table
    assert pane.no_numbers.isVisible() and "failed" in pane.no_numbers.text()


def test_missing_weights_show_their_error_in_the_metrics(qtbot, pane, runner, tmp_path):
    model = faces_card(tmp_path, "missing", weights="not-there.pt")
    message = run_and_fail(qtbot, runner, pane.state, FACES, model)
    assert "not-there.pt" in message
    assert_shows_the_failure(qtbot, pane, message)
    assert "Faces missing" in pane.failure.text()
    assert "Runner: stopped after 0 of 40 samples" in pane.failure.text()


def test_a_model_that_does_not_load_shows_its_error_in_the_metrics(qtbot, pane, runner, tmp_path):
    model = faces_card(tmp_path, "narrow", arch_kwargs={"width": 8})  # the weights are of width 16
    message = run_and_fail(qtbot, runner, pane.state, FACES, model)
    assert "shape" in message
    assert_shows_the_failure(qtbot, pane, message)


def test_a_run_that_reads_no_sample_is_a_failure_with_its_reason(qtbot, pane, runner, tmp_path):
    broken = tmp_path / "faces"
    shutil.copytree(FACES, broken)
    for image in broken.rglob("*.png"):
        image.write_bytes(b"not a png")
    finished = []
    runner.run_finished.connect(lambda: finished.append(True))
    message = run_and_fail(qtbot, runner, pane.state, broken, "faces-cnn")
    assert message.startswith("no sample could be read: 40 of 40 failed") and "not an image: a text file" in message
    assert not finished  # not a finished run (nothing to save)
    assert_shows_the_failure(qtbot, pane, message.split("(")[0])
    assert "40 could not be read" in pane.failure.text()


def test_a_failure_after_some_batches_keeps_their_numbers_under_the_error(qtbot, pane):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    pane.state.set_run_status(RunStatus("Faces net", "failed", "CUDA error: out of memory", preds))
    qtbot.waitUntil(pane.failure.isVisible)
    assert "CUDA error: out of memory" in pane.failure.text()
    assert f"numbers below are of the {preds.num_done} samples" in pane.failure.text()
    assert pane.matrix.isVisible() and "Accuracy" in pane.summary.text()
    np.testing.assert_array_equal(pane.matrix.counts, pane.counts)


def test_the_failure_goes_when_other_predictions_are_shown(qtbot, pane):
    dataset, saved = faces()
    _, partial = faces(seed=1)
    load(qtbot, pane, dataset, partial)
    pane.state.set_run_status(RunStatus("Faces net", "failed", "CUDA error: out of memory", partial))
    qtbot.waitUntil(pane.failure.isVisible)
    pane.state.set_predictions(saved)  # e.g. a saved run opened from the Runs menu
    qtbot.waitUntil(lambda: not pane.failure.isVisible())
    assert pane.matrix.isVisible()
    pane.state.set_run_status(RunStatus("Faces net", "failed", "weights missing"))  # failed before predicting
    qtbot.waitUntil(pane.failure.isVisible)
    assert "numbers below are of the earlier run of test-net" in pane.failure.text()
    pane.state.set_dataset(dataset)  # another dataset: the failure says nothing about it
    qtbot.waitUntil(lambda: not pane.failure.isVisible())


def test_a_run_waiting_for_its_first_batch_says_so_instead_of_nan(qtbot, pane):
    dataset, preds = faces()
    waiting = type(preds).empty(dataset.task, list(dataset.classes), list(dataset.sample_ids), model="faces-cnn")
    pane.state.set_dataset(dataset)
    pane.state.set_predictions(waiting)
    pane.state.set_run_status(RunStatus("Faces net", "running", predictions=waiting))
    qtbot.waitUntil(lambda: "first predictions" in pane.no_numbers.text())
    qtbot.wait(200)
    assert pane.no_numbers.isVisible() and not pane.matrix.isVisible()
    assert "nan" not in visible_text(pane).lower()
