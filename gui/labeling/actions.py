"""The labeling keys as QActions: one place that says which key does what (the menus show them).

Keys that act on samples live on the browser (``WidgetWithChildrenShortcut``): they work while
the grid, the sample view or the review bar has the focus, never while a text field takes the
typing, and never in the mask editor's own window. Undo and redo are window-wide (Edit menu).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

#: The dynamic property naming an action's group in Help > Keyboard Shortcuts (default: its owner's).
HELP_GROUP = "help_group"
#: Number keys for the first ten classes (or tags): 1 ... 9, then 0.
NUMBER_KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0")


def key_class(names: list[str], k: int) -> int | None:
    """The class of the k-th number key (1 ... 9, 0): the k-th class, or, when the classes are the
    digits themselves (MNIST, SVHN), the class named like the key ("7" labels as "7")."""
    digit = NUMBER_KEYS[k]
    if all(str(d) in names for d in range(10)):
        return names.index(digit)
    return k if k < len(names) else None


def key_action(owner: QWidget, text: str, keys: list[str], tip: str, slot: Callable[[], object]) -> QAction:
    """An action triggered by ``keys`` while the focus is inside ``owner``; its tooltip names the keys."""
    action = QAction(text, owner)
    action.setShortcuts([QKeySequence(k) for k in keys])
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    action.setToolTip(f"{tip} ({' or '.join(_key_name(k) for k in keys)})" if keys else tip)
    action.triggered.connect(lambda _=False: slot())
    owner.addAction(action)
    return action


def window_action(owner: QObject, text: str, keys: list, tip: str, slot: Callable[[], object]) -> QAction:
    action = QAction(text, owner)
    action.setShortcuts([QKeySequence(k) for k in keys])
    names = [QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in keys]
    action.setToolTip(f"{tip} ({' or '.join(names)})" if keys else tip)
    action.triggered.connect(lambda _=False: slot())
    return action


def _key_name(key: str) -> str:
    return {"Right": "→", "Left": "←", "Return": "Enter", "Escape": "Esc"}.get(key, key)


class LabelingActions(QObject):
    """Every labeling action; ``tools`` answers the slots (see :class:`gui.labeling.tools.LabelingTools`)."""

    def __init__(self, browser: QWidget, window: QWidget, tools) -> None:
        super().__init__(window)
        c, review = tools.controller, tools.review
        self.numbers = [
            key_action(browser, f"Class {k + 1}", [key, f"Shift+{key}"], "Label the selected samples", _number(c, k))
            for k, key in enumerate(NUMBER_KEYS)
        ]
        self.pick = key_action(
            browser, "Label as… (Search)", ["L", "/"], "Search the classes by name, Enter labels", tools.open_picker
        )
        self.unlabeled = key_action(browser, "Unlabeled", ["U"], "Remove the label", lambda: c.assign(-1))
        self.ignore = key_action(
            browser, "Ignore", ["I"], "Leave the samples out of metrics and exports", lambda: c.assign(-2)
        )
        self.take = key_action(browser, "Take the Model's Prediction", ["P"], "Use the predicted label", tools.take)
        self.reviewed = key_action(browser, "Mark Reviewed", ["R"], "Mark reviewed", lambda: c.mark("reviewed"))
        self.flag = key_action(browser, "Flag", ["F"], "Flag for a second look", lambda: c.mark("flagged"))
        self.exclude = key_action(
            browser, "Exclude", ["X"], "Leave out of metrics and exports", lambda: c.mark("excluded")
        )
        self.clear_mark = key_action(browser, "Clear Mark", [], "Remove the review mark", lambda: c.mark(None))
        self.note = key_action(browser, "Note…", ["N"], "Type a note on the sample", tools.edit_note)
        self.edit_boxes = key_action(
            browser,
            "Edit &Boxes of This Sample…",
            ["B"],
            "Draw, move, resize and relabel the objects",
            tools.edit_boxes,
        )
        self.edit_boxes.setEnabled(False)
        self._review_actions(browser, window, review)
        self.undo = window_action(window, "Undo", [QKeySequence.StandardKey.Undo], "Undo the last edit", c.undo)
        self.redo = window_action(window, "Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo the undone edit", c.redo)
        self.advance = QAction("Go to the Next Sample after Labeling", window, checkable=True)
        self.advance.setChecked(c.advance)
        self.advance.toggled.connect(c.set_advance)

    def _review_actions(self, browser: QWidget, window: QWidget, review) -> None:
        self.review = window_action(
            window, "Review in the Grid's Order", ["Ctrl+R"], "Go through the shown samples one key each", review.start
        )
        self.accept = key_action(browser, "✓ Accept", ["A", "Return", "Enter"], "The label is right", review.accept)
        self.take_review = self.take  # P: in review mode it also marks reviewed and moves on
        self.skip = key_action(browser, "Skip", ["S", "Right"], "Decide later", review.skip)
        self.back = key_action(browser, "Back", ["Left", "Backspace"], "The previous sample", review.back)
        self.leave = key_action(browser, "Leave Review", ["Escape"], "Back to browsing", review.leave)
        # What the review bar's buttons say (the menus show the full texts).
        for action, text in (
            (self.accept, "✓ Accept  A"),
            (self.take, "Take Prediction  P"),
            (self.skip, "Skip  S"),
            (self.back, "Back  ←"),
            (self.leave, "Leave  Esc"),
        ):
            action.setIconText(text)
        for action in (self.accept, self.skip, self.back, self.leave, self.review):
            action.setProperty(HELP_GROUP, "Review")  # Help > Keyboard Shortcuts lists them apart
        self.set_reviewing(False)

    def set_reviewing(self, on: bool) -> None:
        """The review keys work only in review mode (→ and ← move through the grid otherwise)."""
        for action in (self.accept, self.skip, self.back, self.leave):
            action.setEnabled(on)

    def set_classes(self, names: list[str], multilabel: bool) -> None:
        """Name the number keys after the dataset's first ten classes (tags)."""
        for k, action in enumerate(self.numbers):
            c = key_class(names, k)
            verb = "Switch Tag" if multilabel else "Label as"
            action.setText(f"{verb} {names[c].replace('&', '&&')}" if c is not None else f"Class {k + 1}")
            action.setEnabled(c is not None)


def _number(controller, k: int) -> Callable[[], object]:
    return lambda: controller.number_key(k)
