"""Parts of the sample view: reading one sample on the worker thread, and the scrolling details area."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSizePolicy, QWidget

from core.datasets import Dataset
from gui.browser.mask_info import PredictionSource, SampleMasks
from gui.decoding import per_pixel, read_error


def read_sample(dataset: Dataset, index: int, source: PredictionSource | None) -> tuple[np.ndarray, SampleMasks]:
    """The image and, for segmentation, the masks of one sample (runs on the worker thread)."""
    image = dataset.load_image(index)
    masks = SampleMasks()
    if not per_pixel(dataset):
        return image, masks
    try:
        masks.truth = dataset.load_mask(index)
    except Exception as exc:  # a bad mask is that sample's error: the image is still shown
        masks.error = read_error(exc)
    if source is not None:
        try:
            found = source(index)
        except Exception as exc:
            masks.error = masks.error or f"prediction: {read_error(exc)}"
            found = None
        if found is not None and found[0].shape[:2] == image.shape[:2]:
            masks.predicted, masks.confidence = found[0], found[1]
            masks.probabilities = found[2] if len(found) > 2 else None
        elif found is not None:
            masks.error = masks.error or f"predicted mask is {found[0].shape[:2]}, the image {image.shape[:2]}"
    return image, masks


class Details(QScrollArea):
    """The words under the image: as tall as they need, scrolling past the height the view allows."""

    def __init__(self, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    def sizeHint(self) -> QSize:
        return QSize(200, self.widget().sizeHint().height() + 2)

    def refit(self) -> None:
        """The content changed: ask the layout for a new height."""
        self.widget().adjustSize()
        self.updateGeometry()


def make_label(parent: QWidget, *, bold: bool = False, small: bool = False) -> QLabel:
    """A selectable, wrapping line of the sample's details (small ones grey)."""
    label = QLabel(parent)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    font = label.font()
    font.setBold(bold)
    if small:
        font.setPointSizeF(font.pointSizeF() * 0.85)
        label.setStyleSheet("color: gray")
    label.setFont(font)
    return label
