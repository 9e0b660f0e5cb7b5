"""Samples per class of the open split, as horizontal bars; a click on a bar filters to that class.

For segmentation the bars count the images that contain each class (at least one pixel of it);
the tooltip adds the class's share of all labelled pixels.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

BAR_COLOR = (90, 120, 200)
ACTIVE_COLOR = (240, 160, 40)
MAX_NAMED_TICKS = 40


class ClassChartWidget(QWidget):
    class_clicked = Signal(int)  # class index

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.classes: list[str] = []
        self.counts = np.zeros(0, dtype=np.int64)
        self.unit = "samples"
        self.pixels: np.ndarray | None = None  # pixels per class (segmentation), for the tooltip
        self.active: int | None = None
        self._count_texts: list[pg.TextItem] = []
        self.plot = pg.PlotWidget(self, background=None)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.getViewBox().invertY(True)  # first class on top, as in the class filter
        self.plot.setLabel("bottom", "samples")
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.8, width=[])
        self.plot.addItem(self.bars)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.plot.scene().sigMouseMoved.connect(self._on_hover)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.setToolTip("Samples per class in this split; click a bar to show only that class")

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
        self.plot.setTitle(title, size="9pt")
        self.classes, self.counts = list(classes), np.asarray(counts, dtype=np.int64)
        self.unit, self.pixels = unit, pixels
        self.plot.setLabel("bottom", unit)
        self.active = None
        n = len(self.classes)
        axis = self.plot.getAxis("left")
        if n <= MAX_NAMED_TICKS:
            axis.setTicks([[(i, name) for i, name in enumerate(self.classes)]])
        else:
            axis.setTicks(None)
        self._redraw()
        for text in self._count_texts:
            self.plot.removeItem(text)
        self._count_texts = []
        if n <= MAX_NAMED_TICKS:
            for i, count in enumerate(self.counts):
                text = pg.TextItem(f"{count:,}", color=(60, 60, 60), anchor=(0, 0.5))
                text.setPos(float(count), i)
                self.plot.addItem(text)
                self._count_texts.append(text)
        self.plot.setYRange(-0.6, max(n, 1) - 0.4, padding=0)
        # Room on the right for the count printed after the longest bar.
        self.plot.setXRange(0, max(1, int(self.counts.max(initial=0))) * 1.15, padding=0)

    def set_active(self, class_index: int | None) -> None:
        """Highlight the class the browser is filtered to (None: no class filter)."""
        self.active = class_index
        self._redraw()

    def bar_center(self, class_index: int) -> QPointF:
        """The scene position of a bar's middle (for tests and tooltips)."""
        view = QPointF(max(self.counts[class_index], 1) / 2, class_index)
        return self.plot.getViewBox().mapViewToScene(view)

    def class_at(self, scene_pos: QPointF) -> int | None:
        view_box = self.plot.getViewBox()
        if not view_box.sceneBoundingRect().contains(scene_pos):
            return None
        row = round(view_box.mapSceneToView(scene_pos).y())
        return row if 0 <= row < len(self.classes) else None

    def _redraw(self) -> None:
        n = len(self.classes)
        brushes = [pg.mkBrush(ACTIVE_COLOR if i == self.active else BAR_COLOR) for i in range(n)]
        self.bars.setOpts(x0=np.zeros(n), y=np.arange(n), height=0.8, width=self.counts, brushes=brushes)

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
