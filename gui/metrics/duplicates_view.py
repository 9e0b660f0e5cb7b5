"""The Analysis tab's "Duplicates" view: exact and near duplicate pairs, side by side, and the leaks among them.

One list item per pair (exact copies first, then the closest), painted by
:class:`gui.metrics.duplicate_pairs.PairDelegate`: both thumbnails large enough to compare, each side's id,
split and label, the distance and a badge ("exact", "near", "LEAK across splits"), and "Exclude A" /
"Exclude B" for the samples of the open split. No widget per pair: 10,000 pairs scroll like ten.
A slider moves the near-duplicate threshold (cosine distance, on a log scale around the value calibrated on
the data) and the pairs are found again from the neighbours the analysis kept, without a new search.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QListView, QPushButton, QSlider, QVBoxLayout, QWidget

from core.analysis.rows import AnalysisRows
from core.evaluation.selection import Selection
from gui.metrics.analysis_model import AnalysisModel
from gui.metrics.analysis_samples import RowThumbnails, excluded_marks, label_of, set_excluded
from gui.metrics.duplicate_pairs import LEAK_COLOUR, THUMB, PairDelegate, PairsModel, pairs_text

#: The slider's steps; its middle is the calibrated threshold, each end RANGE times further.
SLIDER_STEPS, RANGE = 200, 30.0
#: Cosine distance is at most 2: past it every pair of neighbours would count.
MAX_DISTANCE = 2.0
DEBOUNCE_MS = 150


def slider_distance(value: int, calibrated: float) -> float:
    """The threshold at slider ``value``: the calibrated one in the middle, RANGE times less or more at the ends."""
    exponent = (value - SLIDER_STEPS / 2) / (SLIDER_STEPS / 2)
    return min(MAX_DISTANCE, calibrated * RANGE**exponent)


def distance_slider(distance: float, calibrated: float) -> int:
    """The slider value nearest to ``distance`` (the inverse of :func:`slider_distance`)."""
    exponent = np.log(max(distance, 1e-12) / calibrated) / np.log(RANGE)
    return int(np.clip(round(SLIDER_STEPS / 2 * (1 + exponent)), 0, SLIDER_STEPS))


class DuplicatesView(QWidget):
    """Duplicate pairs and leaks of the analysis, a threshold slider, exclusion and "Show in browser"."""

    def __init__(self, model: AnalysisModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model, self.state = model, model.state
        self.rows: AnalysisRows | None = None
        self._excluded: np.ndarray | None = None
        self.thumbnails = RowThumbnails(THUMB, self)
        self.pairs = PairsModel(self)
        self.list = QListView()
        self.list.setModel(self.pairs)
        self.delegate = PairDelegate(self)
        self.list.setItemDelegate(self.delegate)
        self.list.setUniformItemSizes(True)
        self.list.setVerticalScrollMode(QListView.ScrollPerPixel)
        self.list.verticalScrollBar().setSingleStep(24)
        self.list.verticalScrollBar().valueChanged.connect(lambda _v: self.thumbnails.drop_pending())
        self.thumbnails.ready.connect(lambda _row: self.list.viewport().update())
        self.delegate.side_clicked.connect(self.open_side)
        self.delegate.exclude_clicked.connect(self.toggle_excluded)
        self._build_controls()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._controls)
        layout.addLayout(self._summary_row)
        layout.addWidget(self.list, 1)
        model.reset.connect(self.clear)
        model.found.connect(self._on_found)
        model.duplicates_changed.connect(self._show_pairs)
        model.cancelled.connect(self._on_stopped)
        model.failed.connect(lambda _text: self._on_stopped())
        self.state.labels_changed.connect(self._on_labels_changed)
        self.state.project_changed.connect(lambda _p: self._on_labels_changed(None))
        self.clear()

    def _build_controls(self) -> None:
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setValue(SLIDER_STEPS // 2)
        self.slider.setMinimumWidth(120)
        self.slider.setToolTip(
            "Near duplicates: pairs whose embeddings lie closer than this cosine distance.\n"
            "The middle is calibrated on the data (0.13 x the median distance to the nearest neighbour)."
        )
        self.slider.valueChanged.connect(self._on_slider)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self._apply_threshold)
        self.threshold_label = QLabel()
        self.threshold_label.setMinimumWidth(
            QLabel().fontMetrics().horizontalAdvance("≤ 0.00000 (calibrated) · 10,000 pairs")
        )
        self.reset_button = QPushButton("Reset to calibrated")
        self.reset_button.clicked.connect(self.reset_threshold)
        self.leaks_only = QCheckBox("Leaks only")
        self.leaks_only.setToolTip("Only the pairs whose two samples lie in different splits")
        self.leaks_only.toggled.connect(self._on_leaks_only)
        self.show_button = QPushButton("Show in browser")
        self.show_button.setToolTip("Select every sample of the shown pairs in the browser, pair by pair")
        self.show_button.clicked.connect(self.show_in_browser)
        self.summary = QLabel(wordWrap=True)
        self._controls = QHBoxLayout()
        self._controls.addWidget(QLabel("Near if closer than"))
        self._controls.addWidget(self.slider, 1)
        self._controls.addWidget(self.threshold_label)
        self._controls.addWidget(self.reset_button)
        self._summary_row = QHBoxLayout()
        self._summary_row.addWidget(self.summary, 1)
        self._summary_row.addWidget(self.leaks_only)
        self._summary_row.addWidget(self.show_button)

    # -- the analysis' news ---------------------------------------------------------------------------
    def clear(self) -> None:
        """A new analysis started (or none is shown): no pairs until its duplicates are found."""
        self._debounce.stop()
        self.rows = None
        self.thumbnails.set_rows(None)
        self.pairs.set_pairs(None, None)
        for widget in (self.slider, self.reset_button, self.leaks_only, self.show_button):
            widget.setEnabled(False)
        self.threshold_label.setText("")
        running = self.model.running
        self.summary.setText("Finding duplicates…" if running else "Analyse to find duplicates and leaks.")

    def _on_stopped(self) -> None:
        if self.pairs.pairs is None:
            self.summary.setText("Analyse to find duplicates and leaks.")

    def _on_found(self, stage: str) -> None:
        analysis = self.model.analysis
        if stage != "duplicates" or analysis is None or analysis.duplicates is None:
            return
        self.rows = self.model.rows
        self.thumbnails.set_rows(self.rows)
        self._on_labels_changed(None)
        for widget in (self.slider, self.reset_button, self.leaks_only, self.show_button):
            widget.setEnabled(True)
        self._set_slider(analysis.max_distance)
        self._show_pairs()

    def _show_pairs(self) -> None:
        analysis = self.model.analysis
        if analysis is None or analysis.duplicates is None or self.rows is None:
            return
        self.pairs.set_pairs(analysis.duplicates, self.rows)
        self._show_threshold(analysis.max_distance)
        self.summary.setText(self._summary_text())

    def _summary_text(self) -> str:
        pairs = self.pairs.pairs
        exact, leaks = int(pairs.exact.sum()), int(pairs.leak.sum())
        if not len(pairs):
            return "No duplicates at this threshold: move the slider right to find pairs further apart."
        text = f"<b>{pairs_text(len(pairs))}</b>: {exact:,} exact, {len(pairs) - exact:,} near"
        text += (
            f", <b style='color:{LEAK_COLOUR.name()}'>{leaks:,} {'leak' if leaks == 1 else 'leaks'} across splits</b>"
            if leaks
            else ", no leaks"
        )
        splits = sorted(set(self.rows.input.splits.tolist()))
        if len(splits) < 2:
            text += f" (the analysis covers one split: {splits[0] or 'the dataset'})"
        if self.leaks_only.isChecked():
            text += f" · {len(self.pairs.shown):,} shown"
        return text

    def _on_labels_changed(self, _indices) -> None:
        self._excluded = excluded_marks(self.state)
        self.list.viewport().update()

    # -- the threshold -----------------------------------------------------------------------------------
    def _set_slider(self, distance: float) -> None:
        calibrated = self.model.analysis.calibrated_distance
        self.slider.blockSignals(True)
        self.slider.setValue(distance_slider(distance, calibrated))
        self.slider.blockSignals(False)
        self._show_threshold(distance)

    def _show_threshold(self, distance: float, pending: bool = False) -> None:
        analysis = self.model.analysis
        calibrated = analysis is not None and np.isclose(distance, analysis.calibrated_distance)
        text = f"≤ {distance:.4g}" + (" (calibrated)" if calibrated else "")
        count = len(self.pairs.pairs) if self.pairs.pairs is not None else 0
        self.threshold_label.setText(f"{text} · {'… pairs' if pending else pairs_text(count)}")

    def _on_slider(self, value: int) -> None:
        analysis = self.model.analysis
        if analysis is None or analysis.calibrated_distance is None:
            return
        self._show_threshold(slider_distance(value, analysis.calibrated_distance), pending=True)
        self._debounce.start()  # the pairs are found again once the user stops dragging

    def _apply_threshold(self) -> None:
        analysis = self.model.analysis
        if analysis is not None and analysis.calibrated_distance is not None:
            self.model.set_max_distance(slider_distance(self.slider.value(), analysis.calibrated_distance))

    def reset_threshold(self) -> None:
        analysis = self.model.analysis
        if analysis is None or analysis.calibrated_distance is None:
            return
        self._debounce.stop()
        self._set_slider(analysis.calibrated_distance)
        self.model.set_max_distance(analysis.calibrated_distance)

    def _on_leaks_only(self, on: bool) -> None:
        self.pairs.set_leaks_only(on)
        if self.pairs.pairs is not None:
            self.summary.setText(self._summary_text())

    # -- what the user does with a pair -----------------------------------------------------------------
    def is_excluded(self, row: int) -> bool:
        index = self.rows.open_index(row) if self.rows is not None else -1
        return index >= 0 and self._excluded is not None and bool(self._excluded[index])

    def label(self, row: int) -> str:
        return label_of(self.state, self.rows, row)

    def exclude_tip(self, row: int) -> str:
        name = self.rows.sample_id(row)
        if not self.rows.is_open(row):
            return f"{name} is in the {self.rows.split(row)} split: open that split to exclude it"
        if not self.can_exclude(row):
            return "The project store is read-only: samples cannot be excluded"
        if self.is_excluded(row):
            return f"Count {name} in metrics and exports again (undo: Ctrl+Z)"
        return f"Leave {name} out of metrics and exports (undo: Ctrl+Z)"

    def can_exclude(self, row: int) -> bool:
        project = self.state.project
        return self.rows is not None and self.rows.is_open(row) and project is not None and not project.read_only

    def open_side(self, list_row: int, side: int) -> None:
        """Show that side's sample in the browser's sample view (only samples of the open split can be)."""
        row = self.pairs.sides(list_row)[side]
        index = self.rows.open_index(row)
        if index < 0:
            split = self.rows.split(row)
            self.state.message.emit(f"{self.rows.sample_id(row)} is in the {split} split: open it to see the sample")
            return
        self.state.select_sample(index)

    def toggle_excluded(self, list_row: int, side: int) -> bool:
        """Exclude that side's sample (or take the mark back): one undo step."""
        row = self.pairs.sides(list_row)[side]
        if not self.can_exclude(row):
            self.state.message.emit(f"{self.rows.sample_id(row)} is not in the open split: it cannot be excluded here")
            return False
        excluded = not self.is_excluded(row)
        what = f"{'exclude' if excluded else 'include again'} duplicate {self.rows.sample_id(row)}"
        return set_excluded(self.state, [self.rows.open_index(row)], excluded, what)

    def show_in_browser(self) -> None:
        """Select every sample of the shown pairs in the browser, in the list's order."""
        if self.rows is None:
            return
        indices = self.rows.open_indices(self.pairs.members())
        name = "leaks" if self.leaks_only.isChecked() else "duplicates"
        self.state.set_selection(Selection.of(f"{name} ({len(self.pairs.shown):,} pairs)", indices, ordered=True))

    def shutdown(self) -> None:
        self._debounce.stop()
        self.thumbnails.shutdown()
