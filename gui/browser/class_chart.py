"""Samples per class of the open split, as horizontal bars; a click on a bar filters to that class.

For segmentation the bars count the images that contain each class (at least one pixel of it);
the tooltip adds the class's share of all labelled pixels.

The chart is a tab behind the sample view: its plot (pyqtgraph, :mod:`gui.browser.class_bars`, a quarter of a
second to import) is made when the chart is first shown or its plot first asked for, so the browser's first
paint does not wait for it. Until then the widget keeps the counts, and the plot draws them when it comes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    from gui.browser.class_bars import ClassBarsPlot


class ClassChartWidget(QWidget):
    class_clicked = Signal(int)  # class index

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.classes: list[str] = []
        self.counts = np.zeros(0, dtype=np.int64)
        self.title = ""
        self.unit = "samples"
        self.pixels: np.ndarray | None = None  # pixels per class (segmentation), for the tooltip
        self.active: int | None = None
        self._plot: ClassBarsPlot | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.setToolTip("Samples per class in this split; click a bar to show only that class")

    @property
    def plot(self) -> ClassBarsPlot:
        """The bars' plot, made (and given the counts) now if it was not."""
        if self._plot is None:
            from gui.browser.class_bars import ClassBarsPlot  # pyqtgraph: with the chart, not the browser

            self._plot = ClassBarsPlot(self)
            self._plot.scene().sigMouseClicked.connect(self._on_click)
            self._plot.scene().sigMouseMoved.connect(self._on_hover)
            self.layout().addWidget(self._plot)
            self._plot.draw(self.classes, self.counts, self.title, self.unit)
            self._plot.highlight(self.counts, self.active)
        return self._plot

    def showEvent(self, event) -> None:  # Qt's name
        self.plot  # noqa: B018 (made on the first show)
        super().showEvent(event)

    def show_counts(self, dataset, mask_classes) -> None:
        """The open dataset's counts: samples per class, or images per class from ``mask_classes``
        (a MaskClassIndex) for segmentation, with how many masks were read so far."""
        if dataset is None:
            self.set_counts([], np.zeros(0), "Samples per class")
            return
        split = f", {dataset.split} split" if dataset.split else ""
        if mask_classes.tags is None:
            self.set_counts(dataset.classes, dataset.class_counts(), f"Samples per class{split}")
            return
        read = "" if mask_classes.complete else f" ({mask_classes.scanned:,} of {len(dataset):,} masks read)"
        counts = mask_classes.tags.sum(axis=0, dtype=np.int64)
        pixels = mask_classes.pixels if mask_classes.pixels.any() else None
        self.set_counts(dataset.classes, counts, f"Images containing each class{split}{read}", "images", pixels)

    def set_counts(
        self, classes: list[str], counts: np.ndarray, title: str = "", unit: str = "samples", pixels=None
    ) -> None:
        self.classes, self.counts = list(classes), np.asarray(counts, dtype=np.int64)
        self.title, self.unit, self.pixels = title, unit, pixels
        self.active = None
        if self._plot is not None:  # else the plot draws them when it is made
            self._plot.draw(self.classes, self.counts, title, unit)
            self._plot.highlight(self.counts, None)

    def set_active(self, class_index: int | None) -> None:
        """Highlight the class the browser is filtered to (None: no class filter)."""
        self.active = class_index
        if self._plot is not None:
            self._plot.highlight(self.counts, class_index)

    def bar_center(self, class_index: int) -> QPointF:
        """The scene position of a bar's middle (for tests and tooltips)."""
        view = QPointF(max(self.counts[class_index], 1) / 2, class_index)
        return self.plot.getViewBox().mapViewToScene(view)

    def class_at(self, scene_pos: QPointF) -> int | None:
        return self.plot.row_at(scene_pos, len(self.classes))

    def _on_click(self, event) -> None:
        row = self.class_at(event.scenePos())
        if row is not None:
            self.class_clicked.emit(row)

    def _on_hover(self, scene_pos: QPointF) -> None:
        row = self.class_at(scene_pos)
        tip = ""
        if row is not None:
            share = ""
            if self.pixels is not None and self.pixels.sum():
                share = f", {self.pixels[row] / self.pixels.sum():.1%} of the labelled pixels"
            tip = f"{self.classes[row]}: {self.counts[row]} {self.unit}{share} (click to filter)"
        self.plot.setToolTip(tip)
