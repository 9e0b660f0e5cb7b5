"""Filters on the tags of a multilabel dataset: "has Smiling", "lacks Eyeglasses", all at once (AND).

Each filter is a chip: click its text to switch between "has" and "lacks", click ✕ to drop it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

CHIP_STYLE = "QFrame#TagChip { background: rgba(90, 120, 200, 50); border-radius: 8px; }"


class TagChip(QFrame):
    toggled = Signal()
    removed = Signal()

    def __init__(self, tag: int, name: str, has: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TagChip")
        self.setStyleSheet(CHIP_STYLE)
        self.tag, self.name, self.has = tag, name, has
        self.button = QToolButton(self)
        self.button.setAutoRaise(True)
        self.button.setToolTip("Click to switch between 'has' and 'lacks'")
        self.button.clicked.connect(self.flip)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Remove this tag filter")
        close.clicked.connect(self.removed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.button)
        layout.addWidget(close)
        self._show()

    def flip(self) -> None:
        self.has = not self.has
        self._show()
        self.toggled.emit()

    def _show(self) -> None:
        self.button.setText(f"{'has' if self.has else 'lacks'} {self.name}")


class TagFilter(QWidget):
    """A row of tag chips and a picker that adds one; :attr:`has` and :attr:`lacks` are what to keep."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names: list[str] = []
        self.chips: list[TagChip] = []
        self.picker = QComboBox(self)
        self.picker.setToolTip("Keep only the samples that have (or, after a click on the chip, lack) a tag")
        self.picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.picker.activated.connect(self._on_pick)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(4, 0, 4, 2)
        self._layout.addWidget(QLabel("Tags:", self))
        self._layout.addWidget(self.picker)
        self._layout.addStretch(1)

    @property
    def has(self) -> list[int]:
        return [chip.tag for chip in self.chips if chip.has]

    @property
    def lacks(self) -> list[int]:
        return [chip.tag for chip in self.chips if not chip.has]

    def set_tags(self, names: list[str], counts=None) -> None:
        """A new dataset's tags (every filter dropped); ``counts`` label the picker's entries."""
        self.names = list(names)
        for chip in self.chips:
            chip.hide()
            chip.deleteLater()
        self.chips = []
        self.picker.clear()
        self.picker.addItem("＋ filter by tag…", None)
        for k, name in enumerate(self.names):
            self.picker.addItem(f"{name} ({int(counts[k]):,})" if counts is not None else name, k)

    def add(self, tag: int, has: bool = True) -> None:
        """Keep only samples that have (``has``) or lack ``tag``; replaces a filter on the same tag."""
        for chip in list(self.chips):
            if chip.tag == tag:
                self._drop(chip, notify=False)
        chip = TagChip(tag, self.names[tag], has, self)
        chip.toggled.connect(self.changed)
        chip.removed.connect(lambda: self._drop(chip))
        self.chips.append(chip)
        self._layout.insertWidget(self._layout.count() - 1, chip)
        self.changed.emit()

    def set_filters(self, has: list[int] = (), lacks: list[int] = ()) -> None:
        """Replace every filter: keep samples with all tags in ``has`` and none in ``lacks``."""
        for chip in list(self.chips):
            self._drop(chip, notify=False)
        self.blockSignals(True)
        for tag in has:
            self.add(tag, True)
        for tag in lacks:
            self.add(tag, False)
        self.blockSignals(False)
        self.changed.emit()

    def clear(self) -> None:
        for chip in list(self.chips):
            self._drop(chip, notify=False)
        self.changed.emit()

    def _drop(self, chip: TagChip, notify: bool = True) -> None:
        self.chips.remove(chip)
        chip.hide()
        chip.deleteLater()
        if notify:
            self.changed.emit()

    def _on_pick(self, row: int) -> None:
        tag = self.picker.itemData(row)
        self.picker.setCurrentIndex(0)
        if tag is not None:
            self.add(tag)
