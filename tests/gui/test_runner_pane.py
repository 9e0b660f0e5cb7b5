"""The runner pane shows what core's RunPlan decides: the offers with their reasons, the class map, resuming.

The bundled models on the demo datasets (copies in tmp_path where a class is renamed or a run writes).
"""

from __future__ import annotations

import tempfile

import pytest

from core import tasks
from core.datasets import open_dataset
from gui.runner import RunnerPane
from gui.runner.class_map_dialog import IGNORE, SEGMENTATION_NOTE, ClassMapDialog
from tests.core.demo_copies import DEMO, renamed_digits, renamed_scenes


@pytest.fixture
def runner(qtbot, app_state, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # a segmenter's masks go under tmp_path
    widget = RunnerPane(app_state)
    qtbot.addWidget(widget)
    yield widget
    widget.cancel()
    qtbot.waitUntil(lambda: not widget.is_running(), timeout=30_000)


def rows(runner) -> list[tuple[str, bool, str]]:
    """(name, enabled, tooltip) of every entry of the model list."""
    model = runner.model_combo.model()
    return [(model.item(r).text(), model.item(r).isEnabled(), model.item(r).toolTip()) for r in range(model.rowCount())]


def test_the_model_that_fits_is_selected_and_the_others_are_greyed_with_cores_reason(runner, app_state):
    app_state.set_dataset(open_dataset(DEMO / "digits"))
    shown = rows(runner)
    assert shown[0][:2] == (runner.current_card().display_name, True) and runner.current_card().name == "digits-cnn"
    for (name, enabled, tooltip), offer in zip(shown[1:], runner.plan.offers[1:]):
        assert name == offer.card.display_name and not enabled
        assert tooltip == tasks.fit(offer.card, app_state.dataset).reason != ""
    assert runner.map_button.isHidden() and runner.tile_check.isHidden()


def test_a_segmenter_shows_its_tiles(runner, app_state):
    app_state.set_dataset(open_dataset(DEMO / "scenes"))
    assert runner.current_card().name == "scenes-unet"
    assert not runner.tile_check.isHidden() and not runner.tile_spin.isHidden()


def test_a_classifier_named_differently_is_mapped_from_cores_suggestion_and_runs(
    qtbot, runner, app_state, monkeypatch, tmp_path
):
    dataset = open_dataset(renamed_digits(tmp_path))
    app_state.set_dataset(dataset)
    assert runner.current_card().name == "digits-cnn" and not runner.map_button.isHidden()
    assert "named differently: Run (or Map Classes…) asks" in runner.card_label.text()
    seen = []

    def user_maps_seven(dialog):
        seen.append({name: combo.currentText() for name, combo in zip(dialog.dataset_classes, dialog.combos)})
        dialog.combos[dialog.dataset_classes.index("seven")].setCurrentText("7")
        return True

    monkeypatch.setattr(ClassMapDialog, "exec", user_maps_seven)
    with qtbot.waitSignal(runner.run_finished, timeout=120_000):
        assert runner.start_run()
    assert seen == [{name: IGNORE if name == "seven" else name for name in dataset.classes}]  # Fit.suggestion
    assert "10 of the dataset's classes mapped" in runner.card_label.text()
    assert app_state.predictions.complete and app_state.predictions.classes == dataset.classes
    assert runner._job.class_map.sources[dataset.classes.index("seven")] == [7]


def test_a_segmenter_named_differently_starts_from_the_names_in_common(qtbot, runner, app_state, monkeypatch, tmp_path):
    app_state.set_dataset(open_dataset(renamed_scenes(tmp_path)))
    seen = []

    def user_confirms(dialog):
        seen.append((dialog.class_map(), dialog.note.text()))
        return True

    monkeypatch.setattr(ClassMapDialog, "exec", user_confirms)
    runner.ask_class_map()  # the Map Classes… button
    mapping, note = seen[0]
    assert mapping == {str(k): str(k) for k in range(10)}  # "sky" is not "background": left to the user
    assert note.startswith("10 of 11 classes matched by name") and SEGMENTATION_NOTE.format(ignore=IGNORE) in note
    assert runner.plan.class_map(runner.current_card()) == mapping


def test_a_cancel_before_the_job_is_made_ends_the_run(qtbot, runner, app_state):
    app_state.set_dataset(open_dataset(DEMO / "digits"))
    with qtbot.waitSignal(runner.run_cancelled, timeout=60_000):
        assert runner.start_run()
        runner.cancel()  # at once: the worker that readies torch has not answered yet
    assert not runner.is_running() and runner.run_button.isEnabled()
    assert app_state.run_status.outcome == "cancelled"


def run_and_cancel(qtbot, runner, started) -> None:
    """Run, wait until ``started()`` says the run's job has begun, cancel."""
    with qtbot.waitSignal(runner.run_cancelled, timeout=120_000):
        assert runner.start_run()
        qtbot.waitUntil(lambda: runner._job is not None and started(), timeout=60_000)
        runner.cancel()
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=60_000)


def test_other_tiles_after_a_cancel_start_a_new_run(qtbot, runner, app_state):
    scenes = open_dataset(DEMO / "scenes")
    app_state.set_dataset(scenes)
    runner.batch_spin.setValue(2)
    run_and_cancel(qtbot, runner, lambda: runner._job.predictions.num_done > 0)
    first = runner._job
    assert 0 < first.predictions.num_done < len(scenes) and first.tile is None
    runner.tile_check.setChecked(True)
    runner.tile_spin.setValue(64)
    run_and_cancel(qtbot, runner, lambda: runner._job is not first)  # the masks so far were made resized
    tiled = runner._job
    assert tiled.tile == (64, 64) and tiled.predictions.settings["mode"] == "tile"
    assert app_state.predictions is tiled.predictions
    run_and_cancel(qtbot, runner, lambda: True)  # the same tiles again: Run resumes
    assert runner._job is tiled


def test_a_device_that_is_not_there_fails_the_run_with_the_reason(qtbot, runner, app_state):
    app_state.set_dataset(open_dataset(DEMO / "digits"))
    runner.device_combo.addItem("cuda:99")  # listed once, gone now (no machine has a hundredth GPU)
    runner.device_combo.setCurrentText("cuda:99")
    with qtbot.waitSignal(runner.run_failed, timeout=60_000) as failed:
        assert runner.start_run()
    assert failed.args[0] and app_state.run_status.failed and app_state.run_status.model == "Handwritten digits CNN"
    assert not runner.is_running() and runner.run_button.isEnabled() and runner.progress.format() == "failed"
