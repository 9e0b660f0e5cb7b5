"""The browser's controls for a segmentation run: what the tiles show, and the worst images first."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from gui.browser.seg_run import PER_IMAGE
from gui.browser.tile_layers import TILE_SHOWS
from gui.glossary_tips import explain_metrics

DATASET_ORDER = "dataset order"


class RunBar(QWidget):
    """ "Tiles show: truth / prediction / wrong pixels" and "Order: worst mean IoU / Dice / pixel accuracy first"."""

    show_changed = Signal(str)  # tile_layers.TRUTH / PREDICTION / ERRORS
    order_changed = Signal(object)  # a key of seg_run.PER_IMAGE, or None for the dataset's order

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.show_combo = QComboBox(self)
        for value, text in TILE_SHOWS.items():
            self.show_combo.addItem(text, value)
        self.show_combo.setToolTip(
            "What the tiles draw over each image: the true mask, the predicted one, or the pixels where they differ"
        )
        self.show_combo.currentIndexChanged.connect(lambda _: self.show_changed.emit(self.show_combo.currentData()))
        self.order_combo = QComboBox(self)
        self.order_combo.addItem(DATASET_ORDER, None)
        for name in PER_IMAGE:
            self.order_combo.addItem(f"worst {name} first", name)
        self.order_combo.setToolTip("Put the images the model segmented worst first (per-image scores of the run)")
        self.order_combo.currentIndexChanged.connect(lambda _: self.order_changed.emit(self.order))
        explain_metrics(self.order_combo)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 0, 0, 0)
        for widget in (QLabel("Tiles show", self), self.show_combo, QLabel("Order", self), self.order_combo):
            layout.addWidget(widget)

    @property
    def tile_show(self) -> str:
        return self.show_combo.currentData()

    @property
    def order(self) -> str | None:
        return self.order_combo.currentData()

    def choose_show(self, show: str) -> None:
        self.show_combo.setCurrentIndex(max(self.show_combo.findData(show), 0))

    def choose_order(self, metric: str | None) -> None:
        """Sort by ``metric`` (a key of PER_IMAGE; None: the dataset's order); order_changed follows."""
        self.order_combo.setCurrentIndex(max(self.order_combo.findData(metric), 0))

    def forget_order(self) -> None:
        """Another view chose what the grid shows: say "dataset order" without emitting."""
        self.order_combo.blockSignals(True)
        self.order_combo.setCurrentIndex(0)
        self.order_combo.blockSignals(False)

    def reset(self) -> None:
        """No run, or a new dataset: truth on the tiles, the dataset's order (no signals)."""
        for combo in (self.show_combo, self.order_combo):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
