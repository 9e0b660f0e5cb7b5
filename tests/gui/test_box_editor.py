"""The box editor as a user drives it: mouse drags draw, move and resize boxes; keys delete, relabel and accept a
predicted box; Save writes one store edit; Ctrl+Z undoes in the editor, then the save; unsaved changes ask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox

from core.inference.detections import DetectionPredictions
from core.labels import open_project
from gui.labeling.box_editor import BoxEditorWidget
from tests.box_fakes import CLASSES, BrokenB, TinyBoxes, write_tiny_boxes


@pytest.fixture
def project(tmp_path):
    project = open_project(TinyBoxes(write_tiny_boxes(tmp_path / "data")))
    yield project
    project.store.close()


@pytest.fixture
def editor(qtbot, project):
    widget = BoxEditorWidget()
    qtbot.addWidget(widget, before_close_func=lambda w: w.edit is not None and w.edit.mark_saved())
    widget.resize(800, 650)
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.open_sample(project, 0)
    return widget


def mouse(widget, kind: QEvent.Type, x: float, y: float, held: bool = True) -> None:
    """A real mouse event at image pixel (x, y) on the editor's canvas."""
    canvas = widget.canvas
    at = QPointF(canvas.mapFromScene(QPointF(x, y)))
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    buttons = Qt.MouseButton.LeftButton if held else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, at, canvas.viewport().mapToGlobal(at), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas.viewport(), event)


def drag(widget, start, end, steps: int = 4) -> None:
    mouse(widget, QEvent.Type.MouseButtonPress, *start)
    for k in range(1, steps + 1):
        x = start[0] + (end[0] - start[0]) * k / steps
        y = start[1] + (end[1] - start[1]) * k / steps
        mouse(widget, QEvent.Type.MouseMove, x, y)
    mouse(widget, QEvent.Type.MouseButtonRelease, *end, held=False)


def click(widget, x, y) -> None:
    drag(widget, (x, y), (x, y), steps=0)


def boxes(widget) -> list[list[float]]:
    return [list(item.box) for item in widget.edit.items]


def test_draw_move_resize_and_undo_with_the_mouse(qtbot, editor) -> None:
    assert boxes(editor) == [[2, 3, 20, 18], [10, 10, 30, 28]]
    editor.class_combo.setCurrentIndex(2)
    drag(editor, (32, 2), (38, 9))  # empty image: a new box of the current class
    assert len(editor.edit.items) == 3 and editor.edit.items[2].cls == 2
    assert np.allclose(boxes(editor)[2], [32, 2, 38, 9], atol=0.2) and editor.selected == 2
    drag(editor, (5, 5), (8, 6))  # inside the first box (outside the second): moves it
    assert np.allclose(boxes(editor)[0], [5, 4, 23, 19], atol=0.2)
    assert editor.edit.items[0].instance == -1  # a moved box no longer carries its own mask
    drag(editor, (23, 19), (26, 25))  # its south-east handle: resizes it
    assert np.allclose(boxes(editor)[0], [5, 4, 26, 25], atol=0.2)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.allclose(boxes(editor)[0], [5, 4, 23, 19], atol=0.2)  # one drag, one undo step
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert boxes(editor) == [[2, 3, 20, 18], [10, 10, 30, 28]] and not editor.edit.modified
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(editor.edit.items) == 3


def test_a_click_is_not_a_box_and_a_small_box_inside_a_big_one_can_be_taken(editor) -> None:
    click(editor, 35, 25)
    assert len(editor.edit.items) == 2 and editor.selected is None
    click(editor, 25, 25)  # only inside the second box
    assert editor.selected == 1
    click(editor, 15, 14)  # inside both: the smaller one (the first, 18 x 15, against 20 x 18)
    assert editor.selected == 0


def test_delete_and_class_keys(qtbot, editor) -> None:
    click(editor, 25, 25)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_3)  # the third class
    assert [item.cls for item in editor.edit.items] == [0, 2]
    assert editor.edit.items[1].instance == 1  # a class change keeps the object's own mask
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Delete)
    assert [item.cls for item in editor.edit.items] == [0] and editor.selected is None
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Delete)  # nothing selected: nothing happens
    assert len(editor.edit.items) == 1


