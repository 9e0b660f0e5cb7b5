"""What the browser does when the shared state changes: the handlers of :class:`BrowserPane`.

A mixin so the pane's module keeps its construction and public API; every method here reads
and sets the pane's widgets (``self.model``, ``self.filters``, ``self.sample_view`` ...).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint

from core.datasets import Dataset
from core.evaluation.filtering import class_counts
from core.evaluation.selection import Selection
from core.inference import Predictions
from core.labels.marks import LabelMarks
from core.masks.overlays import OverlayStyle, background_classes
from core.tasks.outcomes import segmentation_run
from gui.browser.boxes import detection_run
from gui.browser.grid_model import IndexRole
from gui.browser.seg_run import RunSource, worst_first_selection
from gui.browser.tile_layers import TRUTH
from gui.decoding import per_pixel


class PaneEvents:
    # -- state changes --------------------------------------------------------------
    def _on_dataset(self, dataset: Dataset | None) -> None:
        self.ids.set_dataset(dataset)
        self.box_outcomes.forget()
        self.model.set_dataset(dataset)
        self.mask_classes.set_dataset(dataset)
        segmentation = dataset is not None and per_pixel(dataset)
        if segmentation:
            self.model.set_class_tags(self.mask_classes.tags, background_classes(dataset.classes))
        self.sample_view.set_dataset(dataset)
        self.sample_view.set_style(self.filters.overlay_style)
        boxes = dataset is not None and dataset.has_boxes
        self.box_bar.setVisible(boxes)
        self.box_bar.show_masks(boxes and dataset.task == "instance_segmentation")
        self.object_grid.set_dataset(dataset if boxes else None)
        if not boxes:
            self.show_objects(False)
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

    def _on_score_threshold(self, threshold: float) -> None:
        self.box_bar.set_score(threshold)
        self.model.set_score_threshold(threshold)
        self.sample_view.set_score_threshold(threshold)
        self.object_grid.set_score_threshold(threshold)
        if self.model.run is not None:
            self._rescore_boxes_soon()

    def _rescore_boxes(self) -> None:
        """Right / wrong per image of the detection run at the current threshold (on the worker)."""
        self.box_outcomes.compute(self.state.dataset, self.model.run, self.state.score_threshold)

    def _on_box_outcomes(self, outcome) -> None:
        dataset = self.state.dataset
        if dataset is None or not dataset.has_boxes or (outcome is not None and len(outcome) != len(dataset)):
            return  # an answer about a box dataset no longer open
        self.model.set_box_outcomes(outcome)
        self.filters.set_predictions_available(self.model.outcome is not None)
        if self.filters.wrong_only.isChecked():
            self.refilter()

    def _on_predictions(self, predictions: Predictions | None) -> None:
        self.model.set_predictions(predictions)
        self.object_grid.set_run(detection_run(self.state.dataset, predictions))
        if self.model.run is not None:
            self._rescore_boxes_soon()
        elif self.state.dataset is not None and self.state.dataset.has_boxes:
            self.box_outcomes.compute(None, None, 0.0)  # no run: nothing is right or wrong
        run = segmentation_run(self.state.dataset, predictions)
        if run is not self._run:
            self._follow_run(run, predictions)
        else:
            self.sample_view.set_predictions(predictions)
            if run is not None:
                self._run_progressed(run)
        self.filters.set_predictions_available(self.model.outcome is not None)
        if self.filters.wrong_only.isChecked():
            self._refilter_soon()
        self._update_failed()

    # -- a segmentation run ----------------------------------------------------------
    def _follow_run(self, run, predictions: Predictions | None) -> None:
        """Another run (or none): masks for the sample view and the tiles, the run bar, the order."""
        self._run, self._run_complete = run, run is not None and run.complete
        source = RunSource(run) if run is not None else None
        self.loader.set_predicted_reader(source.thumbnail_mask if source is not None else None)
        if run is None:
            self.run_bar.reset()
            self.loader.set_show(TRUTH)
        self.run_bar.setVisible(run is not None)
        if run is not None or self._run_source:
            self._run_source = run is not None
            self.sample_view.set_run(predictions, source)
        else:
            self.sample_view.set_predictions(predictions)
        if run is not None and self.run_bar.order is not None:
            self._on_order(self.run_bar.order)

    def _run_progressed(self, run) -> None:
        """The run predicted another batch: tiles waiting for it repaint; the order is redone once it completes."""
        if self.loader.predictions_updated():
            self.view.viewport().update()
        if run.complete and not self._run_complete:
            self._run_complete = True
            if self.run_bar.order is not None:
                self._on_order(self.run_bar.order)

    def _on_order(self, metric: str | None) -> None:
        if metric is None:
            if self._sorted is not None and self.state.selection is self._sorted:
                self.state.set_selection(None)
            return
        if self._run is not None:
            self._sorted = worst_first_selection(self._run, metric)
            self.state.set_selection(self._sorted)

    def _on_selection(self, selection: Selection | None) -> None:
        if selection is not self._sorted:  # another view chose what to show: the grid is in its order now
            self._sorted = None
            self.run_bar.forget_order()
        self.filters.set_selection(selection)
        objects = getattr(selection, "objects", None)
        self.object_grid.set_selection_objects(objects)
        if objects is not None:
            self.show_objects(True)  # the user asked about these objects: show them, not only their images
        self._set_class_counts()
        self.refilter()
        self._follow_selection()

    def _follow_selection(self) -> None:
        """After a drill-down the sample view shows a sample of the new selection (the first in the grid's
        order: for an ordered selection the worst), or nothing; never one the grid no longer shows."""
        current, rows = self.state.current, self.model.rows
        if current is None and self.state.selection is None:
            return  # a dataset just opened, or everything shown again: nothing was looked at
        if current is not None and self.model.row_of(current) >= 0:
            return
        if len(rows):
            self.state.select_sample(int(rows[0]))
        elif current is not None:
            self.state.select_sample(None)

    def _set_class_counts(self) -> None:
        dataset = self.state.dataset
        counts, total, unlabeled = class_counts(dataset, self.state.selection, self.model.tags)
        self.filters.set_classes(dataset.classes if dataset is not None else [], counts, total, unlabeled)

    def _on_project(self, project) -> None:
        self.model.set_label_marks(LabelMarks.of(project) if project is not None else None)
        self.filters.show_mark_filter(project is not None)

    def _on_labels_changed(self, indices: np.ndarray) -> None:
        project = self.state.project
        self.model.labels_changed(LabelMarks.of(project) if project is not None else None)
        self.view.viewport().update()  # the tiles on screen read the new labels as they paint
        if self.state.current is not None and self.state.current in indices:
            self.sample_view.refresh_labels()
        self._recount_soon()

    def _recount(self) -> None:
        self._set_class_counts()
        self.chart.show_counts(self.state.dataset, self.mask_classes)

    def _on_context_menu(self, position: QPoint) -> None:
        if self.model.rowCount():
            self.context_menu_requested.emit(self.view.viewport().mapToGlobal(position), self.selected_indices())

    def _on_bar_clicked(self, class_index: int) -> None:
        # A second click on the bar already filtered to shows every class again.
        self.set_class_filter(None if self.filters.class_index == class_index else class_index)

    def _on_sample_selected(self, index: int | None) -> None:
        if index is None:
            self.view.selectionModel().clearCurrentIndex()
            self.sample_view.clear("No sample of this selection is in the grid")
            return
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
            self._report_failed_soon()

    def _report_failed(self) -> None:
        if self._failed:
            plural = "sample" if self._failed == 1 else "samples"
            self.state.message.emit(f"{self._failed:,} {plural} could not be read (their tiles say why)")
