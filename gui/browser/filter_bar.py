"""The browser's toolbar: class filter, "Wrong only", the outside selection's chip, mask display, id search, counts."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.evaluation.selection import Selection
from core.masks.overlays import OverlayStyle
from gui.browser.colors import WRONG_COLOR
from gui.flow_layout import FlowLayout
from gui.throttle import debounced
from gui.widgets import ElidedLabel

#: The opacity slider never gets narrower than this (pixels).
OPACITY_MIN_WIDTH = 100

#: The marks filter's entries: (text, core.evaluation.selection mark or None for every sample).
MARK_CHOICES = (
    ("All marks", None),
    ("Edited", "edited"),
    ("Not reviewed", "not reviewed"),
    ("Reviewed", "reviewed"),
    ("Flagged", "flagged"),
    ("Excluded", "excluded"),
    ("With a note", "note"),
)


class FilterBar(QWidget):
    filters_changed = Signal()  # class, "wrong only" or search text changed
    clear_selection_requested = Signal()
    overlay_changed = Signal(object)  # OverlayStyle: masks on/off, opacity, outlines

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.class_combo = QComboBox(self)
        self.class_combo.setToolTip("Show only the samples labelled with one class")
        self.class_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.class_combo.currentIndexChanged.connect(lambda _: self.filters_changed.emit())

        self.mark_combo = QComboBox(self)
        for text, mark in MARK_CHOICES:
            self.mark_combo.addItem(text, mark)
        self.mark_combo.setToolTip(
            "Show only the samples you edited, flagged, excluded, noted, or have not reviewed yet"
        )
        self.mark_combo.currentIndexChanged.connect(lambda _: self.filters_changed.emit())

        self.wrong_only = QCheckBox("Wrong only", self)
        self.wrong_only.setEnabled(False)
        self.wrong_only.setToolTip("Run a model first: then this shows only the samples it got wrong")
        self.wrong_only.toggled.connect(lambda _: self.filters_changed.emit())

        self.selection_chip = ElidedLabel(self)
        self.selection_chip.setStyleSheet(
            "QLabel { background: rgba(90, 120, 200, 60); border-radius: 8px; padding: 2px 8px; }"
        )
        self.clear_selection = QToolButton(self)
        self.clear_selection.setText("✕")
        self.clear_selection.setAutoRaise(True)
        self.clear_selection.setToolTip("Clear this selection and show the whole split again")
        self.clear_selection.clicked.connect(self.clear_selection_requested)

        self._make_mask_controls()

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search sample id")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Show only the samples whose id (file name) contains this text")
        self.search.setMaximumWidth(220)
        # Filter once typing pauses, not per key.
        self._search_paused = debounced(self.filters_changed.emit, timeout=200, parent=self)
        self.search.textChanged.connect(lambda _: self._search_paused())

        self.count = QLabel(self)
        self.count.setToolTip("Samples shown in the grid / samples in the split")
        self.failed = QLabel(self)
        self.failed.setStyleSheet(f"color: {WRONG_COLOR.name()}; font-weight: bold")
        self.failed.setToolTip("Samples whose image could not be decoded; their tiles say why")

        # Both rows wrap in a narrow pane: a control moves down a line, never over its neighbour.
        filters = QWidget(self)
        layout = FlowLayout(filters)
        layout.setContentsMargins(4, 2, 4, 2)
        for widget in (self.class_combo, self.mark_combo, self.wrong_only, self.selection_chip, self.clear_selection):
            layout.addWidget(widget)
        for widget in (self.failed, self.count, self.search):
            layout.addWidget(widget)
        # Masks on a second row (segmentation only): the first stays readable in a narrow pane.
        self.mask_row = QWidget(self)
        mask_layout = FlowLayout(self.mask_row)
        mask_layout.setContentsMargins(4, 0, 4, 2)
        opacity = QWidget(self)  # the label and its slider wrap together
        opacity_layout = QHBoxLayout(opacity)
        opacity_layout.setContentsMargins(0, 0, 0, 0)
        opacity_layout.addWidget(self.opacity_label)
        opacity_layout.addWidget(self.opacity)
        for widget in (self.masks, self.outlines, opacity):
            mask_layout.addWidget(widget)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(0)
        rows.addWidget(filters)
        rows.addWidget(self.mask_row)
        self.set_selection(None)
        self.set_failed(0)
        self.show_mask_controls(False)

    def _make_mask_controls(self) -> None:
        self.masks = QCheckBox("Masks", self)
        self.masks.setChecked(True)
        self.masks.setToolTip("Draw each image's mask over it, in the dataset's class colours (tiles and sample)")
        self.outlines = QCheckBox("Outlines", self)
        self.outlines.setToolTip("Draw only the borders of the mask's regions, so the image shows through")
        self.opacity_label = QLabel("Opacity", self)
        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setMinimumWidth(OPACITY_MIN_WIDTH)  # a slider narrower than this cannot be set finely
        self.opacity.setMaximumWidth(140)
        self.opacity.setToolTip("How strongly the mask covers the image")
        self.masks.toggled.connect(self._on_overlay)
        self.outlines.toggled.connect(self._on_overlay)
        self.opacity.valueChanged.connect(self._on_overlay)

    # -- what the pane reads --------------------------------------------------------
    @property
    def overlay_style(self) -> OverlayStyle:
        return OverlayStyle(self.masks.isChecked(), self.opacity.value() / 100, self.outlines.isChecked())

    @property
    def class_index(self) -> int | None:
        """The class filtered to: None for all classes, -1 for the unlabeled samples."""
        return self.class_combo.currentData()

    @property
    def mark(self) -> str | None:
        """The mark filtered to (``core.evaluation.selection.MARK_FILTERS``), None for every sample."""
        return self.mark_combo.currentData()

    def choose_mark(self, mark: str | None) -> None:
        self.mark_combo.setCurrentIndex(max(self.mark_combo.findData(mark), 0))

    def show_mark_filter(self, visible: bool) -> None:
        """The marks filter: only with a project store (it has nothing to filter on otherwise)."""
        self.mark_combo.setVisible(visible)
        if not visible:
            self.mark_combo.setCurrentIndex(0)

    @property
    def search_text(self) -> str:
        return self.search.text().strip()

    # -- what the pane sets ---------------------------------------------------------
    def reset(self) -> None:
        """A new dataset: every filter off (the pane re-filters after)."""
        self.blockSignals(True)
        self.wrong_only.setChecked(False)
        self.class_combo.setCurrentIndex(0)
        self.mark_combo.setCurrentIndex(0)
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self._search_paused.cancel()
        self.blockSignals(False)

    def set_classes(self, classes: list[str], counts: np.ndarray, total: int, unlabeled: int) -> None:
        """Fill the class filter with counts; keeps the chosen class when it is still there."""
        chosen = self.class_index
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem(f"All classes ({total:,})", None)
        for k, (name, count) in enumerate(zip(classes, counts)):
            self.class_combo.addItem(f"{name} ({int(count):,})", k)
        if unlabeled:
            self.class_combo.addItem(f"Unlabeled ({unlabeled:,})", -1)
        found = self.class_combo.findData(chosen) if chosen is not None else 0
        self.class_combo.setCurrentIndex(max(found, 0))
        self.class_combo.blockSignals(False)
        if chosen is not None and found < 0:
            self.filters_changed.emit()

    def choose_class(self, class_index: int | None) -> None:
        found = self.class_combo.findData(class_index) if class_index is not None else 0
        if found >= 0:
            self.class_combo.setCurrentIndex(found)

    def set_predictions_available(self, available: bool) -> None:
        self.wrong_only.setEnabled(available)
        self.wrong_only.setToolTip(
            "Show only the samples the model got wrong"
            if available
            else "Run a model first: then this shows only the samples it got wrong"
        )
        if not available and self.wrong_only.isChecked():
            self.wrong_only.setChecked(False)

    def set_selection(self, selection: Selection | None) -> None:
        self.selection_chip.setVisible(selection is not None)
        self.clear_selection.setVisible(selection is not None)
        if selection is not None:
            self.selection_chip.setText(f"{selection.name} ({len(selection):,})")
            self.selection_chip.setToolTip(
                f"{self.selection_chip.text()}: the samples picked in another view (a confusion cell, a chart)"
            )

    def set_overlay_style(self, style: OverlayStyle) -> None:
        """Set the mask controls (one overlay_changed after)."""
        for widget in (self.masks, self.outlines, self.opacity):
            widget.blockSignals(True)
        self.masks.setChecked(style.visible)
        self.outlines.setChecked(style.outlines)
        self.opacity.setValue(round(style.opacity * 100))
        for widget in (self.masks, self.outlines, self.opacity):
            widget.blockSignals(False)
        self._on_overlay()

    def show_mask_controls(self, visible: bool) -> None:
        """Masks, outlines and opacity: only for datasets that have masks."""
        self.mask_row.setVisible(visible)

    def _on_overlay(self, _value=None) -> None:
        enabled = self.masks.isChecked()
        self.outlines.setEnabled(enabled)
        self.opacity.setEnabled(enabled)
        self.overlay_changed.emit(self.overlay_style)

    def set_counts(self, shown: int, total: int) -> None:
        self.count.setText(f"{shown:,} of {total:,}")

    def set_searching(self) -> None:
        """The search waits for the ids' index: the count says so until the grid answers."""
        self.count.setText("Indexing ids…")

    def set_failed(self, failed: int) -> None:
        self.failed.setVisible(failed > 0)
        self.failed.setText(f"⚠ {failed:,} unreadable")
