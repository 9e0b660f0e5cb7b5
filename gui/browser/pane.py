"""The dataset browser: filters on top, a virtualized thumbnail grid, the selected sample beside it.

The grid shows AppState's selection (in its order when it is ordered) narrowed by the class
filter, the tag filters, "Wrong only" and the id search; :meth:`BrowserPane.visible_indices`
returns exactly those dataset indices. Clicking or arrowing to a tile calls ``state.select_sample``.
For segmentation the "tags" are the classes in each mask (see :class:`MaskClassIndex`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

from core.datasets import Dataset
from core.inference import Predictions
from core.overlays import OverlayStyle, background_classes
from core.selection import Selection, counts_by_class, matching_ids, narrow, shown_indices, with_tags
from gui.browser.class_chart import ClassChartWidget
from gui.browser.filter_bar import FilterBar
from gui.browser.grid_model import IndexRole, SampleGridModel
from gui.browser.mask_panel import PredictionSource
from gui.browser.mask_scan import MaskClassIndex
from gui.browser.sample_view import SampleView
from gui.browser.tag_filter import TagFilter
from gui.browser.thumbnails import ThumbnailLoader
from gui.browser.tile_delegate import make_grid_view
from gui.state import AppState


class BrowserPane(QWidget):
    failed_count_changed = Signal(int)  # samples known to be unreadable
    visible_changed = Signal()  # the samples shown in the grid changed

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._ids: np.ndarray | None = None  # sample ids as an array, built on the first search
        self._failed = 0

        self.loader = ThumbnailLoader(self)
        self.model = SampleGridModel(self.loader, self)
        self.filters = FilterBar(self)
        self.tag_filter = TagFilter(self)
        self.mask_classes = MaskClassIndex(self)
        self.view = make_grid_view(self.model, self)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        # A scroll makes the queued decodes stale; the tiles now on screen ask again as they paint.
        self.view.verticalScrollBar().valueChanged.connect(lambda _: self.loader.drop_pending())
        self.sample_view = SampleView(self)
        self.chart = ClassChartWidget(self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.sample_view, "Sample")
        self.tabs.addTab(self.chart, "Classes")
        self.tabs.setTabToolTip(0, "The selected sample, large, with the model's top-5 classes")
        self.tabs.setTabToolTip(1, "Samples per class; click a bar to filter the grid")
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.view)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([700, 320])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filters)
        layout.addWidget(self.tag_filter)
        layout.addWidget(splitter, 1)

        # A run emits predictions per batch: "Wrong only" re-filters at most this often.
        self._refilter_timer = QTimer(self, singleShot=True, interval=300)
        self._refilter_timer.timeout.connect(self.refilter)
        self._message_timer = QTimer(self, singleShot=True, interval=300)
        self._message_timer.timeout.connect(self._report_failed)

        self.filters.filters_changed.connect(self.refilter)
        self.filters.overlay_changed.connect(self._on_overlay)
        self.tag_filter.changed.connect(self.refilter)
        self.loader.classes_found.connect(self.mask_classes.record)
        self.mask_classes.changed.connect(self._on_mask_classes)
        self.filters.clear_selection_requested.connect(lambda: self.state.set_selection(None))
        self.chart.class_clicked.connect(self._on_bar_clicked)
        self.loader.failed.connect(lambda _index, _message: self._update_failed())
        state.dataset_changed.connect(self._on_dataset)
        state.predictions_changed.connect(self._on_predictions)
        state.selection_changed.connect(self._on_selection)
        state.sample_selected.connect(self._on_sample_selected)
        state.threshold_changed.connect(self._on_threshold)
        self._on_dataset(state.dataset)
        self._on_predictions(state.predictions)
        self._on_selection(state.selection)

    # -- public ---------------------------------------------------------------------
    def visible_indices(self) -> np.ndarray:
        """The dataset indices shown in the grid, in grid order."""
        return self.model.rows.copy()

    def set_class_filter(self, class_index: int | None) -> None:
        """Show one class (None: all; -1: the unlabeled samples)."""
        self.filters.choose_class(class_index)

    def set_wrong_only(self, on: bool) -> None:
        self.filters.wrong_only.setChecked(on)

    def set_tag_filter(self, has: list[int] = (), lacks: list[int] = ()) -> None:
        """Keep only samples with every tag in ``has`` and none in ``lacks`` (by tag index)."""
        self.tag_filter.set_filters(has, lacks)

    def set_overlay_style(self, style: OverlayStyle) -> None:
        """Masks on or off, opacity, outlines: as the toolbar's controls set them."""
        self.filters.set_overlay_style(style)

    def set_prediction_source(self, source: PredictionSource | None) -> None:
        """Predicted masks for the sample view: ``source(index) -> (mask, confidence or None) | None``."""
        self.sample_view.set_prediction_source(source)

    def set_search(self, text: str) -> None:
        self.filters.search.setText(text)
        self.refilter()

    def failed_count(self) -> int:
        return self._failed

    def shutdown(self) -> None:
        """Wait for the decode threads (before the pane goes away)."""
        self.loader.shutdown()
        self.sample_view.shutdown()
        self.mask_classes.shutdown()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def refilter(self) -> None:
        dataset = self.state.dataset
        if dataset is None:
            self.model.set_rows(np.zeros(0, dtype=np.int64))
            self.filters.set_counts(0, 0)
            return
        base = shown_indices(len(dataset), self.state.selection)
        class_index = self.filters.class_index
        tags = self.model.tags
        rows = narrow(
            base,
            targets=dataset.targets,
            tags=tags,
            class_index=class_index,
            outcome=self.model.outcome,
            wrong_only=self.filters.wrong_only.isChecked(),
        )
        if tags is not None and (self.tag_filter.has or self.tag_filter.lacks):
            rows = with_tags(rows, tags, self.tag_filter.has, self.tag_filter.lacks)
        if self.filters.search_text:
            if self._ids is None:
                self._ids = np.asarray(dataset.sample_ids, dtype=str)
            rows = matching_ids(self._ids, rows, self.filters.search_text)
        self.chart.set_active(class_index if class_index is not None and class_index >= 0 else None)
        before = self.model.rows
        self.model.set_rows(rows)
        self.filters.set_counts(len(rows), len(dataset))
        if not np.array_equal(before, rows):
            self._restore_current()
            self.visible_changed.emit()

    # -- state changes --------------------------------------------------------------
    def _on_dataset(self, dataset: Dataset | None) -> None:
        self._ids = None
        self.model.set_dataset(dataset)
        self.mask_classes.set_dataset(dataset)
        segmentation = dataset is not None and dataset.task == "segmentation"
        if segmentation:
            self.model.set_class_tags(self.mask_classes.tags, background_classes(dataset.classes))
        self.sample_view.set_dataset(dataset)
        self.sample_view.set_style(self.filters.overlay_style)
        self.filters.reset()
        self.filters.set_predictions_available(False)
        self.filters.show_mask_controls(segmentation)
        self.tag_filter.setVisible(dataset is not None and dataset.tags is not None)
        tag_counts = dataset.class_counts() if dataset is not None and dataset.tags is not None else None
        self.tag_filter.set_tags(dataset.classes if dataset is not None else [], tag_counts)
        self._set_class_counts()
        self.chart.show_counts(dataset, self.mask_classes)
        self.refilter()
        self._update_failed()

    def _on_mask_classes(self) -> None:
        """More masks were read: tiles, chart and (once all are read) the class filter's counts follow."""
        self.model.set_class_tags(self.mask_classes.tags, background_classes(self.state.dataset.classes))
        self.chart.show_counts(self.state.dataset, self.mask_classes)
        if self.mask_classes.complete:  # not before: refilling the combo closes its popup under the user
            self._set_class_counts()
        if self.filters.class_index is not None:
            self.refilter()
        self._update_failed()

    def _on_overlay(self, style: OverlayStyle) -> None:
        self.loader.set_style(style)
        self.sample_view.set_style(style)

    def _on_threshold(self, threshold) -> None:
        self.model.set_threshold(threshold)
        self.sample_view.set_threshold(threshold)
        if self.filters.wrong_only.isChecked():
            self.refilter()

    def _on_predictions(self, predictions: Predictions | None) -> None:
        self.model.set_predictions(predictions)
        self.sample_view.set_predictions(predictions)
        self.filters.set_predictions_available(self.model.outcome is not None)
        if self.filters.wrong_only.isChecked() and not self._refilter_timer.isActive():
            self._refilter_timer.start()
        self._update_failed()

    def _on_selection(self, selection: Selection | None) -> None:
        self.filters.set_selection(selection)
        self._set_class_counts()
        self.refilter()

    def _set_class_counts(self) -> None:
        dataset = self.state.dataset
        if dataset is None:
            self.filters.set_classes([], np.zeros(0), 0, 0)
            return
        base = shown_indices(len(dataset), self.state.selection)
        counts = counts_by_class(base, len(dataset.classes), targets=dataset.targets, tags=self.model.tags)
        unlabeled = 0
        if dataset.tags is None and dataset.targets is not None and dataset.classes:
            unlabeled = int(np.count_nonzero(dataset.targets[base] < 0))
        self.filters.set_classes(dataset.classes, counts, len(base), unlabeled)

    def _on_bar_clicked(self, class_index: int) -> None:
        # A second click on the bar already filtered to shows every class again.
        self.set_class_filter(None if self.filters.class_index == class_index else class_index)

    def _on_sample_selected(self, index: int) -> None:
        self.sample_view.show_sample(index)
        self.tabs.setCurrentWidget(self.sample_view)
        self._restore_current()

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            index = current.data(IndexRole)
            if index != self.state.current:
                self.state.select_sample(index)

    def _restore_current(self) -> None:
        """Keep the selected sample highlighted (and in view) across filter changes."""
        current = self.state.current
        row = self.model.row_of(current) if current is not None else -1
        if row < 0:
            return
        model_index = self.model.index(row)
        if self.view.currentIndex() != model_index:
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
            self.view.selectionModel().setCurrentIndex(model_index, flags)
        self.view.scrollTo(model_index)

    def _update_failed(self) -> None:
        failed = len(self.model.failed_indices() | set(self.mask_classes.errors))
        if failed != self._failed:
            self._failed = failed
            self.filters.set_failed(failed)
            self.failed_count_changed.emit(failed)
            self._message_timer.start()

    def _report_failed(self) -> None:
        if self._failed:
            plural = "sample" if self._failed == 1 else "samples"
            self.state.message.emit(f"{self._failed:,} {plural} could not be read (their tiles say why)")
