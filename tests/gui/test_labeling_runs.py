"""Runs kept in the project store: saved when a run finishes, shown again on reopen, compared."""

from __future__ import annotations

import numpy as np

from core.datasets import open_dataset
from core.labels import open_project
from tests.gui.test_labeling_support import predictions_for


def test_a_finished_run_is_saved_and_shown_again_when_the_dataset_is_reopened(qtbot, digits, open_window):
    window = open_window(digits)
    runner, runs = window.runner, window.labeling.runs
    card = runner.current_card()
    assert card is not None
    with qtbot.waitSignal(runs.saved, timeout=180_000) as saved:
        assert runner.start_run()
    run = saved.args[0]
    assert run.name == card.display_name and run.weights_sha256 and run.device == "cpu"
    assert run.settings["batch_size"] == runner.batch_spin.value()
    assert 0.5 < run.metrics["accuracy"] <= 1
    scores = window.state.predictions.scores.copy()
    window.runs_menu.aboutToShow.emit()
    checked = [a.text() for a in window.runs_menu.actions() if a.isChecked()]
    assert len(checked) == 1 and checked[0].startswith(f"#{run.id} ") and "accuracy" in checked[0]
    window.close()

    again = open_window(digits)
    assert again.state.predictions is not None  # loaded with the dataset, no run needed
    np.testing.assert_allclose(again.state.predictions.scores, scores)
    assert again.labeling.runs.shown.id == run.id
    assert again.browser.filters.wrong_only.isEnabled()


def test_compare_runs_shows_both_metrics_and_filters_right_in_a_wrong_in_b(qtbot, digits, open_window):
    dataset = open_dataset(digits)
    truth = dataset.targets
    wrong_a, wrong_b = truth.copy(), truth.copy()
    wrong_a[[1, 2]] = (truth[[1, 2]] + 1) % 10
    wrong_b[[2, 5, 9]] = (truth[[2, 5, 9]] + 1) % 10
    project = open_project(dataset)
    project.save_run(predictions_for(dataset, wrong_a), name="run A")
    project.save_run(predictions_for(dataset, wrong_b), name="run B")
    project.store.close()

    window = open_window(digits)
    runs = window.labeling.runs
    assert [r.name for r in runs.runs()] == ["run A", "run B"] and runs.shown.name == "run B"
    window.runs_menu.aboutToShow.emit()
    assert runs.compare_action.isEnabled()
    runs.compare()
    dialog = runs.compare_dialog
    qtbot.waitUntil(lambda: dialog.comparison is not None, timeout=30_000)
    rows = {name: (a, b) for name, a, b in dialog.comparison.rows}
    n = len(truth)
    np.testing.assert_allclose(rows["accuracy"], ((n - 2) / n, (n - 3) / n))
    assert dialog.table.rowCount() == len(dialog.comparison.rows)
    assert dialog.right_a.text() == "Right in A, wrong in B (2)"
    dialog.right_a.click()
    np.testing.assert_array_equal(window.browser.visible_indices(), [5, 9])
    assert window.state.selection.name.startswith("right in #1, wrong in #2")
    dialog.right_b.click()
    np.testing.assert_array_equal(window.browser.visible_indices(), [1])
    dialog.close()


def test_two_unet_runs_are_kept_shown_again_and_compared_image_by_image(qtbot, tmp_path, open_window):
    from tests.fake_datasets import tiny_unet_card, write_voc

    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="trainval")
    tiny_unet_card(tmp_path, dataset.classes, sharpen=True, name="unet")  # sharpened: classes vary by pixel
    window = open_window(root, split="trainval")
    runner, runs = window.runner, window.labeling.runs
    with qtbot.waitSignal(runner.opener.opened, timeout=60_000):
        runner.opener.open(str(tmp_path / "unet.json"), dataset.classes)
    for tiles in (False, True):  # the same U-Net resized to its input, then in tiles at the image's size
        runner.tile_check.setChecked(tiles)
        runner.tile_spin.setValue(32)
        with qtbot.waitSignal(runs.saved, timeout=120_000) as saved:
            assert runner.start_run()
        qtbot.waitUntil(lambda: not runner.is_running() and not runs.busy(), timeout=30_000)
    run = saved.args[0]
    assert run.task == "segmentation" and run.settings["mode"] == "tile" and run.settings["tile"] == [32, 32]
    masks = [window.state.predictions.mask(i) for i in range(len(dataset))]
    window.runs_menu.aboutToShow.emit()
    titles = [a.text() for a in window.runs_menu.actions() if a.isCheckable()]
    assert len(titles) == 2 and all("mean IoU" in t for t in titles) and runs.compare_action.isEnabled()
    window.close()

    again = open_window(root, split="trainval")
    shown = again.state.predictions
    assert shown is not None and shown.task == "segmentation" and again.labeling.runs.shown.id == run.id
    for i, mask in enumerate(masks):
        np.testing.assert_array_equal(shown.mask(i), mask)
    again.labeling.runs.compare()
    dialog = again.labeling.runs.compare_dialog
    qtbot.waitUntil(lambda: dialog.comparison is not None, timeout=30_000)
    comparison = dialog.comparison
    rows = {name: (a, b) for name, a, b in comparison.rows}
    assert {"mean IoU", "mean Dice", f"IoU · {dataset.classes[0]}", f"Dice · {dataset.classes[0]}"} <= set(rows)
    assert dialog.table.rowCount() == len(comparison.rows)
    assert len(comparison.better_in_a) + len(comparison.worse_in_a) > 0  # resize and tiles differ somewhere
    assert dialog.right_a.text() == f"Better in A ({len(comparison.better_in_a)})"
    assert dialog.right_b.text() == f"Worse in A ({len(comparison.worse_in_a)})"
    dialog.right_a.click()
    np.testing.assert_array_equal(again.browser.visible_indices(), comparison.better_in_a)
    dialog.right_b.click()
    np.testing.assert_array_equal(again.browser.visible_indices(), comparison.worse_in_a)
    assert again.state.selection.name.startswith("worse in #1 than #2")
    dialog.close()


