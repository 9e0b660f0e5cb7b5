"""The whole chain as a user drives it: open the demo, run the bundled model, click the matrix."""

import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.metrics import cell_indices, confusion_matrix
from cvlens.cli import DEMO_DATASET


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A copy of the bundled digits: the project store and saved runs go beside the copy, not into resources/."""
    root = tmp_path_factory.mktemp("demo") / "digits"
    shutil.copytree(DEMO_DATASET, root)
    return root


@pytest.fixture
def window(open_window):
    """A shown, active 1400 x 900 main window with nothing open."""
    return open_window()


def open_and_run(qtbot, window, demo):
    window.open_dataset(str(demo))
    qtbot.waitUntil(lambda: window.state.dataset is not None, timeout=30_000)
    assert window.runner.current_card() is not None, "the bundled digits model must fit the demo"
    with qtbot.waitSignal(window.runner.run_finished, timeout=120_000):
        assert window.runner.start_run()
    return window.state.dataset, window.state.predictions


def click_cell(qtbot, window, t, p):
    matrix = window.metrics.matrix
    qtbot.mouseClick(matrix.viewport(), Qt.LeftButton, pos=matrix.cell_center(t, p))


def test_click_a_confusion_cell_shows_exactly_its_samples(qtbot, window, demo):
    dataset, preds = open_and_run(qtbot, window, demo)
    assert preds.complete and preds.num_done == len(dataset)
    y_true, y_pred = dataset.targets, preds.predicted
    cm = confusion_matrix(y_true, y_pred, dataset.num_classes)
    # the heatmap shows what core computes (it follows the run after a short coalescing delay)
    qtbot.waitUntil(lambda: window.metrics.counts is not None and np.array_equal(window.metrics.counts, cm))
    off = np.argwhere(~np.eye(len(cm), dtype=bool) & (cm > 0))
    cells = [tuple(off[0])] if len(off) else []
    cells.append((4, 4))
    for t, p in cells:
        click_cell(qtbot, window, int(t), int(p))
        expected = cell_indices(y_true, y_pred, true_class=int(t), pred_class=int(p))
        qtbot.waitUntil(lambda e=expected: np.array_equal(np.sort(window.browser.visible_indices()), e))
        assert len(expected) == cm[t, p]


def test_the_class_table_and_summary_follow_the_run(qtbot, window, demo):
    dataset, preds = open_and_run(qtbot, window, demo)
    table = window.metrics.table
    accuracy = (preds.predicted == dataset.targets).mean()
    qtbot.waitUntil(lambda: f"{accuracy:.2%}" in window.metrics.summary.text())
    assert table.rowCount() == dataset.num_classes
    # clicking a class row shows that class's samples
    table.cellClicked.emit(2, 0)
    row_class = table.item(2, 0).data(Qt.UserRole)
    expected = np.flatnonzero(dataset.targets == row_class)
    qtbot.waitUntil(lambda: np.array_equal(np.sort(window.browser.visible_indices()), expected))


def test_a_folder_that_is_no_dataset_shows_an_error_in_the_window(qtbot, window, tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here")
    window.open_dataset(str(tmp_path))
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=10_000)
    assert "Image folder" in window.banner.label.text()
    assert window.state.dataset is None


def test_split_selector_reopens_on_the_other_split(qtbot, window, demo):
    window.open_dataset(str(demo))
    qtbot.waitUntil(lambda: window.state.dataset is not None, timeout=30_000)
    assert window.state.dataset.split == "test"
    assert window.dataset_bar.split_combo.count() == 2
    window.dataset_bar.split_requested.emit("train")
    qtbot.waitUntil(lambda: window.state.dataset.split == "train", timeout=30_000)
    assert window.dataset_bar.split_combo.currentText() == "train"


def test_cancel_stops_the_run_and_run_resumes(qtbot, window, demo):
    window.open_dataset(str(demo), split="train")
    qtbot.waitUntil(lambda: window.state.dataset is not None, timeout=30_000)
    runner = window.runner
    runner.batch_spin.setValue(16)
    with qtbot.waitSignal(runner.run_cancelled, timeout=120_000):
        runner.start_run()
        qtbot.waitUntil(lambda: runner._job is not None and runner._job.predictions.num_done > 0, timeout=60_000)
        runner.cancel()
    done = window.state.predictions.num_done
    assert 0 < done < len(window.state.dataset)
    qtbot.waitUntil(lambda: not runner.is_running())
    with qtbot.waitSignal(runner.run_finished, timeout=120_000):
        runner.start_run()
    assert window.state.predictions.complete


def test_edit_the_mask_of_the_current_sample_and_use_saved_masks(qtbot, window, tmp_path):
    from tests.fake_datasets import write_voc

    root, _, _ = write_voc(tmp_path / "data")
    window.open_dataset(str(root), split="train")
    qtbot.waitUntil(lambda: window.state.dataset is not None, timeout=30_000)
    assert not window.edit_mask_action.isEnabled()  # no sample chosen yet
    window.state.select_sample(1)
    assert window.edit_mask_action.isEnabled()
    window.edit_mask_action.trigger()
    editor = window.mask_editor
    assert editor.isVisible() and editor.index == 1
    editor.out_root = tmp_path / "masks"
    editor.class_combo.setCurrentIndex(4)
    editor.editor.polygon([(0, 0), (11, 0), (11, 9), (0, 9)], 4)
    editor.save()
    editor.close()
    window.saved_masks_action.trigger()
    qtbot.waitUntil(lambda: window.saved_masks_action.isChecked())
    assert (window.state.dataset.load_mask(1) == 4).all()
    window.saved_masks_action.trigger()
    assert not (window.state.dataset.load_mask(1) == 4).all()