def test_save_writes_one_store_edit_and_ctrl_z_then_takes_the_save_back(qtbot, editor, project) -> None:
    click(editor, 25, 25)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_2)
    drag(editor, (32, 2), (38, 9))
    with qtbot.waitSignal(editor.saved):
        qtbot.keyClick(editor.canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not editor.edit.modified and project.store.undo_description == "boxes of a.png: 2 objects → 3 objects"
    saved_boxes, saved_classes = project.boxes(0)
    assert saved_classes.tolist() == [0, 1, 1] and np.allclose(saved_boxes[2], [32, 2, 38, 9], atol=0.2)
    assert project.objects(0).flag("difficult").tolist() == [False, True, False]  # flags kept
    assert "your saved objects" in editor.origin.text()
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # nothing left in the editor
    assert project.boxes(0)[1].tolist() == [0, 1] and len(editor.edit.items) == 2
    assert "the dataset's own objects" in editor.origin.text()


def test_accept_a_predicted_box(qtbot, editor, project) -> None:
    preds = DetectionPredictions.empty("detection", CLASSES, project.dataset.sample_ids)
    preds.set_image(0, [[31, 20, 39, 30], [3, 4, 19, 17]], [0.9, 0.8], [2, 0], size=(32, 40))
    assert editor.open_sample(project, 0, preds)
    assert editor._predicted is not None and len(editor._predicted[0]) == 2
    click(editor, 35, 25)  # inside the predicted bird only
    assert editor.selected_prediction == 0 and editor.accept_button.isEnabled()
    qtbot.keyClick(editor.canvas, Qt.Key.Key_A)
    assert boxes(editor)[2] == [31, 20, 39, 30] and editor.edit.items[2].cls == 2
    editor.min_score.setValue(0.95)  # the prediction is now below the score shown
    click(editor, 35, 12)
    assert editor.selected_prediction is None
    assert editor.save() and project.boxes(0)[1].tolist() == [0, 1, 2]


def answer(button, seen: list[str]) -> None:
    def press() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox), box
        seen.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, press)


def test_unsaved_changes_ask_before_another_sample_opens(qtbot, editor, project) -> None:
    drag(editor, (32, 2), (38, 9))
    seen: list[str] = []
    answer(QMessageBox.StandardButton.Cancel, seen)
    assert not editor.open_sample(project, 1)
    assert editor.index == 0 and len(editor.edit.items) == 3 and "a.png" in seen[0]
    answer(QMessageBox.StandardButton.Discard, seen)
    assert editor.open_sample(project, 1) and editor.index == 1 and project.store.undo_description is None
    drag(editor, (32, 2), (38, 9))
    answer(QMessageBox.StandardButton.Save, seen)
    assert editor.open_sample(project, 2) and len(project.boxes(1)[0]) == 2


def test_b_and_the_sample_views_button_are_for_datasets_open_for_an_object_task(qtbot, digits, open_window) -> None:
    from tests.gui.test_labeling_support import press

    window = open_window(digits)
    tools = window.labeling
    assert not tools.actions.edit_boxes.isEnabled() and tools.boxes_button.isHidden()
    window.state.select_sample(0)
    press(qtbot, window, Qt.Key.Key_B)
    assert tools.box_editor is None  # a classification dataset has no boxes to edit
    menus = window.menuBar().findChildren(QMenu)
    assert any(tools.actions.edit_boxes in menu.actions() for menu in menus)  # Labels > Edit Boxes of This Sample…


def test_an_image_whose_objects_cannot_be_read_starts_from_none_and_can_be_saved(qtbot, tmp_path) -> None:
    project = open_project(BrokenB(write_tiny_boxes(tmp_path / "data")))
    widget = BoxEditorWidget()
    qtbot.addWidget(widget)
    widget.resize(800, 650)
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.open_sample(project, 1) and widget.edit.items == []
    assert "cannot be read" in widget.status.text() and "not well-formed" in widget.status.text()
    drag(widget, (2, 2), (12, 12))
    assert widget.save() and project.boxes(1)[1].tolist() == [0]
    project.store.close()