def evaluated_elsewhere(dataset, predicted, out) -> None:
    """What `evaluate --out out` writes on another machine for ``predicted`` on ``dataset``."""
    from core import tasks

    preds = predictions_for(dataset, predicted)
    tasks.of(preds).write_evaluation(dataset, preds, out)


def test_a_run_made_elsewhere_is_imported_from_the_runs_menu_and_shown(qtbot, digits, open_window, tmp_path,
                                                                       monkeypatch):  # fmt: skip
    from PySide6.QtWidgets import QFileDialog

    dataset = open_dataset(digits)
    predicted = dataset.targets.copy()
    predicted[:36] = (predicted[:36] + 1) % 10  # 90% right
    evaluated_elsewhere(dataset, predicted, tmp_path / "cluster")
    window = open_window(digits)
    runs = window.labeling.runs
    window.runs_menu.aboutToShow.emit()
    action = next(a for a in window.runs_menu.actions() if a.text() == "&Import Run from Folder…")
    assert action.isEnabled()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "cluster"))
    with qtbot.waitSignal(runs.imported, timeout=60_000) as imported:
        action.trigger()
    run = imported.args[0]
    assert run.name == "test model (imported)" and run.metrics["accuracy"] == 0.9
    qtbot.waitUntil(lambda: runs.shown is not None and runs.shown.id == run.id, timeout=30_000)
    np.testing.assert_array_equal(window.state.predictions.predicted, predicted)
    window.runs_menu.aboutToShow.emit()
    checked = [a.text() for a in window.runs_menu.actions() if a.isChecked()]
    assert checked == [f"#{run.id} test model (imported) · " + checked[0].split(" · ", 1)[1]]
    assert "accuracy 90.0%" in checked[0]


def test_a_run_of_other_samples_is_refused_with_the_counts(qtbot, digits, open_window, tmp_path):
    dataset = open_dataset(digits)
    evaluated_elsewhere(dataset, dataset.targets, tmp_path / "cluster")
    for gone in sorted((digits / "test" / "2").iterdir())[:3]:
        gone.unlink()  # this copy lost three images since the run
    window = open_window(digits)
    with qtbot.waitSignal(window.state.error, timeout=60_000) as error:
        window.labeling.runs.import_folder(tmp_path / "cluster")
    title, text = error.args
    assert title == "The run was not imported" and "3 of the run's 360 samples are not in the split" in text
    assert window.labeling.runs.runs() == []


