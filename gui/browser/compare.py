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
        self._swipe = None  # SwipeLayers, made with the canvas's view (it holds pyqtgraph items)
        self.canvas.when_view_made(self._make_swipe)
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
            source.when_view_made(lambda s=source, t=target: self._follow_from(s, t))
        self.set_mode(OVERLAY)

    @property
    def swipe(self):
        """The swipe's layers and line on :attr:`canvas` (gui.browser.swipe.SwipeLayers; made now if need be)."""
        self.canvas.view  # noqa: B018 (making the view makes the swipe)
        return self._swipe

    def _make_swipe(self) -> None:
        from gui.browser.swipe import SwipeLayers  # pyqtgraph: imported with the canvas's view

        self._swipe = SwipeLayers(self.canvas)

    # -- what the sample view calls ---------------------------------------------------
    def set_mode(self, mode: int) -> None:
        """OVERLAY, SIDE_BY_SIDE or SWIPE; entering side by side shows the second canvas where the first is."""
        entering = mode == SIDE_BY_SIDE and self.mode != SIDE_BY_SIDE
        self.mode = mode
        side = mode == SIDE_BY_SIDE
        self.columns[1].setVisible(side)
        self._show_titles()
        if mode != SWIPE:
            self._hide_swipe()
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
        self._hide_swipe()
        self.second.show_image(image, text)
        self.canvas.show_image(image, text)

    def set_marks(self, boxes=(), points=()) -> None:
        self.canvas.set_marks(boxes, points)
        self.second.set_marks(boxes, points)

    def set_overlay(self, rgba: np.ndarray | None, opacity: float) -> None:
        """The overlay mode's one layer."""
        self._hide_swipe()
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
            canvas.set_overlay_opacity(opacity)
        if self._swipe is not None:
            self._swipe.set_opacity(opacity)

    def has_overlay(self) -> bool:
        swiped = self._swipe is not None and any(o is not None for o in self._swipe.overlays)
        return self.canvas.overlay is not None or swiped

    # -- internals ---------------------------------------------------------------------
    def _show_titles(self) -> None:
        side = self.mode == SIDE_BY_SIDE
        texts = self._captions or list(TITLES)
        shown = len(texts) if self._captions else 2 if side else 0
        for k, title in enumerate(self.titles):
            title.setText(texts[k] if k < len(texts) else "")
            title.setVisible(k < shown and (k == 0 or side))

    def _hide_swipe(self) -> None:
        if self._swipe is not None:  # else there is none to hide
            self._swipe.hide()

    def _follow_from(self, source: ImageCanvas, target: ImageCanvas) -> None:
        source.box.sigRangeChanged.connect(lambda *_: self._follow(source, target))

    def _follow(self, source: ImageCanvas, target: ImageCanvas) -> None:
        """Side by side: ``target`` shows what ``source`` shows (the guard stops the echo back)."""
        if self._syncing or self.mode != SIDE_BY_SIDE or source.image is None or target.image is None:
            return
        self._syncing = True
        try:
            target.box.setRange(source.visible_rect(), padding=0)
        finally:
            self._syncing = False
