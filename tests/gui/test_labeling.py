"""Labeling by keyboard and mouse in the main window; every edit persists in the project store."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from core.labels import IGNORE, ProjectStore
from gui.browser.grid_model import EditedRole, LabelRole, NoteRole, OriginalLabelRole, StatusRole
from tests.gui.test_labeling_support import press


def data(window, index: int, role: int):
    model = window.browser.model
    return model.data(model.index(model.row_of(index)), role)


def test_label_three_by_keys_undo_one_then_restart_finds_two(qtbot, digits, open_window):
    window = open_window(digits)
    state = window.state
    classes = state.dataset.classes
    original = state.dataset.targets.copy()
    assert classes == [str(d) for d in range(10)] and original[0] == 0
    state.select_sample(0)
    press(qtbot, window, Qt.Key.Key_7, Qt.Key.Key_7, Qt.Key.Key_8)  # "7" labels as class "7", then moves on
    assert state.current == 3
    assert [classes[t] for t in state.dataset.targets[:3]] == ["7", "7", "8"]
    assert data(window, 2, LabelRole) == "8" and data(window, 2, EditedRole)
    assert data(window, 2, OriginalLabelRole) == "0"
    sample = state.dataset.sample_ids[2]
    assert window.labeling.actions.undo.text() == f"&Undo label {sample} as 8"

    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert state.dataset.targets[2] == original[2] and not data(window, 2, EditedRole)
    assert window.labeling.actions.redo.text() == f"&Redo label {sample} as 8"
    window.close()

    again = open_window(digits)
    targets = again.state.dataset.targets
    assert [classes[t] for t in targets[:2]] == ["7", "7"] and targets[2] == original[2]
    assert again.state.original_targets()[0] == original[0]
    assert data(again, 1, EditedRole) and data(again, 0, OriginalLabelRole) == "0"
    assert again.labeling.actions.undo.text() == f"&Undo label {again.state.dataset.sample_ids[1]} as 7"
    assert again.labeling.actions.redo.isEnabled()  # the undo stack and the redo stack continue
    again.labeling.actions.redo.trigger()
    assert classes[again.state.dataset.targets[2]] == "8"


def test_a_multi_selection_is_labeled_in_one_undo_step(qtbot, digits, open_window):
    window = open_window(digits)
    view, model = window.browser.view, window.browser.model
    window.state.select_sample(4)
    view.selectionModel().select(model.index(6), view.selectionModel().SelectionFlag.Select)
    press(qtbot, window, Qt.Key.Key_3)
    targets = window.state.dataset.targets
    assert targets[4] == targets[6] == 3 and window.state.current == 4  # a selection does not advance
    assert window.labeling.actions.undo.text() == "&Undo label 2 samples as 3"
    window.labeling.actions.undo.trigger()
    assert targets[4] == targets[6] == 0
    view.selectAll()  # Ctrl+A, then one key labels every tile shown
    press(qtbot, window, Qt.Key.Key_9)
    assert (targets == 9).all() and window.labeling.actions.undo.text() == f"&Undo label {len(targets)} samples as 9"


def test_right_click_menu_ignores_a_sample_and_metrics_leave_it_out(qtbot, digits, open_window):
    window = open_window(digits)
    view = window.browser.view
    rect = view.visualRect(window.browser.model.index(5))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    view.customContextMenuRequested.emit(rect.center())  # what a right click sends
    menu = window.labeling.menu
    assert menu.isVisible()
    texts = [a.text() for a in menu.actions()]
    assert "Ignore (leave out of metrics)\tI" in texts and "Flag\tF" in texts
    next(a for a in menu.actions() if a.text().startswith("Ignore")).trigger()
    menu.close()
    assert window.state.dataset.targets[5] == IGNORE
    assert data(window, 5, LabelRole) == "⊘ ignore"
    assert window.state.metrics_dataset().targets[5] == -1  # scored as unlabeled
    assert window.state.metrics_dataset(original=True).targets[5] == 0


def test_marks_and_notes_show_on_tiles_and_filter_the_grid(qtbot, digits, open_window):
    window = open_window(digits)
    state, browser = window.state, window.browser
    state.select_sample(2)
    press(qtbot, window, Qt.Key.Key_F)  # flag
    state.select_sample(4)
    press(qtbot, window, Qt.Key.Key_X)  # exclude
    assert data(window, 2, StatusRole) == "flagged" and data(window, 4, StatusRole) == "excluded"
    panel = window.labeling.panel
    assert panel.buttons["excluded"].isChecked()
    panel.note.setPlainText("blurry, maybe a 6")
    state.select_sample(7)  # leaving the sample saves its note
    assert data(window, 4, NoteRole) == "blurry, maybe a 6"
    assert "note: blurry" in data(window, 4, Qt.ItemDataRole.ToolTipRole)
    browser.set_mark_filter("flagged")
    np.testing.assert_array_equal(browser.visible_indices(), [2])
    browser.set_mark_filter("note")
    np.testing.assert_array_equal(browser.visible_indices(), [4])
    browser.set_mark_filter("not reviewed")
    assert len(browser.visible_indices()) == len(state.dataset)
    state.select_sample(4)
    assert "note" in panel.history.text() and "blurry" in panel.history.text()
    assert state.metrics_dataset().targets[4] == -1  # excluded: out of the metrics


def test_type_ahead_finds_a_class_among_many(qtbot, make_image_folder, open_window):
    names = [f"class {k:03d}" for k in range(300)] + ["goldfinch", "goldfish", "great white shark", "tench"]
    root = make_image_folder("many", {name: 1 for name in names}, splits=("val",))
    window = open_window(root)
    state = window.state
    assert len(state.dataset.classes) == 304
    state.select_sample(0)
    press(qtbot, window, Qt.Key.Key_L)
    picker = window.labeling.picker
    qtbot.waitUntil(picker.isVisible)
    qtbot.keyClicks(picker.search, "gold")
    assert [picker.list.item(r).text() for r in range(2)] == ["goldfinch", "goldfish"]
    qtbot.keyClicks(picker.search, "fi")
    qtbot.keyClick(picker.search, Qt.Key.Key_Down)
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    assert state.dataset.classes[state.dataset.targets[0]] == "goldfish"
    assert not picker.isVisible()


def test_a_locked_store_opens_read_only_and_refuses_edits_with_a_message(qtbot, digits, open_window):
    from core.datasets import open_dataset

    dataset = open_dataset(digits)
    holder = ProjectStore.open(dataset.root, dataset.layout, shared=False)  # "another copy of the app"
    try:
        assert not holder.read_only
        window = open_window(digits)
        assert window.state.project.read_only
        assert window.banner.isVisible() and "another copy of CV Lens" in window.banner.label.text()
        assert "labels read-only" in window.status_label.text()
        window.state.select_sample(0)
        press(qtbot, window, Qt.Key.Key_5)
        assert window.state.dataset.targets[0] == 0
        assert "The labels were not changed" in window.banner.label.text()
    finally:
        holder.close()


def test_multilabel_tags_switch_by_key_and_by_click_in_the_sample_view(qtbot, celeba, open_window):
    root, _ = celeba
    window = open_window(root)
    state = window.state
    tags = state.dataset.tags
    before = tags[0].copy()
    state.select_sample(0)
    press(qtbot, window, Qt.Key.Key_1)  # the first tag, 5_o_Clock_Shadow
    assert tags[0, 0] == 1 - before[0] and state.current == 1
    state.select_sample(0)
    press(qtbot, window, Qt.Key.Key_2, modifier=Qt.KeyboardModifier.ShiftModifier)  # Shift+2: the second tag
    assert tags[0, 1] == 1 - before[1]
    panel = window.labeling.panel
    state.select_sample(0)
    smiling = state.dataset.classes.index("Smiling")
    item = panel.tags.item(smiling)
    assert item.text().endswith("Smiling")
    item.setCheckState(Qt.CheckState.Unchecked if before[smiling] else Qt.CheckState.Checked)  # a click
    assert tags[0, smiling] == 1 - before[smiling]
    change = "removed" if before[smiling] else "added"
    assert data(window, 0, EditedRole) and not panel.edited.isHidden()
    assert f"{change} Smiling" in panel.edited.text() or f"{change} 5_o_Clock_Shadow, Smiling" in panel.edited.text()
    assert "edited" in data(window, 0, Qt.ItemDataRole.ToolTipRole)
    assert window.labeling.actions.undo.text() == f"&Undo tag {state.dataset.sample_ids[0]} " + (
        "without Smiling" if before[smiling] else "with Smiling"
    )
    for _ in range(3):
        window.labeling.actions.undo.trigger()
    np.testing.assert_array_equal(tags[0], before)
    assert not data(window, 0, EditedRole)


def test_a_damaged_store_is_replaced_and_the_window_says_so(qtbot, digits, open_window):
    from core.datasets import open_dataset
    from core.labels import open_project

    project = open_project(open_dataset(digits))
    project.set_label(0, "3")
    path = project.store.path
    project.store.close()
    path.write_bytes(b"not a database at all" * 300)
    window = open_window(digits)
    assert window.banner.isVisible() and "was damaged" in window.banner.label.text()
    assert not window.state.project.read_only and window.state.dataset.targets[0] == 0
