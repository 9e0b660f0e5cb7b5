"""The masks of one segmentation sample: which one is drawn, its legend, what lies under the cursor.

:class:`MaskPanel` holds the sample's true mask and, when a prediction source gave one, its
predicted mask with a confidence per pixel; it builds the RGBA overlay for the canvas (the
true mask, the predicted one, or an error map) in the dataset's colours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.datasets import Dataset
from core.overlays import (
    ERROR_COLOURS,
    ERROR_NAMES,
    FALSE_NEGATIVE,
    FALSE_POSITIVE,
    IGNORE,
    IGNORE_DARK,
    IGNORE_LIGHT,
    TRUE_POSITIVE,
    WRONG,
    OverlayStyle,
    background_classes,
    classes_present,
    colourise,
    error_colours,
    error_map,
    outline_colours,
    outlines,
    palette_for,
)

#: index -> (predicted H x W class mask, H x W confidence of the predicted class or None), or None
#: when that sample has no prediction. Called on the sample view's worker thread, never the GUI's.
PredictionSource = Callable[[int], "tuple[np.ndarray, np.ndarray | None] | None"]

TRUTH, PREDICTED, WRONG_PIXELS, CLASS_ERRORS = range(4)
MODES = {
    TRUTH: "True mask",
    PREDICTED: "Predicted mask",
    WRONG_PIXELS: "Wrong pixels",
    CLASS_ERRORS: "Errors of a class",
}


@dataclass
class SampleMasks:
    """What the worker read for one sample."""

    truth: np.ndarray | None = None
    error: str = ""  # why the true mask could not be read
    predicted: np.ndarray | None = None
    confidence: np.ndarray | None = None


HATCH = "hatch"  # the legend colour of ignored pixels: drawn striped, as on the image


def swatch(colour: tuple[int, int, int] | str | None, name: str) -> str:
    """A legend entry as rich text: a coloured block and the name (an empty box for clear classes,
    grey stripes for ignored pixels: VOC's car is a plain grey)."""
    if colour is None:
        return f"<span style='color: gray'>▢</span>&nbsp;{name}&nbsp;(clear)"
    if colour == HATCH:
        light, dark = ("#{:02x}{:02x}{:02x}".format(*c) for c in (IGNORE_LIGHT, IGNORE_DARK))
        return f"<span style='background-color: {light}; color: {dark}'>▨▨</span>&nbsp;{name}"
    hex_colour = "#{:02x}{:02x}{:02x}".format(*colour)
    return f"<span style='background-color: {hex_colour}; color: {hex_colour}'>&nbsp;■&nbsp;</span>&nbsp;{name}"


class MaskPanel(QWidget):
    overlay_changed = Signal()  # the overlay to draw changed (mode, class, masks or style)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.classes: list[str] = []
        self.palette = np.zeros((0, 3), np.uint8)
        self.transparent: tuple[int, ...] = ()
        self.masks = SampleMasks()
        self.style = OverlayStyle()
        self._built: tuple[np.ndarray | None, list] = (None, [])
        self._built_key: tuple | None = None
        self._generation = 0  # bumped per new masks: the cached overlay is theirs or stale
        self.legend_entries: list[tuple[str, tuple | str | None]] = []  # name, colour (None: clear, HATCH)
        self.mode = QComboBox(self)
        self.mode.setToolTip("Which mask to draw over the image (the prediction's, once a model ran)")
        self.mode.currentIndexChanged.connect(self._on_mode)
        self.error_class = QComboBox(self)
        self.error_class.setToolTip("The class whose true positives, false positives and false negatives are drawn")
        self.error_class.currentIndexChanged.connect(lambda _: self.overlay_changed.emit())
        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.legend.setToolTip("The classes present in the drawn mask, in the dataset's colours")
        self.hover = QLabel(self)
        self.hover.setToolTip("The pixel under the cursor: position, true class, predicted class and confidence")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.mode)
        row.addWidget(self.error_class)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.legend)
        layout.addWidget(self.hover)
        for mode, text in MODES.items():
            self.mode.addItem(text, mode)
        self._update_controls()

    # -- inputs ------------------------------------------------------------------------
    def set_dataset(self, dataset: Dataset | None) -> None:
        self.classes = list(dataset.classes) if dataset is not None else []
        self.palette = palette_for(dataset.palette if dataset is not None else None, len(self.classes))
        self.transparent = background_classes(self.classes)
        self.set_masks(SampleMasks())

    def set_masks(self, masks: SampleMasks) -> None:
        self.masks = masks
        self._generation += 1
        self.hover.clear()
        self.error_class.blockSignals(True)
        chosen = self.error_class.currentData()
        self.error_class.clear()
        present = sorted(set(self._present(masks.truth)) | set(self._present(masks.predicted)))
        for c in present:
            self.error_class.addItem(self.classes[c], c)
        first = next((k for k, c in enumerate(present) if c not in self.transparent), 0)  # not the background
        found = self.error_class.findData(chosen)
        self.error_class.setCurrentIndex(found if found >= 0 else first)
        self.error_class.blockSignals(False)
        self._update_controls()
        self.overlay_changed.emit()

    def set_style(self, style: OverlayStyle) -> None:
        self.style = style
        self.overlay_changed.emit()

    # -- outputs -----------------------------------------------------------------------
    def current_mode(self) -> int:
        return self.mode.currentData() if self.masks.predicted is not None else TRUTH

    def overlay(self) -> np.ndarray | None:
        """The RGBA to lay over the image (None: nothing to draw); also refreshes the legend."""
        key = (self._generation, self.current_mode(), self.error_class.currentData(), self.style.outlines)
        if key != self._built_key:  # an opacity change re-uses the last overlay (megapixel masks)
            self._built, self._built_key = self._build(), key
        rgba, self.legend_entries = self._built
        self.legend.setText(" &nbsp; ".join(swatch(colour, name) for name, colour in self.legend_entries))
        self.legend.setVisible(bool(self.legend_entries) or bool(self.masks.error))
        if self.masks.error:
            self.legend.setText(f"<span style='color: #da3633'>⚠ {self.masks.error}</span>")
        return rgba if self.style.visible else None

    def describe(self, x: int, y: int) -> str:
        """What the hover line says about pixel (x, y)."""
        parts = [f"x {x}, y {y}"]
        if self.masks.truth is not None:
            parts.append(f"true: {self._class_name(int(self.masks.truth[y, x]))}")
        predicted = self.masks.predicted
        if predicted is not None:
            text = f"predicted: {self._class_name(int(predicted[y, x]))}"
            if self.masks.confidence is not None:
                text += f" ({float(self.masks.confidence[y, x]):.0%})"
            parts.append(text)
        return " · ".join(parts)

    def show_hover(self, x: int, y: int) -> None:
        """Show what is at image pixel (x, y); (-1, -1) (off the image) clears the line."""
        self.hover.setText(self.describe(x, y) if x >= 0 and y >= 0 else "")

    # -- helpers -----------------------------------------------------------------------
    def _present(self, mask: np.ndarray | None) -> list[int]:
        return classes_present(mask, len(self.classes)) if mask is not None else []

    def _class_name(self, value: int) -> str:
        if value == IGNORE:
            return "ignored (255)"
        return self.classes[value] if 0 <= value < len(self.classes) else f"value {value}"

    def _build(self) -> tuple[np.ndarray | None, list]:
        mode, masks = self.current_mode(), self.masks
        if mode in (WRONG_PIXELS, CLASS_ERRORS) and masks.truth is not None and masks.predicted is not None:
            chosen = self.error_class.currentData() if mode == CLASS_ERRORS else None
            codes = error_map(masks.truth, masks.predicted, chosen)
            rgba = error_colours(codes)
            if self.style.outlines:
                rgba[~outlines(codes), 3] = 0
            shown = [WRONG] if chosen is None else [TRUE_POSITIVE, FALSE_POSITIVE, FALSE_NEGATIVE]
            names = {WRONG: "wrong pixel", **ERROR_NAMES}
            return rgba, [(names[code], tuple(int(v) for v in ERROR_COLOURS[code][:3])) for code in shown]
        mask = masks.predicted if mode == PREDICTED else masks.truth
        if mask is None:
            return None, []
        draw = outline_colours if self.style.outlines else colourise
        rgba = draw(mask, self.palette, transparent=self.transparent)
        entries = [
            (self.classes[c], None if c in self.transparent else tuple(int(v) for v in self.palette[c]))
            for c in self._present(mask)
        ]
        if (mask == IGNORE).any():
            entries.append(("ignored", HATCH))
        return rgba, entries

    def _on_mode(self, _index: int) -> None:
        self._update_controls()
        self.overlay_changed.emit()

    def _update_controls(self) -> None:
        predicted = self.masks.predicted is not None
        self.mode.setVisible(predicted)
        self.error_class.setVisible(predicted and self.mode.currentData() == CLASS_ERRORS)
