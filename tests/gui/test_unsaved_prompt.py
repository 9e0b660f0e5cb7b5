"""gui/labeling/unsaved.py: the one Save / Discard / Cancel prompt of the mask and box editors."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from gui.labeling.box_editor import BoxEditorWidget
from gui.labeling.mask_editor import MaskEditorWidget
from gui.labeling.unsaved import ConfirmsUnsaved, UnsavedPrompt

Buttons = QMessageBox.StandardButton


class Editor(ConfirmsUnsaved, QWidget):
    """An editor whose work is a list of what happened to it."""

    def __init__(self, save_works: bool = True) -> None:
        super().__init__()
        self.unsaved, self.save_works, self.done = True, save_works, []

    def _unsaved_prompt(self):
        return UnsavedPrompt("unsaved_test", "Unsaved test", "The test has work.", "Save it?") if self.unsaved else None

    def _save_unsaved(self) -> bool:
        self.done.append("save")
        self.unsaved = not self.save_works
        return self.save_works

    def _discard_unsaved(self) -> None:
        self.done.append("discard")
        self.unsaved = False


def answer(button, seen: list) -> None:
    def press() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox), box
        save_first = box.defaultButton() == box.button(Buttons.Save)
        seen.append((box.objectName(), box.windowTitle(), box.text(), box.informativeText(), save_first))
        box.button(button).click()

    QTimer.singleShot(0, press)


def test_cancel_keeps_the_work_discard_lets_it_go_and_nothing_unsaved_asks_nothing(qtbot):
    editor = Editor()
    qtbot.addWidget(editor)
    seen: list = []
    answer(Buttons.Cancel, seen)
    assert not editor.confirm_unsaved() and editor.done == []
    assert seen[0] == ("unsaved_test", "Unsaved test", "The test has work.", "Save it?", True)  # Save: default
    answer(Buttons.Discard, seen)
    assert editor.confirm_unsaved() and editor.done == ["discard"]
    assert editor.confirm_unsaved() and len(seen) == 2  # nothing unsaved: no prompt


def test_a_save_that_fails_keeps_the_editor_open(qtbot):
    editor = Editor(save_works=False)
    qtbot.addWidget(editor)
    editor.show()
    seen: list = []
    answer(Buttons.Save, seen)
    editor.close()
    assert editor.isVisible() and editor.done == ["save"]  # the close was refused: the work stays
    editor.save_works = True
    answer(Buttons.Save, seen)
    editor.close()
    assert not editor.isVisible() and editor.done == ["save", "save"]


def test_both_editors_ask_through_it():
    assert issubclass(MaskEditorWidget, ConfirmsUnsaved) and issubclass(BoxEditorWidget, ConfirmsUnsaved)
    assert "confirm_unsaved" not in vars(MaskEditorWidget) and "confirm_unsaved" not in vars(BoxEditorWidget)