def answer_when_asked(qtbot, button_text: str, seen: list[str]) -> None:
    """Click ``button_text`` in the question box the window asks once the run has been read (on a worker)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    timer = QTimer()

    def press() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.objectName() == "import_changed":
            timer.stop()
            seen.append(box.text())
            next(b for b in box.buttons() if b.text() == button_text).click()

    timer.timeout.connect(press)
    timer.start(20)
    seen.append(timer)  # kept alive until the test ends


def test_importing_the_same_run_again_shows_it_and_records_nothing(qtbot, digits, open_window, tmp_path):
    dataset = open_dataset(digits)
    evaluated_elsewhere(dataset, dataset.targets, tmp_path / "cluster")
    window = open_window(digits)
    runs = window.labeling.runs
    with qtbot.waitSignal(runs.imported, timeout=60_000) as imported:
        runs.import_folder(tmp_path / "cluster")
    first = imported.args[0]
    qtbot.waitUntil(lambda: runs.shown is not None and not runs.busy(), timeout=30_000)
    messages: list[str] = []
    window.state.message.connect(messages.append)
    runs.import_folder(tmp_path / "cluster")
    qtbot.waitUntil(lambda: runs.notice is not None and runs.notice.isVisible(), timeout=60_000)
    assert f"already imported as #{first.id} test model (imported)" in runs.notice.text()
    assert any(m.startswith(f"Already imported as #{first.id} ") for m in messages)
    assert [r.id for r in runs.runs()] == [first.id]
    runs.notice.close()


def test_a_changed_run_asks_keep_both_or_replace_and_never_replaces_unasked(qtbot, digits, open_window, tmp_path):
    dataset = open_dataset(digits)
    evaluated_elsewhere(dataset, dataset.targets, tmp_path / "cluster")
    window = open_window(digits)
    runs = window.labeling.runs
    with qtbot.waitSignal(runs.imported, timeout=60_000):
        runs.import_folder(tmp_path / "cluster")
    changed = dataset.targets.copy()
    changed[:18] = (changed[:18] + 1) % 10  # evaluate ran again into the same folder: 95% right now
    evaluated_elsewhere(dataset, changed, tmp_path / "cluster")
    seen: list = []
    answer_when_asked(qtbot, "Cancel", seen)
    runs.import_folder(tmp_path / "cluster")
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=60_000)
    assert "was imported before as #1 test model (imported)" in seen[1]
    qtbot.waitUntil(lambda: not runs.busy(), timeout=30_000)
    assert len(runs.runs()) == 1
    answer_when_asked(qtbot, "Keep Both", seen)
    with qtbot.waitSignal(runs.imported, timeout=60_000) as imported:
        runs.import_folder(tmp_path / "cluster")
    assert imported.args[0].name == "test model (imported 2)" and imported.args[0].metrics["accuracy"] == 0.95
    assert [r.metrics["accuracy"] for r in runs.runs()] == [1.0, 0.95]
    changed[:36] = (dataset.targets[:36] + 1) % 10  # and again: 90%
    evaluated_elsewhere(dataset, changed, tmp_path / "cluster")
    answer_when_asked(qtbot, "Replace #2", seen)
    with qtbot.waitSignal(runs.imported, timeout=60_000) as imported:
        runs.import_folder(tmp_path / "cluster")
    assert imported.args[0].id == 2 and imported.args[0].name == "test model (imported 2)"
    assert [r.metrics["accuracy"] for r in runs.runs()] == [1.0, 0.9]
    qtbot.waitUntil(lambda: runs.shown is not None and runs.shown.id == 2 and not runs.busy(), timeout=30_000)
    np.testing.assert_array_equal(window.state.predictions.predicted, changed)


def test_a_run_evaluate_saved_is_found_by_importing_its_folder_and_a_changed_one_asks(qtbot, digits, open_window,
                                                                                      tmp_path):  # fmt: skip
    """`evaluate` saved its run and wrote its folder: importing that folder shows that run, records nothing; once
    evaluate wrote into it again, Keep Both keeps the saved run untouched beside the new one."""
    from core.labels.run_import import evaluate_identity, read_run_folder

    dataset = open_dataset(digits)
    evaluated_elsewhere(dataset, dataset.targets, tmp_path / "eval")
    project = open_project(dataset)  # as `evaluate` saves its run, once its outputs are written
    settings = {"command": "evaluate", **evaluate_identity(tmp_path / "eval", "multiclass")}
    saved = project.save_run(read_run_folder(tmp_path / "eval").predictions, settings=settings, name="digits CNN")
    project.store.close()
    window = open_window(digits)
    runs = window.labeling.runs
    runs.import_folder(tmp_path / "eval")
    qtbot.waitUntil(lambda: runs.notice is not None and runs.notice.isVisible(), timeout=60_000)
    assert f"already imported as #{saved.id} digits CNN" in runs.notice.text()
    assert [r.id for r in runs.runs()] == [saved.id]
    runs.notice.close()
    changed = dataset.targets.copy()
    changed[:18] = (changed[:18] + 1) % 10
    evaluated_elsewhere(dataset, changed, tmp_path / "eval")
    seen: list = []
    answer_when_asked(qtbot, "Keep Both", seen)
    with qtbot.waitSignal(runs.imported, timeout=60_000) as imported:
        runs.import_folder(tmp_path / "eval")
    assert f"was saved by evaluate before as #{saved.id} digits CNN" in seen[1]
    assert imported.args[0].id != saved.id and imported.args[0].metrics["accuracy"] == 0.95
    assert [r.name for r in runs.runs()] == ["digits CNN", "test model (imported 2)"]
