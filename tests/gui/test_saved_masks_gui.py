"""Mask edits are never lost or silently replaced: the Save / Discard / Cancel prompts, the editor starting
from the newest saved mask, undo of a save, the per-project switch, and the scores after a save."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from core.datasets import open_dataset
from core.labels import open_project
from core.masks.opening import attach_project
from core.masks.writers import WithSavedMasks
from core.metrics import segmentation_report
from gui.browser import BrowserPane
from gui.labeling import MaskEditorWidget
from gui.labeling.saved_masks import SavedMasks
from gui.main_window import MainWindow
from gui.metrics.segmentation_view import SegmentationMetrics
from gui.state import AppState
from tests.core.test_saved_masks import fake_run
from tests.fake_datasets import write_voc
from tests.gui.test_mask_editor_widget import stroke

Buttons = QMessageBox.StandardButton


@pytest.fixture
def voc(tmp_path):
    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="train")
    yield dataset
    open_project(dataset).store.close()


@pytest.fixture
def editor(qtbot):
    widget = MaskEditorWidget()
    qtbot.addWidget(widget)
    widget.resize(700, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def answer(button, seen: list[str]) -> None:
    """Click ``button`` of the next message box, noting its text."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox), box
        seen.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, click)


def paint(widget, value: int = 5, row: int = 4) -> None:
    widget.class_combo.setCurrentIndex(value)
    widget.size_slider.setValue(1)
    stroke(widget, [(1, row), (10, row)])
    assert widget.editor.modified


def test_closing_the_editor_with_unsaved_strokes_asks_save_discard_or_cancel(qtbot, editor, voc):
    project = open_project(voc)
    assert editor.open_sample(voc, 0, project=project)
    paint(editor)
    seen: list[str] = []
    answer(Buttons.Cancel, seen)
    editor.close()
    assert editor.isVisible() and editor.editor.modified  # Cancel: nothing lost, still open
    assert "not saved" in seen[0] and voc.sample_ids[0] in seen[0]
    painted = editor.editor.mask.copy()
    answer(Buttons.Save, seen)
    editor.close()
    assert not editor.isVisible() and np.array_equal(project.load_saved_mask(0), painted)
    editor.show()
    assert editor.open_sample(voc, 0, project=project)
    paint(editor, value=9)
    answer(Buttons.Discard, seen)
    editor.close()
    assert not editor.isVisible() and len(project.mask_versions(0)) == 1


def test_moving_to_another_sample_with_unsaved_strokes_asks(qtbot, editor, voc):
    project = open_project(voc)
    assert editor.open_sample(voc, 0, project=project)
    paint(editor)
    seen: list[str] = []
    answer(Buttons.Cancel, seen)
    assert not editor.open_sample(voc, 1, project=project)
    assert editor.index == 0 and editor.editor.modified
    answer(Buttons.Save, seen)
    assert editor.open_sample(voc, 1, project=project)
    assert editor.index == 1 and len(project.mask_versions(0)) == 1 and len(seen) == 2


def test_quitting_the_app_with_unsaved_strokes_asks(qtbot, voc):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    project = open_project(voc)
    window.state.set_dataset(voc, project)
    window.state.select_sample(2)
    window.edit_mask()
    editor = window.mask_editor
    qtbot.addWidget(editor)
    paint(editor)
    seen: list[str] = []
    answer(Buttons.Cancel, seen)
    assert not window.close()
    assert window.isVisible() and editor.editor.modified and seen
    painted = editor.editor.mask.copy()
    answer(Buttons.Save, seen)
    assert window.close()  # the window closes the store on its way out
    assert not editor.isVisible()
    assert np.array_equal(open_project(voc).load_saved_mask(2), painted)


def test_the_editor_starts_from_the_newest_saved_mask_with_the_switch_off(qtbot, editor, voc):
    project = open_project(voc)
    first = voc.load_mask(1).copy()
    first[0:2] = 3
    project.save_mask(1, first)
    state = AppState()
    state.set_dataset(voc, project)  # "Use saved masks as labels" off: the dataset reads its own masks
    assert editor.open_sample(state.dataset, 1, project=project)
    assert np.array_equal(editor.editor.mask, first)
    assert "your mask saved" in editor.origin.text() and "(of 1 saved)" in editor.origin.text()
    paint(editor, value=7, row=6)
    second = editor.editor.mask.copy()
    editor.save()
    versions = project.mask_versions(1)
    assert len(versions) == 2  # the earlier save is kept, not replaced
    assert np.array_equal(project.load_saved_mask(1), second)
    assert "(of 2 saved)" in editor.origin.text()


