"""The masks of one segmentation sample: which one is drawn, its legend, what lies under the cursor.

:class:`MaskPanel` holds the sample's true mask and, when a prediction source gave one, its
predicted mask with a confidence (and the class probabilities) per pixel; it builds the RGBA
overlay for the canvas (the true mask, the predicted one, or an error map) in the dataset's
colours, or, to compare truth and prediction side by side or by swiping, one layer for each.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QComboBox, QLabel, QToolButton, QVBoxLayout, QWidget

from core.datasets import Dataset
from core.masks.overlays import (
    ERROR_COLOURS,
    ERROR_NAMES,
    FALSE_NEGATIVE,
    FALSE_POSITIVE,
    IGNORE,
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
from gui.browser.compare import COMPARE_HINTS, COMPARE_MODES, OVERLAY
from gui.browser.mask_info import (  # noqa: F401  (PredictionSource, SampleMasks, swatch: imported from here too)
    HATCH,
    PredictionSource,
    SampleMasks,
    describe_pixel,
    swatch,
)
from gui.flow_layout import FlowLayout

TRUTH, PREDICTED, WRONG_PIXELS, CLASS_ERRORS = range(4)
MODES = {
    TRUTH: "True mask",
    PREDICTED: "Predicted mask",
    WRONG_PIXELS: "Wrong pixels",
    CLASS_ERRORS: "Errors of a class",
}


class MaskPanel(QWidget):
    overlay_changed = Signal()  # the overlay to draw changed (mode, class, comparison, masks or style)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.classes: list[str] = []
        self.palette = np.zeros((0, 3), np.uint8)
        self.transparent: tuple[int, ...] = ()
        self.masks = SampleMasks()
        self.style = OverlayStyle()
        self._built: tuple[object, list] = (None, [])
        self._built_key: tuple | None = None
        self._generation = 0  # bumped per new masks: the cached overlay is theirs or stale
        self.legend_entries: list[tuple[str, tuple | str | None]] = []  # name, colour (None: clear, HATCH)
        self.mode = QComboBox(self)
        self.mode.setToolTip("Which mask to draw over the image (the prediction's, once a model ran)")
        self.mode.currentIndexChanged.connect(self._on_mode)
        self.error_class = QComboBox(self)
        self.error_class.setToolTip("The class whose true positives, false positives and false negatives are drawn")
        self.error_class.currentIndexChanged.connect(lambda _: self.overlay_changed.emit())
        self.compare = QButtonGroup(self)
        self.compare.idToggled.connect(lambda _id, checked: checked and self._on_mode(0))
        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.legend.setToolTip("The classes present in the drawn mask, in the dataset's colours")
        self.hover = QLabel(self)
        self.hover.setWordWrap(True)
        self.hover.setToolTip(
            "The pixel under the cursor: position, true class, predicted class with its confidence, "
            "and the most probable classes there"
        )
        controls = QWidget(self)  # wraps in a narrow sample view: no combo or button squeezed to "Side…side"
        row = FlowLayout(controls, spacing=2)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.mode)
        row.addWidget(self.error_class)
        for mode, text in COMPARE_MODES.items():
            button = QToolButton(self, text=text, checkable=True, autoRaise=True, toolTip=COMPARE_HINTS[mode])
            self.compare.addButton(button, mode)
            row.addWidget(button)
        self.compare.button(OVERLAY).setChecked(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(controls)
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

    def set_compare_mode(self, mode: int) -> None:
        """Overlay, side by side or swipe (``gui.browser.compare``); shown once a prediction is there."""
        self.compare.button(mode).setChecked(True)

    # -- outputs -----------------------------------------------------------------------
    def current_mode(self) -> int:
        return self.mode.currentData() if self.masks.predicted is not None else TRUTH

    def compare_mode(self) -> int:
        """How truth and prediction are shown: OVERLAY (one mask, as the mode says) unless both are there."""
        both = self.masks.predicted is not None and self.masks.truth is not None
        return self.compare.checkedId() if both else OVERLAY

    def overlay(self) -> np.ndarray | None:
        """The RGBA to lay over the image (None: nothing to draw); also refreshes the legend."""
        rgba = self._cached(("one", self.current_mode(), self.error_class.currentData()), self._build)
        return rgba if self.style.visible else None

    def pair(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The true mask's and the predicted mask's RGBA, to compare them; the legend names both's classes."""
        truth, predicted = self._cached(("pair",), self._build_pair)
        return (truth, predicted) if self.style.visible else (None, None)

    def describe(self, x: int, y: int) -> str:
        """What the hover line says about pixel (x, y)."""
        return describe_pixel(self.masks, self.classes, x, y)

    def show_hover(self, x: int, y: int) -> None:
        """Show what is at image pixel (x, y); (-1, -1) (off the image) clears the line."""
        self.hover.setText(self.describe(x, y) if x >= 0 and y >= 0 else "")

    # -- helpers -----------------------------------------------------------------------
    def _cached(self, what: tuple, build):
        key = (self._generation, self.style.outlines, *what)
        if key != self._built_key:  # an opacity change re-uses the last overlay (megapixel masks)
            self._built, self._built_key = build(), key
        drawn, self.legend_entries = self._built
        self.legend.setText(" &nbsp; ".join(swatch(colour, name) for name, colour in self.legend_entries))
        self.legend.setVisible(bool(self.legend_entries) or bool(self.masks.error))
        if self.masks.error:
            self.legend.setText(f"<span style='color: #da3633'>⚠ {self.masks.error}</span>")
        return drawn

    def _present(self, mask: np.ndarray | None) -> list[int]:
        return classes_present(mask, len(self.classes)) if mask is not None else []

    def _colours(self, mask: np.ndarray) -> np.ndarray:
        draw = outline_colours if self.style.outlines else colourise
        return draw(mask, self.palette, transparent=self.transparent)

    def _entries(self, *masks: np.ndarray) -> list:
        present = sorted(set().union(*(self._present(m) for m in masks)))
        entries = [
            (self.classes[c], None if c in self.transparent else tuple(int(v) for v in self.palette[c]))
            for c in present
        ]
        if any((m == IGNORE).any() for m in masks):
            entries.append(("ignored", HATCH))
        return entries

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
        return self._colours(mask), self._entries(mask)

    def _build_pair(self) -> tuple[tuple[np.ndarray | None, np.ndarray | None], list]:
        truth, predicted = self.masks.truth, self.masks.predicted
        layers = tuple(self._colours(m) if m is not None else None for m in (truth, predicted))
        return layers, self._entries(*(m for m in (truth, predicted) if m is not None))

    def _on_mode(self, _index: int) -> None:
        self._update_controls()
        self.overlay_changed.emit()

    def _update_controls(self) -> None:
        predicted = self.masks.predicted is not None
        overlay = self.compare_mode() == OVERLAY
        self.mode.setVisible(predicted and overlay)
        self.error_class.setVisible(predicted and overlay and self.mode.currentData() == CLASS_ERRORS)
        for button in self.compare.buttons():
            button.setVisible(predicted and self.masks.truth is not None)
