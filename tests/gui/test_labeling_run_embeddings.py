"""A run's embeddings are kept with it in the project store: saved when the run finishes, shown again with the
run when the dataset is reopened or the run is picked from the Runs menu; a run whose file is damaged is shown
without them, and the window says why."""

from __future__ import annotations

import tempfile

import numpy as np

from core.datasets import open_dataset
from core.labels import open_project
from tests.gui.test_labeling_support import predictions_for


def pick(window, run_id: int) -> None:
    """Runs > the run titled "#<run_id> ...", as the user clicks it."""
    window.runs_menu.aboutToShow.emit()
    (action,) = [a for a in window.runs_menu.actions() if a.isCheckable() and a.text().startswith(f"#{run_id} ")]
    action.trigger()


def test_a_run_with_embeddings_keeps_them_and_shows_them_again_on_reopen(qtbot, digits, open_window, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(digits.parent))  # the job's own embeddings file stays in tmp_path
    window = open_window(digits)
    runner, runs = window.runner, window.labeling.runs
    runner.embeddings_check.setChecked(True)
    with qtbot.waitSignal(runs.saved, timeout=180_000) as saved:
        assert runner.start_run()
    run = saved.args[0]
    rows = np.array(window.state.embeddings)
    assert run.has_embeddings and rows.shape == (len(window.state.dataset), 64)
    window.close()

    again = open_window(digits)
    assert again.labeling.runs.shown.id == run.id
    shown = again.state.embeddings
    assert shown is not None and shown.dtype == np.float16 and not shown.flags.writeable
    np.testing.assert_array_equal(shown, rows)
    assert again.state.predictions.done.all() and not again.banner.isVisible()


def test_picking_a_run_from_the_menu_shows_its_embeddings_or_none(qtbot, digits, open_window):
    dataset = open_dataset(digits)
    project = open_project(dataset)
    rows = np.random.default_rng(0).normal(size=(len(dataset), 8)).astype(np.float16)
    with_rows = project.save_run(predictions_for(dataset, dataset.targets), name="with", embeddings=rows)
    without = project.save_run(predictions_for(dataset, dataset.targets), name="without")
    project.store.close()

    window = open_window(digits)
    state = window.state
    assert window.labeling.runs.shown.id == without.id and state.embeddings is None  # the latest kept none
    window.runs_menu.aboutToShow.emit()
    tips = {a.text().split()[0]: a.toolTip() for a in window.runs_menu.actions() if a.isCheckable()}
    assert "embeddings: kept" in tips[f"#{with_rows.id}"] and "embeddings: none" in tips[f"#{without.id}"]
    assert window.runs_menu.toolTipsVisible()
    with qtbot.waitSignal(state.predictions_changed, timeout=30_000):
        pick(window, with_rows.id)
    np.testing.assert_array_equal(state.embeddings, rows)
    assert window.labeling.runs.shown.id == with_rows.id
    with qtbot.waitSignal(state.predictions_changed, timeout=30_000):
        pick(window, without.id)
    assert state.embeddings is None and state.predictions is not None


def test_a_run_whose_embeddings_are_damaged_is_shown_without_them_and_says_why(qtbot, digits, open_window):
    dataset = open_dataset(digits)
    project = open_project(dataset)
    rows = np.ones((len(dataset), 8), np.float16)
    run = project.save_run(predictions_for(dataset, dataset.targets), name="damaged", embeddings=rows)
    path = project.store.folder / run.embeddings_file
    path.write_bytes(path.read_bytes()[:200])  # cut short
    project.store.close()

    window = open_window(digits)
    assert window.state.predictions is not None and window.state.embeddings is None
    assert window.labeling.runs.shown.id == run.id
    qtbot.waitUntil(window.banner.isVisible, timeout=10_000)
    text = window.banner.label.text()
    assert "shown without its embeddings" in text and "cannot be read" in text

    window.banner.hide()
    with qtbot.waitSignal(window.state.error, timeout=30_000) as error:
        pick(window, run.id)
    assert error.args[0] == "The run is shown without its embeddings" and f"run {run.id}" in error.args[1]
    assert window.state.predictions is not None and window.state.embeddings is None