def test_ctrl_z_after_a_save_and_a_restart_brings_back_the_previous_save(qtbot, editor, voc):
    project = open_project(voc)
    first = voc.load_mask(0).copy()
    first[5:7] = 4
    project.save_mask(0, first)
    assert editor.open_sample(voc, 0, project=project)
    paint(editor)
    editor.save()
    project.store.close()  # a restart
    project = open_project(voc)
    assert editor.open_sample(voc, 0, project=project)
    assert not editor.editor.can_undo
    qtbot.keyClick(editor.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert np.array_equal(editor.editor.mask, first) and np.array_equal(project.load_saved_mask(0), first)
    assert len(project.mask_versions(0)) == 2  # undone, still in the history
    qtbot.keyClick(editor.canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert not np.array_equal(editor.editor.mask, first) and not editor.editor.modified


def scored_panes(qtbot, voc, tmp_path):
    """A state with the dataset, a run over it, the browser and the segmentation metrics, and the switch."""
    state = AppState()
    browser = BrowserPane(state)
    qtbot.addWidget(browser)
    metrics = SegmentationMetrics(state)
    qtbot.addWidget(metrics)
    saved = SavedMasks(state)
    project = open_project(voc)
    state.set_dataset(voc, project)
    state.set_predictions(fake_run(voc, tmp_path / "run"))
    return state, browser, metrics, saved, project


def test_a_save_rescores_the_sample_and_the_totals_at_once(qtbot, editor, voc, tmp_path):
    state, browser, metrics, saved, project = scored_panes(qtbot, voc, tmp_path)
    saved.set_use(True)
    run = state.predictions
    assert isinstance(state.dataset, WithSavedMasks) and run is not None  # switching kept the run
    state.select_sample(1)
    qtbot.waitUntil(lambda: metrics.summary_text != "")
    before = browser.sample_view.scores.summary.text()
    assert "mean IoU 1.000" not in before
    assert editor.open_sample(state.dataset, 1, project=project, prediction=run.mask(1))
    editor.start_from_prediction()  # the user accepts the model's mask for this image
    with qtbot.waitSignal(saved.rescored):
        editor.save()
    assert "mean IoU 1.000" in browser.sample_view.scores.summary.text()
    # the metrics view follows on its next refresh (100 ms): its per-image scores and the totals
    qtbot.waitUntil(lambda: metrics.images.values()[1] == pytest.approx(1.0))
    truth = [WithSavedMasks(voc, tmp_path, project).load_mask(i) for i in range(3)]
    expected = sum(
        np.bincount(t[t != 255].astype(np.int64) * 21 + run.mask(i)[t != 255], minlength=441)
        for i, t in enumerate(truth)
    )
    totals = segmentation_report(expected.reshape(21, 21))
    assert np.array_equal(run.confusion().reshape(-1), expected)
    qtbot.waitUntil(lambda: metrics.pixels.report["mean_iou"] == pytest.approx(totals["mean_iou"]))
    qtbot.waitUntil(lambda: f"mean IoU {totals['mean_iou']:.3f}" in metrics.summary_text)
    with qtbot.waitSignal(saved.rescored):
        project.undo()  # Ctrl+Z of the save: the scores go back
    assert browser.sample_view.scores.summary.text() == before
    qtbot.waitUntil(lambda: metrics.images.values()[1] < 1.0)
    qtbot.waitUntil(lambda: not metrics.images.loss_job.busy, timeout=60_000)  # torch loads for the losses
    browser.shutdown()


def test_the_switch_is_remembered_per_project_and_never_drops_the_run(qtbot, voc, tmp_path):
    state, browser, _, saved, project = scored_panes(qtbot, voc, tmp_path)
    project.save_mask(0, state.predictions.mask(0))
    run = state.predictions
    rows = np.ones((len(voc), 8), np.float16)  # the run's embeddings stay with it too
    state.set_predictions(run, rows)
    state.select_sample(0)
    with qtbot.waitSignal(saved.rescored):
        saved.set_use(True)
    assert state.predictions is run and state.current == 0 and state.embeddings is rows
    assert run.per_image_scores()["mean_iou"][0] == pytest.approx(1.0)
    with qtbot.waitSignal(saved.rescored):
        saved.set_use(False)
    assert state.predictions is run and run.per_image_scores()["mean_iou"][0] < 1.0
    assert state.embeddings is rows
    saved.set_use(True)
    browser.shutdown()
    project.store.close()  # a restart: the dataset opens with the switch as it was left
    opened = attach_project(open_dataset(voc.root, split="train"))
    assert isinstance(opened.dataset, WithSavedMasks)
    opened.project.store.set_view("use_saved_masks", False)
    opened.project.store.close()
    assert not isinstance(attach_project(open_dataset(voc.root, split="train")).dataset, WithSavedMasks)


def test_the_first_save_of_a_project_scores_against_it_unless_the_user_chose(qtbot, editor, voc, tmp_path):
    state, browser, _, saved, project = scored_panes(qtbot, voc, tmp_path)
    run = state.predictions
    assert not saved.active  # a new project reads the dataset's own masks
    assert editor.open_sample(state.dataset, 1, project=project, prediction=run.mask(1))
    editor.start_from_prediction()
    with qtbot.waitSignal(saved.rescored, timeout=10_000):
        editor.save()  # the user's first fix becomes the truth, as an edited label does
    assert saved.active and state.predictions is run
    assert run.per_image_scores()["mean_iou"][1] == pytest.approx(1.0)
    saved.set_use(False)  # chosen: a later save leaves the switch alone and says so
    messages: list[str] = []
    state.message.connect(messages.append)
    paint(editor, value=3, row=2)
    editor.save()
    qtbot.wait(50)
    assert not saved.active and any("the dataset's own masks" in m for m in messages)
    browser.shutdown()


def test_a_tile_shows_the_mask_again_after_a_save_is_undone(qtbot, voc, tmp_path):
    _, browser, _, saved, project = scored_panes(qtbot, voc, tmp_path)
    saved.truth_changed.connect(browser.masks_changed)  # as the main window wires them
    saved.set_use(True)
    loader = browser.loader
    qtbot.waitUntil(lambda: browser.mask_classes.complete, timeout=10_000)  # the open-time scan is done
    loader.thumbnail(0)
    qtbot.waitUntil(lambda: loader.is_cached(0))
    changed = voc.load_mask(0).copy()
    changed[:] = 7
    with qtbot.waitSignal(saved.truth_changed):
        project.save_mask(0, changed)
    seven = [int(c == 7) for c in range(len(voc.classes))]
    loader.thumbnail(0)  # the grid's next paint: decoded again from the saved mask
    qtbot.waitUntil(lambda: loader.is_cached(0) and browser.mask_classes.tags[0].tolist() == seven)
    with qtbot.waitSignal(saved.truth_changed):
        project.undo()
    original = set(np.unique(voc.load_mask(0)).tolist()) - {255}
    loader.thumbnail(0)
    qtbot.waitUntil(
        lambda: loader.is_cached(0) and set(np.flatnonzero(browser.mask_classes.tags[0]).tolist()) == original
    )
    browser.shutdown()


def test_saving_into_an_output_folder_asks_before_replacing_a_file_cv_lens_did_not_write(qtbot, editor, voc, tmp_path):
    from core.masks.writers import encode_mask, relative_mask_path

    project = open_project(voc)
    out = tmp_path / "out"
    target = out / relative_mask_path(voc, 0)
    target.parent.mkdir(parents=True)
    theirs = encode_mask(voc, np.full(voc[0].mask().shape, 9, np.uint8))  # a mask of the user's, in VOC's form
    target.write_bytes(theirs)
    assert editor.open_sample(voc, 0, project=project, out_root=out)
    paint(editor)
    questions: list[str] = []
    assert editor.save(confirm_replace=lambda q: questions.append(q) or False) == project.store.folder / (
        project.saved_mask(0).file
    )  # kept in the store; the user's file left as it was
    assert target.read_bytes() == theirs and "did not write" in questions[0]
    assert "the file there was kept" in editor.status.text()
    paint(editor, value=7, row=6)
    assert editor.save(confirm_replace=lambda q: True) == target
    assert np.array_equal(WithSavedMasks(voc, out, project).load_mask(0), editor.editor.mask)


def test_without_a_store_the_editor_replaces_what_it_wrote_itself_without_asking(qtbot, editor, voc, tmp_path):
    out = tmp_path / "out"
    assert editor.open_sample(voc, 1, out_root=out)  # no project store: nothing to recognise versions by
    paint(editor)
    first = editor.save(confirm_replace=lambda q: pytest.fail(f"asked: {q}"))
    paint(editor, value=7, row=6)
    assert editor.save(confirm_replace=lambda q: pytest.fail(f"asked: {q}")) == first
    assert np.array_equal(WithSavedMasks(voc, out).load_mask(1), editor.editor.mask)
