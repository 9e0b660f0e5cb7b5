"""Help > Keyboard Shortcuts (also "?" and F1): every key of the window, the browser, labeling, review,
the label issues, the mask editor and the box editor.

The list is read from what is registered: the window's QActions (menus, the browser's key actions, the
label issues' A / K / X) and the mask editor's QShortcuts, so it cannot drift from what the keys do.
Keys and mouse gestures handled in event handlers (grid navigation, the class search, zoom and pan) have
no QAction to read; they are the documented list ``HANDLED_KEYS`` below, next to the code that names where each lives.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout

from gui.labeling.actions import HELP_GROUP

HELP_KEYS = ("?", QKeySequence.StandardKey.HelpContents)


@dataclass(frozen=True)
class Shortcut:
    group: str  # "File", "Labeling", "Review", "Mask editor", ...
    keys: str  # as the platform writes them: "Ctrl+O", "1 or Shift+1"
    what: str
    handled_in: str = ""  # for the documented keys: the code that handles them (not shown)


#: Keys and gestures handled in keyPressEvent / eventFilter / mouse handlers (where: the code that does it).
HANDLED_KEYS = (
    Shortcut("Browser", "← → ↑ ↓", "Move through the grid", "QListView"),
    Shortcut("Browser", "Shift+arrows, Shift+click", "Extend the selection", "QListView"),
    Shortcut("Browser", "Ctrl+click", "Add a sample to the selection, or take it out", "QListView"),
    Shortcut("Browser", "Ctrl+A", "Select every shown sample", "QListView"),
    Shortcut("Browser", "Home / End, PgUp / PgDn", "First / last sample, a page up or down", "QListView"),
    Shortcut("Browser", "Right-click a tile", "Label, mark, note or show the tile's samples", "tile_menu"),
    Shortcut("Sample view", "Wheel, drag", "Zoom, pan the image", "image_canvas"),
    Shortcut("Sample view", "Double-click", "Fit the image to the view", "image_canvas"),
    Shortcut("Class search", "Type", "Filter the classes by name", "class_picker"),
    Shortcut("Class search", "↑ ↓ PgUp PgDn", "Move through the matching classes", "class_picker"),
    Shortcut("Class search", "Enter", "Label the selected samples with the class", "class_picker"),
    Shortcut("Class search", "Esc", "Close the search without labeling", "class_picker"),
    Shortcut("Metrics", "Click a cell or a row", "Show its samples in the browser", "confusion matrix, class table"),
    Shortcut("Metrics", "Right-click a cell", "Its samples, or its label issues", "matrix_view.cell_menu"),
    Shortcut("Metrics", "Double-click a threshold", "Edit a label's own threshold", "class_table"),
    Shortcut("Metrics", "Right-click a class row", "Its hardest examples", "class_table"),
    Shortcut("Mask editor", "Left button", "Paint, fill, add a polygon corner or pick a class", "mask_editor"),
    Shortcut("Mask editor", "Double-click", "Close and fill the polygon", "mask_editor"),
    Shortcut("Mask editor", "Wheel, middle-button drag", "Zoom, pan", "mask_canvas"),
    Shortcut("Box editor", "Drag on the image", "Draw a box of the current class", "box_editor"),
    Shortcut("Box editor", "Drag inside a box, drag a handle", "Move it, resize it", "box_editor"),
    Shortcut("Box editor", "Click a dashed box", "Select a predicted box (A or Enter takes it)", "box_editor"),
    Shortcut("Box editor", "Wheel, middle-button drag", "Zoom, pan", "mask_canvas"),
)


def key_text(sequences) -> str:
    """The keys of an action or shortcut as the platform writes them, "A or Return"."""
    names = [s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences]
    return " or ".join(name for name in names if name)


def _plain(text: str) -> str:
    """A menu text without its mnemonic ampersands ("&Open…" -> "Open…"; "&&" stays one "&")."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def action_shortcuts(actions, group: str) -> list[Shortcut]:
    """One row per action that has keys; its own HELP_GROUP property wins over ``group``."""
    rows = []
    for action in actions:
        keys = key_text(action.shortcuts())
        if keys and not action.menu():
            what = _plain(action.text())
            rows.append(Shortcut(action.property(HELP_GROUP) or group, keys, what))
    return rows


def menu_shortcuts(menu_bar) -> list[Shortcut]:
    """The keys of the menus' actions, grouped by menu (sub-menus included)."""
    rows: list[Shortcut] = []

    def walk(menu, group: str) -> None:
        rows.extend(action_shortcuts(menu.actions(), group))
        for action in menu.actions():
            if action.menu():
                walk(action.menu(), group)

    for top in menu_bar.actions():
        if top.menu():
            walk(top.menu(), _plain(top.text()))
    return rows


def qshortcut_rows(widget, group: str) -> list[Shortcut]:
    """The QShortcuts of ``widget`` (their whatsThis says what they do)."""
    return [
        Shortcut(group, key_text([s.key()]), s.whatsThis() or "(undocumented)") for s in widget.findChildren(QShortcut)
    ]


def registered_shortcuts(window) -> list[Shortcut]:
    """Every key the window registers: menus, the browser's key actions, the label issues' keys, the mask
    editor's shortcuts."""
    from gui.labeling import MaskEditorWidget

    rows = menu_shortcuts(window.menuBar())
    in_menus = {row.what for row in rows}
    browser_rows = action_shortcuts(window.browser.actions(), "Labeling")
    rows += [row for row in browser_rows if row.what not in in_menus or row.group == "Review"]
    rows += action_shortcuts(window.metrics.label_issues.actions(), "Label issues")
    editor = window.mask_editor or MaskEditorWidget()  # its keys exist before it is first opened
    rows += qshortcut_rows(editor, "Mask editor")
    if window.mask_editor is None:
        editor.deleteLater()
    from gui.labeling.box_editor import BoxEditorWidget

    boxes = window.labeling.box_editor or BoxEditorWidget()
    rows += qshortcut_rows(boxes, "Box editor")
    if window.labeling.box_editor is None:
        boxes.deleteLater()
    return _unique(rows)


def _unique(rows: list[Shortcut]) -> list[Shortcut]:
    seen, out = set(), []
    for row in rows:
        if (row.group, row.keys, row.what) not in seen:
            seen.add((row.group, row.keys, row.what))
            out.append(row)
    return out


#: The order of the groups in the dialog; others follow in the order they come.
GROUP_ORDER = (
    "File",
    "Edit",
    "Browser",
    "Labels",
    "Review",
    "Class search",
    "Sample view",
    "Mask editor",
    "Box editor",
    "Metrics",
    "Label issues",
)


def by_group(rows: list[Shortcut]) -> list[Shortcut]:
    """The rows grouped (GROUP_ORDER first), each group in registration order."""
    rank = {group: i for i, group in enumerate(GROUP_ORDER)}
    return sorted(rows, key=lambda row: rank.get(row.group, len(rank)))


class ShortcutsDialog(QDialog):
    """A table of group, keys, what they do: the registered keys, then the documented ones."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.rows = by_group(registered_shortcuts(window) + list(HANDLED_KEYS))
        self.table = QTableWidget(len(self.rows), 3)
        self.table.setHorizontalHeaderLabels(["Where", "Keys", "What it does"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, row in enumerate(self.rows):
            for c, text in enumerate((row.group, row.keys, row.what)):
                item = QTableWidgetItem(text)
                item.setToolTip(html.escape(text))
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(720, 640)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def listed(self) -> set[tuple[str, str]]:
        """(keys, what) of every row shown."""
        return {(row.keys, row.what) for row in self.rows}
