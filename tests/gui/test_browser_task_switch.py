"""The dataset bar's task selector: files that hold several tasks reopen as another, as a split switch does."""

from __future__ import annotations

from tests.gui.test_browser_boxes import BoxDataset


def test_task_selector_shows_the_tasks_and_reopens_as_the_chosen_one(qtbot, open_window, tmp_path):
    window = open_window()
    bar = window.dataset_bar
    window.state.set_dataset(BoxDataset(tmp_path, "instance_segmentation"))
    assert bar.task_combo.isVisibleTo(window) and bar.task_combo.count() == 2
    assert bar.task_combo.currentData() == "instance_segmentation"
    position = bar.task_combo.findData("detection")
    bar.task_combo.setCurrentIndex(position)
    bar.task_combo.activated.emit(position)
    qtbot.waitUntil(lambda: window.state.dataset.task == "detection", timeout=30_000)
    assert window.state.project is not None  # reopened with its project store, as a split switch is
    assert bar.task_combo.currentData() == "detection"
    assert not window.browser.box_bar.masks.isVisibleTo(window)  # no instance masks to draw for detection


def test_task_selector_is_hidden_for_files_of_one_task(qtbot, open_window, digits):
    window = open_window(digits)
    assert not window.dataset_bar.task_combo.isVisibleTo(window)
    assert not window.browser.box_bar.isVisibleTo(window)
