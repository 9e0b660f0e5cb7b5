"""A box for a value in [0, 1] that takes what is typed exactly, on Enter, and refuses the rest visibly.

Qt's spin box, left as it is, made the decision threshold follow the keyboard: with keyboard tracking
every keystroke of "0.99" is a value ("0", "0.", "0.9"), each one became the threshold, and the view,
answering that threshold, re-set the box's text while the user was still typing ("0" shown as "0.0000",
after which the rest of the keystrokes no longer fit). And text it cannot take (1.5, -0.2) it reverts
without a word. This box:

- reports a typed value only when the user commits it: Enter, or leaving the box (arrows, the wheel
  and ``setValue`` report at once, as before);
- does not let the program re-set its text while the user has uncommitted text in it: the value to
  show is kept and shown once the user is done (``show_value``);
- accepts any keystroke, so that nothing typed disappears, and on Enter refuses what is not a number in
  [0, 1]: ``refused(text, reason)`` is emitted, the value in force is kept, and the box keeps the typed
  text until it is corrected, Escape is pressed or the focus leaves (then the value in force is shown);
- shows values with as many decimals as they need (0.99, not 0.9900), up to ``DECIMALS``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QWidget

#: Decimals a threshold may have (float32 scores carry about 7 significant digits).
DECIMALS = 6


def parse_unit(text: str, decimals: int = DECIMALS) -> tuple[float | None, str]:
    """(value, "") for a number in [0, 1] with at most ``decimals`` decimals, else (None, why not).

    A decimal comma is read as a point, so that "0,75" typed on a German keyboard means 0.75.
    """
    cleaned = text.strip().replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None, "not a number"
    if value != value:  # NaN
        return None, "not a number"
    if not 0.0 <= value <= 1.0:
        return None, "outside [0, 1]"
    if round(value, decimals) != value:
        return None, f"more than {decimals} decimals"
    return value, ""


class UnitBox(QDoubleSpinBox):
    """A spin box over [0, 1] that commits typed text on Enter only and says why it refuses a value."""

    refused = Signal(str, str)  # the text typed, why it was refused

    def __init__(self, value: float = 0.5, step: float = 0.01, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(DECIMALS)
        self.setRange(0.0, 1.0)
        self.setSingleStep(step)
        self.setKeyboardTracking(False)  # a keystroke is not a value; Enter (or leaving) commits
        self.setCorrectionMode(QAbstractSpinBox.CorrectToPreviousValue)
        self.setValue(value)
        # Qt sizes the box for its shortest texts ("0.0", "1.0"): make room for all the decimals.
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("0." + "0" * DECIMALS) + 32)
        self._deferred: float | None = None  # a value shown by the program while the user typed
        self._refused_text: str | None = None
        self.valueChanged.connect(self._committed)

    # -- text <-> value --------------------------------------------------------------
    def textFromValue(self, value: float) -> str:  # Qt's name
        text = f"{value:.{self.decimals()}f}".rstrip("0")
        return text + "0" if text.endswith(".") else text

    def valueFromText(self, text: str) -> float:  # Qt's name
        value, _why = parse_unit(text, self.decimals())
        return self.value() if value is None else value

    def validate(self, text: str, pos: int):  # Qt's name
        # Every keystroke is let in (Intermediate): a refusal is said on Enter, never by a swallowed key.
        value, _why = parse_unit(text, self.decimals())
        return (QValidator.Acceptable if value is not None else QValidator.Intermediate), text, pos

    def fixup(self, text: str) -> str:  # Qt's name: no silent correction of what the user typed
        return text

    # -- the user's edit -------------------------------------------------------------
    def is_editing(self) -> bool:
        """The user has typed text that is not committed yet (the program must not overwrite it)."""
        return self.lineEdit().text() != self.textFromValue(self.value())

    def keyPressEvent(self, event) -> None:  # Qt's name
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and not self._acceptable():
            self._refuse()
            event.accept()
            return
        if event.key() == Qt.Key_Escape and self.is_editing():
            self._show_in_force()
            event.accept()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:  # Qt's name
        if self.is_editing() and not self._acceptable():
            self._refuse()
            self._show_in_force()
        super().focusOutEvent(event)  # commits acceptable text, like Enter
        self._show_deferred()

    def show_value(self, value: float, force: bool = False) -> None:
        """Show ``value`` without emitting; while the user types, once they are done (``force``: now)."""
        if self.is_editing() and not force:
            self._deferred = value
            return
        self._deferred = None
        if self.textFromValue(value) != self.lineEdit().text():
            self.blockSignals(True)
            self.setValue(value)
            self.blockSignals(False)

    def _acceptable(self) -> bool:
        return parse_unit(self.lineEdit().text(), self.decimals())[0] is not None

    def _refuse(self) -> None:
        text = self.lineEdit().text()
        if text != self._refused_text:
            self._refused_text = text
            self.refused.emit(text, parse_unit(text, self.decimals())[1])

    def _show_in_force(self) -> None:
        """Drop the uncommitted text: show the value in force (or the one the program set meanwhile)."""
        self.lineEdit().setText(self.textFromValue(self.value()))
        self._show_deferred()

    def _show_deferred(self) -> None:
        if self._deferred is not None and not self.is_editing():
            self.show_value(self._deferred)

    def _committed(self, _value: float) -> None:
        self._deferred = None  # the user's own value wins over one set while they typed
        self._refused_text = None
