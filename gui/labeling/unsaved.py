"""The Save / Discard / Cancel prompt before an editor's unsaved work goes (another sample opens, the editor closes).

:class:`ConfirmsUnsaved` is a mixin of the mask editor (through ``MaskSaving``) and the box editor: each says what
is unsaved (:meth:`~ConfirmsUnsaved._unsaved_prompt`), how to save it and how to let it go; the prompt, its
answers and the close event are here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QMessageBox


@dataclass(frozen=True)
class UnsavedPrompt:
    """The prompt's words: its object name (for tests and accessibility), title, text and question."""

    name: str
    title: str
    text: str
    question: str


def ask_save_discard(parent, prompt: UnsavedPrompt):
    """Ask Save (the default), Discard or Cancel; the button the user chose (Cancel when the box is closed)."""
    buttons = QMessageBox.StandardButton
    box = QMessageBox(QMessageBox.Icon.Warning, prompt.title, "", buttons.NoButton, parent)
    box.setObjectName(prompt.name)
    box.setText(prompt.text)
    box.setInformativeText(prompt.question)
    box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
    box.setDefaultButton(buttons.Save)
    return box.exec()


class ConfirmsUnsaved:
    """Asks before unsaved work is lost; the editor widget gives the three steps below."""

    def _unsaved_prompt(self) -> UnsavedPrompt | None:
        """The prompt's words when something is unsaved, None when nothing is."""
        raise NotImplementedError

    def _save_unsaved(self) -> bool:
        """Save the work; False when that failed (the work stays)."""
        raise NotImplementedError

    def _discard_unsaved(self) -> None:
        """Let the work go: the editor no longer counts it as unsaved."""
        raise NotImplementedError

    def confirm_unsaved(self) -> bool:
        """True when going on loses nothing: nothing unsaved, or the user chose Save (and it worked) or Discard.
        False for Cancel, or when the save failed (the work stays)."""
        prompt = self._unsaved_prompt()
        if prompt is None:
            return True
        answer = ask_save_discard(self, prompt)
        if answer == QMessageBox.StandardButton.Save:
            return self._save_unsaved()
        if answer == QMessageBox.StandardButton.Discard:
            self._discard_unsaved()
            return True
        return False

    def closeEvent(self, event) -> None:
        if self.confirm_unsaved():
            event.accept()
        else:
            event.ignore()
