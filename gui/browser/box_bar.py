"""The object tasks' row above the grid: the score threshold every view follows, the legend of the box kinds,
how instance masks are drawn, and the switch between whole images and the object grid."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from gui.browser.boxes import BOX_STYLES, FN_KIND, FP_KIND, IGNORED_KIND, TP_KIND, TRUTH_KIND, object_pen

#: How instance masks are drawn in the sample view: value -> the combo's words.
MASK_MODES = {"outlines": "Masks: outlines", "fills": "Masks: filled", "off": "Masks: off"}
STEPS = 100  # the slider's resolution: 0.01


class BoxBar(QWidget):
    """Score slider, legend, mask mode and the Objects switch; the pane wires them to the state."""

    score_changed = Signal(float)  # the user moved the slider
    mask_mode_changed = Signal(str)  # a key of MASK_MODES
    objects_toggled = Signal(bool)  # show the object grid instead of whole images

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, STEPS)
        self.slider.setMinimumWidth(140)
        self.slider.setToolTip(
            "Detections scoring below this are hidden in every view (tiles, sample, objects, metrics);\n"
            "TP / FP / FN are matched among the detections shown, at IoU 0.5"
        )
        self.value = QLabel("0.50", self)
        self.value.setMinimumWidth(self.value.fontMetrics().horizontalAdvance("0.00") + 4)
        self.slider.valueChanged.connect(self._on_slider)
        self.masks = QComboBox(self)
        for key, words in MASK_MODES.items():
            self.masks.addItem(words, key)
        self.masks.setToolTip("How instance masks are drawn in the sample view")
        self.masks.currentIndexChanged.connect(lambda _i: self.mask_mode_changed.emit(self.masks.currentData()))
        self.objects = QPushButton("Objects", self)
        self.objects.setCheckable(True)
        self.objects.setToolTip("Show a crop of every object instead of whole images (double-click one to open it)")
        self.objects.toggled.connect(self.objects_toggled)
        layout.addWidget(QLabel("Score ≥", self))
        layout.addWidget(self.slider)
        layout.addWidget(self.value)
        for kind in (TP_KIND, FP_KIND, FN_KIND, TRUTH_KIND, IGNORED_KIND):
            layout.addWidget(legend_item(kind, self))
        layout.addStretch(1)
        layout.addWidget(self.masks)
        layout.addWidget(self.objects)

    def set_score(self, threshold: float) -> None:
        """Show the state's threshold (no signal back)."""
        self.slider.blockSignals(True)
        self.slider.setValue(round(threshold * STEPS))
        self.slider.blockSignals(False)
        self.value.setText(f"{threshold:.2f}")

    def show_masks(self, on: bool) -> None:
        """The mask mode matters only for instance segmentation."""
        self.masks.setVisible(on)

    @property
    def mask_mode(self) -> str:
        return self.masks.currentData()

    def _on_slider(self, value: int) -> None:
        self.value.setText(f"{value / STEPS:.2f}")
        self.score_changed.emit(value / STEPS)


def legend_item(kind: str, parent: QWidget) -> QWidget:
    """A short line in the kind's colour and style, then its name (the tooltip says what it means)."""
    pixmap = QPixmap(22, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setPen(object_pen(kind, 2.5))
    painter.drawLine(QPointF(1, 6), QPointF(21, 6))
    painter.end()
    holder = QWidget(parent)
    label = QLabel(holder)
    label.setPixmap(pixmap)
    words = BOX_STYLES[kind][2]
    row = QHBoxLayout(holder)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(2)
    row.addWidget(label)
    row.addWidget(QLabel(kind, holder))
    holder.setToolTip(words)
    return holder