def test_the_export_dialog_offers_the_box_formats_and_writes_the_edited_objects(qtbot, project, tmp_path) -> None:
    from gui.labeling.export_dialog import ExportDialog
    from gui.state import AppState

    state = AppState()
    state.set_dataset(project.dataset, project)
    assert state.dataset.load_boxes(0)[1].tolist() == [0, 1]  # the panes' dataset reads the objects now
    project.set_boxes(0, [[1, 1, 9, 9]], ["bird"])
    assert state.dataset.load_boxes(0)[1].tolist() == [2]
    dialog = ExportDialog(state)
    qtbot.addWidget(dialog)
    assert [dialog.format.itemData(k) for k in range(dialog.format.count())] == ["coco", "yolo", "voc"]
    dialog.format.setCurrentIndex(1)
    assert dialog.link.isEnabled() and dialog.link.currentText() == "copy"
    dialog.folder.setText(str(tmp_path / "yolo"))
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=30_000)
    assert (tmp_path / "yolo" / "labels" / "train" / "a.txt").read_text().split()[0] == "2"
    text = dialog.summary.toPlainText()  # a.png's bird and d.png's dog; b.png's crowd region left out
    assert "objects written: 2 (images with edited objects: 1)" in text and "crowd regions left out: 1" in text


def test_b_opens_the_editor_on_the_detection_demo_showing_the_predictions_the_browser_shows(
    qtbot, open_window, tmp_path
) -> None:
    import shutil

    from tests.gui.test_labeling_support import press

    root = tmp_path / "scene_detection"
    shutil.copytree(Path(__file__).resolve().parents[2] / "resources/demo/scene_detection", root)
    window = open_window(root)
    window.state.set_score_threshold(0.72)
    window.state.select_sample(0)
    press(qtbot, window, Qt.Key.Key_B)
    editor = window.labeling.box_editor
    assert editor is not None and editor.index == 0
    assert editor.min_score.value() == 0.72  # the browser's score slider, not a threshold of its own
    editor.close()


def test_an_images_classes_follow_its_saved_boxes_and_take_no_tag_keys(qtbot, open_window, tmp_path) -> None:
    """The detection demo's tags are the classes of each image's objects: a number key on a tile edits nothing
    (it says to edit the boxes), and a box saved with a new class shows at once in the tile's classes and in the
    sample view (both had kept the objects read before, while the metrics counted the new one)."""
    import shutil

    from gui.browser.grid_model import TagsRole
    from tests.gui.test_labeling_support import press

    root = tmp_path / "scene_detection"
    shutil.copytree(Path(__file__).resolve().parents[2] / "resources/demo/scene_detection", root)
    window = open_window(root)
    state, browser = window.state, window.browser
    state.select_sample(0)
    browser.view.setCurrentIndex(browser.model.index(0, 0))
    before = state.dataset.tags[0].copy()
    messages = []
    state.message.connect(messages.append)
    press(qtbot, window, Qt.Key.Key_1)
    assert state.dataset.tags[0].tolist() == before.tolist() and state.project.store.undo_description is None
    assert messages and "edit its boxes (B)" in messages[-1]
    absent = int(np.flatnonzero(before == 0)[0])
    objects = state.project.objects(0)
    state.project.set_boxes(0, [*objects.boxes.tolist(), [1, 1, 20, 20]], [*objects.classes.tolist(), absent])
    qtbot.waitUntil(lambda: state.dataset.tags[0, absent] == 1, timeout=5000)
    # the sample view shown reads the image's objects again: it drew those read before the save
    count = f"Objects: {len(objects) + 1} ("
    qtbot.waitUntil(lambda: browser.sample_view.label.text().startswith(count), timeout=10_000)
    assert f"1× {state.dataset.classes[absent]}" in browser.sample_view.label.text()
    names = browser.model.data(browser.model.index(0, 0), TagsRole)
    assert state.dataset.classes[absent] in names
    state.project.undo()
    qtbot.waitUntil(lambda: state.dataset.tags[0].tolist() == before.tolist(), timeout=5000)
