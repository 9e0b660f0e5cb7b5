"""The sample view's image area: one canvas with one overlay, two linked canvases side by side, or a swipe.

Side by side, the left canvas shows the true mask and the right one the predicted mask; a zoom or
a pan in either is copied to the other, so the same pixels stay under each other. Swiping lays
both masks on one canvas, split by a line the user drags (:class:`~gui.browser.swipe.SwipeLayers`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.browser.image_canvas import ImageCanvas
from gui.browser.swipe import SwipeLayers

OVERLAY, SIDE_BY_SIDE, SWIPE = range(3)
COMPARE_MODES = {OVERLAY: "Overlay", SIDE_BY_SIDE: "Side by side", SWIPE: "Swipe"}
COMPARE_HINTS = {
    OVERLAY: "One mask over the image: the true one, the predicted one or where they differ",
    SIDE_BY_SIDE: "Truth left, prediction right; zoom and pan move both",
    SWIPE: "Truth left of a line, prediction right of it: drag the line across the image",
}
TITLES = ("Truth", "Prediction")


class CompareCanvases(QWidget):
    """:attr:`canvas` (the one image, or the truth's side) and :attr:`second` (the prediction's side)."""

    hovered = Signal(int, int)  # image pixel under the cursor on either canvas; (-1, -1) off the image

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = OVERLAY
        self.canvas = ImageCanvas(self)
        self.second = ImageCanvas(self)
        self.swipe = SwipeLayers(self.canvas)
        self._syncing = False
        self._captions: list[str] | None = None
        self.titles = [QLabel(text, self) for text in TITLES]
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.columns = []
        for title, canvas in zip(self.titles, (self.canvas, self.second)):
            title.setStyleSheet("font-weight: bold")
            title.setWordWrap(True)
            column = QWidget(self)
            column_layout = QVBoxLayout(column)
            column_layout.setContentsMargins(0, 0, 0, 0)
            column_layout.setSpacing(2)
            column_layout.addWidget(title)
            column_layout.addWidget(canvas, 1)
            layout.addWidget(column, 1)
            self.columns.append(column)
            canvas.hovered.connect(self.hovered)
        for source, target in ((self.canvas, self.second), (self.second, self.canvas)):
            source.box.sigRangeChanged.connect(lambda *_, s=source, t=target: self._follow(s, t))
        self.set_mode(OVERLAY)

    # -- what the sample view calls ---------------------------------------------------
    def set_mode(self, mode: int) -> None:
        """OVERLAY, SIDE_BY_SIDE or SWIPE; entering side by side shows the second canvas where the first is."""
        entering = mode == SIDE_BY_SIDE and self.mode != SIDE_BY_SIDE
        self.mode = mode
        side = mode == SIDE_BY_SIDE
        self.columns[1].setVisible(side)
        self._show_titles()
        if mode != SWIPE:
            self.swipe.hide()
        if not side:
            self.second.set_overlay(None)
        if entering and self.canvas.image is not None:
            self._follow(self.canvas, self.second)

    def set_captions(self, captions: list[str] | None) -> None:
        """Titles over the canvases in place of "Truth" and "Prediction" (what each saliency map explains),
        shown in every mode; None: the comparison's titles again, shown side by side only."""
        self._captions = list(captions) if captions else None
        self._show_titles()

    def show_image(self, image: np.ndarray | None, text: str = "") -> None:
        """Both canvases show ``image`` (or ``text``), fit to the view; overlays and marks cleared."""
        self.swipe.hide()
        self.second.show_image(image, text)
        self.canvas.show_image(image, text)

    def set_marks(self, boxes=(), points=()) -> None:
        self.canvas.set_marks(boxes, points)
        self.second.set_marks(boxes, points)

    def set_overlay(self, rgba: np.ndarray | None, opacity: float) -> None:
        """The overlay mode's one layer."""
        self.swipe.hide()
        self.second.set_overlay(None)
        self.canvas.set_overlay(rgba, opacity)

    def set_pair(self, truth: np.ndarray | None, predicted: np.ndarray | None, opacity: float) -> None:
        """Truth and prediction layers: on the two canvases side by side, or split on one by the swipe."""
        if self.mode == SWIPE:
            self.canvas.set_overlay(None)
            self.swipe.set_layers(truth, predicted, opacity)
        else:
            self.canvas.set_overlay(truth, opacity)
            self.second.set_overlay(predicted, opacity)

    def set_opacity(self, opacity: float) -> None:
        """Fade every layer already drawn (nothing is rebuilt)."""
        for canvas in (self.canvas, self.second):
            canvas.layer.setOpacity(opacity)
        self.swipe.set_opacity(opacity)

    def has_overlay(self) -> bool:
        return self.canvas.overlay is not None or any(o is not None for o in self.swipe.overlays)

    # -- internals ---------------------------------------------------------------------
    def _show_titles(self) -> None:
        side = self.mode == SIDE_BY_SIDE
        texts = self._captions or list(TITLES)
        shown = len(texts) if self._captions else 2 if side else 0
        for k, title in enumerate(self.titles):
            title.setText(texts[k] if k < len(texts) else "")
            title.setVisible(k < shown and (k == 0 or side))

    def _follow(self, source: ImageCanvas, target: ImageCanvas) -> None:
        """Side by side: ``target`` shows what ``source`` shows (the guard stops the echo back)."""
        if self._syncing or self.mode != SIDE_BY_SIDE or source.image is None or target.image is None:
            return
        self._syncing = True
        try:
            target.box.setRange(source.visible_rect(), padding=0)
        finally:
            self._syncing = False
