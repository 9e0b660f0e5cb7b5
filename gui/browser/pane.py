"""The dataset browser: filters on top, a virtualized thumbnail grid, the selected sample beside it.

The grid shows AppState's selection (in its order when it is ordered) narrowed by the class
filter, the marks filter, the tag filters, "Wrong only" and the id search;
:meth:`BrowserPane.visible_indices` returns exactly those dataset indices. Clicking or arrowing
to a tile calls ``state.select_sample``; Shift/Ctrl-click extend the selection
(:meth:`selected_indices`). For segmentation the "tags" are the classes in each mask (see
:class:`MaskClassIndex`). An edit repaints its tiles but does not re-filter: the grid stays put
under the keyboard while the user labels, and the next change of a filter applies the new labels.

With a segmentation run in the state, the sample view reads its predicted masks (:class:`RunSource`),
the tiles can show the prediction or the wrong pixels, and the run bar orders the grid worst first.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from core.evaluation.filtering import Filters, visible_rows
from core.evaluation.selection import IdSearch, step_in
from core.labels.marks import LabelMarks
from core.masks.overlays import OverlayStyle
from gui.browser.box_bar import BoxBar
from gui.browser.box_outcomes import BoxOutcomes
from gui.browser.class_chart import ClassChartWidget
from gui.browser.filter_bar import FilterBar
from gui.browser.grid_model import SampleGridModel
from gui.browser.id_index import IdIndex
from gui.browser.mask_panel import PredictionSource
from gui.browser.mask_scan import MaskClassIndex
from gui.browser.object_grid import ObjectGrid
from gui.browser.pane_events import PaneEvents
from gui.browser.run_bar import RunBar
from gui.browser.sample_view import SampleView
from gui.browser.tag_filter import TagFilter
from gui.browser.thumbnails import ThumbnailLoader
from gui.browser.tile_delegate import make_grid_view
from gui.state import AppState
from gui.throttle import debounced, throttled


class BrowserPane(PaneEvents, QWidget):
    failed_count_changed = Signal(int)  # samples known to be unreadable
    visible_changed = Signal()  # the samples shown in the grid changed
    #: A right-click on the grid: (global position, dataset indices of the selected tiles).
    context_menu_requested = Signal(QPoint, object)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.ids = IdIndex(self)  # the sample ids' search index, built on a worker when a dataset opens
        self._failed = 0
        self._run = None  # the segmentation run shown (SegmentationPredictions), None without one
        self._run_source = False  # the sample view's prediction source reads that run
        self._run_complete = False
        self._sorted = None  # the worst-first Selection this pane made, while it is the state's

        self.loader = ThumbnailLoader(self)
        self.model = SampleGridModel(self.loader, self)
        self.filters = FilterBar(self)
        self.run_bar = RunBar(self)
        self.filters.mask_row.layout().addWidget(self.run_bar)  # after the mask controls
        self.run_bar.hide()
        self.tag_filter = TagFilter(self)
        self.mask_classes = MaskClassIndex(self)
        self.view = make_grid_view(self.model, self)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_context_menu)
        # A scroll makes the queued decodes stale; the tiles now on screen ask again as they paint.
        self.view.verticalScrollBar().valueChanged.connect(lambda _: self.loader.drop_pending())
        self.sample_view = SampleView(self)
        self.chart = ClassChartWidget(self)
        self.box_bar = BoxBar(self)  # the object tasks: score threshold, legend, masks, object grid
        self.object_grid = ObjectGrid(self)
        self.box_outcomes = BoxOutcomes(self)  # right / wrong per image of a detection run
        self._lay_out()

        # A run emits predictions per batch: "Wrong only" re-filters at most this often.
        self._refilter_soon = throttled(self.refilter, timeout=300, leading=False)
        # The failed count changes per batch: the status bar tells it once it settles.
        self._report_failed_soon = debounced(self._report_failed, timeout=300)
        # A detection run emits per batch, the slider per step: right / wrong per image is redone at most this often.
        self._rescore_boxes_soon = throttled(self._rescore_boxes, timeout=500, leading=False)
        # A burst of edits (labeling at a few samples per second) recounts the classes once.
        self._recount_soon = debounced(self._recount, timeout=150)

        self.filters.filters_changed.connect(self.refilter)
        self.ids.ready.connect(self._on_ids_ready)
        self.filters.overlay_changed.connect(self._on_overlay)
        self.run_bar.show_changed.connect(self.loader.set_show)
        self.run_bar.order_changed.connect(self._on_order)
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
        state.project_changed.connect(self._on_project)
        state.labels_changed.connect(self._on_labels_changed)
        state.run_status_changed.connect(
            lambda status: self.sample_view.saliency.remember_card(getattr(status, "card", None))
        )
        # G switches the sample view's saliency maps while the focus is anywhere in the browser (the grid too)
        self.addAction(self.sample_view.saliency.action)
        state.label_quality_changed.connect(self.sample_view.suspect.set_quality)
        state.score_threshold_changed.connect(self._on_score_threshold)
        self.box_bar.score_changed.connect(state.set_score_threshold)
        self.box_bar.mask_mode_changed.connect(self.sample_view.set_mask_mode)
        self.box_bar.objects_toggled.connect(self.show_objects)
        self.object_grid.object_opened.connect(self.open_object)
        self.box_outcomes.ready.connect(self._on_box_outcomes)
        self._on_score_threshold(state.score_threshold)
        self._on_dataset(state.dataset)
        self._on_project(state.project)
        self._on_predictions(state.predictions)
        self._on_selection(state.selection)

    def _lay_out(self) -> None:
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.sample_view, "Sample")
        self.tabs.addTab(self.chart, "Classes")
        self.tabs.setTabToolTip(0, "The selected sample, large, with the model's top-5 classes")
        self.tabs.setTabToolTip(1, "Samples per class; click a bar to filter the grid")
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.grids = QStackedWidget(self)  # whole images, or a crop per object (the object tasks)
        self.grids.addWidget(self.view)
        self.grids.addWidget(self.object_grid)
        splitter.addWidget(self.grids)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([620, 380])  # room for the sample and its labeling panel
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filters)
        layout.addWidget(self.tag_filter)
        layout.addWidget(self.box_bar)
        self.bars = QVBoxLayout()  # bars other tools add above the grid (review mode)
        self.bars.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.bars)
        layout.addWidget(splitter, 1)

    # -- public ---------------------------------------------------------------------
    def visible_indices(self) -> np.ndarray:
        """The dataset indices shown in the grid, in grid order."""
        return self.model.rows.copy()

    def selected_indices(self) -> np.ndarray:
        """The dataset indices of the selected tiles in grid order; the current sample when none is selected."""
        # From the selection's ranges, not one QModelIndex per tile: Ctrl+A over a million tiles stays fast.
        ranges = [np.arange(r.top(), r.bottom() + 1) for r in self.view.selectionModel().selection()]
        if ranges:
            return self.model.rows[np.unique(np.concatenate(ranges))]
        current = self.state.current
        return np.asarray([] if current is None else [current], dtype=np.int64)

    def step(self, step: int = 1) -> int | None:
        """Go ``step`` samples on in the grid's order from the current one; the sample gone to, or None at the end."""
        found = step_in(self.model.rows, self.state.current, step)
        if found is not None:
            self.state.select_sample(found)
        return found

    def add_bar(self, widget: QWidget) -> None:
        """Put a bar above the grid (the review mode's)."""
        self.bars.addWidget(widget)

    @property
    def label_marks(self) -> LabelMarks | None:
        return self.model.label_marks

    def set_mark_filter(self, mark: str | None) -> None:
        """Show only samples with a mark (``core.evaluation.selection.MARK_FILTERS``); None: all."""
        self.filters.choose_mark(mark)

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
        """Predicted masks for the sample view: ``source(index) -> (mask, confidence or None) | None``
        (a segmentation run in the state sets its own; this replaces it until the next run)."""
        self._run_source = False
        self.sample_view.set_prediction_source(source)

    def set_tiles_show(self, show: str) -> None:
        """Segmentation tiles with a run: "truth", "prediction" or "errors" (``tile_layers.TILE_SHOWS``)."""
        self.run_bar.choose_show(show)

    def sort_worst_first(self, metric: str | None) -> None:
        """Order the grid by a per-image score of the run, worst first ("mean IoU", "mean Dice",
        "pixel accuracy"), as an ordered selection; None: back to the dataset's order."""
        self.run_bar.choose_order(metric)

    def set_search(self, text: str) -> None:
        self.filters.search.setText(text)
        self.refilter()

    def masks_changed(self, indices) -> None:
        """The true masks of these samples changed (a save, an undo): their tiles and classes are read again."""
        self.loader.forget(indices)
        self.mask_classes.forget(indices)

    def show_objects(self, on: bool = True) -> None:
        """The object grid (a crop per object) in place of the thumbnails, or back (object tasks only)."""
        on = on and self.state.dataset is not None and self.state.dataset.has_boxes
        if self.box_bar.objects.isChecked() != on:
            self.box_bar.objects.setChecked(on)  # comes back here through objects_toggled
            return
        self.grids.setCurrentWidget(self.object_grid if on else self.view)
        self.object_grid.set_active(on)

    def open_object(self, sample: int, source: int, object_index: int) -> None:
        """Show sample ``sample`` in the sample view with one of its objects (ObjectRefs' terms) highlighted."""
        self.sample_view.set_highlight(sample, source, object_index)
        self.state.select_sample(sample)

    def set_score_threshold(self, threshold: float) -> None:
        """Hide detections scoring below ``threshold`` everywhere (as the slider does)."""
        self.state.set_score_threshold(threshold)

    def failed_count(self) -> int:
        return self._failed

    def shutdown(self) -> None:
        """Wait for the decode threads (before the pane goes away)."""
        self.loader.shutdown()
        self.ids.shutdown()
        self.object_grid.shutdown()
        self.box_outcomes.shutdown()
        self.sample_view.shutdown()
        self.mask_classes.shutdown()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def _on_ids_ready(self) -> None:
        if self.filters.search_text:  # a query typed while the index was built: answer it now
            self.refilter()

    def _nothing_matches(self, dataset, filters: Filters) -> str:
        """Why the grid is empty, in the words of the filters that emptied it."""
        parts = []
        if self.state.selection is not None:
            parts.append(f"the selection “{self.state.selection.name}”")
        if filters.class_index is not None:
            name = self.filters.class_combo.currentText().rsplit(" (", 1)[0]
            parts.append(f"the class filter “{name}”")
        if filters.mark:
            parts.append(f"the marks filter “{self.filters.mark_combo.currentText()}”")
        if filters.wrong_only:
            parts.append("“Wrong only”")
        if filters.has or filters.lacks:
            parts.append("the tag filter")
        if filters.search:
            parts.append(f"the search “{filters.search}”")
        if not parts:
            return "This split has no samples." if not len(dataset) else ""
        return f"No sample matches {', '.join(parts[:-1]) + ' and ' if len(parts) > 1 else ''}{parts[-1]}."

    def refilter(self) -> None:
        dataset = self.state.dataset
        if dataset is None:
            self.model.set_rows(np.zeros(0, dtype=np.int64))
            self.filters.set_counts(0, 0)
            return
        search = self.filters.search_text
        if search and self.ids.search is None:
            if self.ids.building:  # the grid stays as it is until the index lands (_on_ids_ready)
                self.filters.set_searching()
                return
            self.ids.search = IdSearch(dataset.sample_ids)  # the worker failed: correct, if slow
        filters = Filters(
            self.filters.class_index,
            self.filters.wrong_only.isChecked(),
            tuple(self.tag_filter.has),
            tuple(self.tag_filter.lacks),
            search,
            self.filters.mark,
        )
        model = self.model
        shown = {"tags": model.tags, "outcome": model.outcome, "ids": self.ids.search, "marks": model.label_marks}
        rows = visible_rows(dataset, self.state.selection, filters, **shown)
        class_index = filters.class_index
        self.chart.set_active(class_index if class_index is not None and class_index >= 0 else None)
        before = self.model.rows
        self.model.set_rows(rows)
        self.filters.set_counts(len(rows), len(dataset))
        self.view.set_empty_text("" if len(rows) else self._nothing_matches(dataset, filters))
        if not np.array_equal(before, rows):
            self._restore_current()
            self.visible_changed.emit()
