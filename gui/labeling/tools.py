"""The labeling tools of the main window, built in one place and wired to the browser and the runner.

:class:`LabelingTools` owns the controller (edits), the keys (``actions``), the type-ahead picker,
review mode, the sample view's labeling panel, the runs kept in the store, and the export and
import dialogs; the main window only puts its actions in menus (:meth:`fill_menus`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QToolButton, QWidget

from core.datasets import BOX_TASKS
from core.labels import IGNORE, UNLABELED
from gui.labeling.actions import NUMBER_KEYS, LabelingActions, key_class
from gui.labeling.browsing import Browser
from gui.labeling.class_picker import ClassPicker
from gui.labeling.controller import LabelingController
from gui.labeling.review import ReviewBar, ReviewMode
from gui.labeling.runs import RunsController
from gui.labeling.sample_panel import SamplePanel
from gui.labeling.tile_menu import tile_menu
from gui.state import AppState
from gui.workers import create_worker


class LabelingTools(QObject):
    def __init__(self, state: AppState, browser: Browser, runner, window: QWidget) -> None:
        super().__init__(window)
        self.state, self.browser, self.window = state, browser, window
        self.controller = LabelingController(state, browser, self)
        self.review = ReviewMode(state, browser, self.controller)
        self.picker = ClassPicker(window)
        self.picker.picked.connect(self._on_picked)
        self._picking: tuple[str, np.ndarray] | None = None
        self.actions = a = LabelingActions(browser, window, self)
        self.review.set_bar(ReviewBar([a.accept, a.take, a.skip, a.back, a.leave]))
        self.panel = SamplePanel(state, self.controller)
        #: The sample view's way into the box editor (shown for datasets open for an object task).
        self.boxes_button = QToolButton(self.panel)
        a.edit_boxes.setIconText("Edit boxes… (B)")  # what the button says; the menu shows the full text
        self.boxes_button.setDefaultAction(a.edit_boxes)
        self.panel.layout().insertWidget(1, self.boxes_button)
        browser.sample_view.add_panel(self.panel)
        self.runs = RunsController(state, runner, window)
        self.export_action = QAction("&Export Labels…", window, triggered=self.export_labels)
        self.export_action.setToolTip("Write the labels as you have them now into a new folder")
        self.import_action = QAction("&Import Labels from CSV…", window, triggered=self.import_csv)
        self.import_action.setToolTip("Preview the changes a CSV of sample, label would make, then apply them")
        self.import_dialog = None
        self.export_dialog = None
        self.box_editor = None  # gui.labeling.box_editor.BoxEditorWidget, made when first opened
        state.sample_selected.connect(self._follow_sample)
        self.menu: QMenu | None = None  # the tiles' right-click menu, while it is open
        self._import_worker = None
        browser.context_menu_requested.connect(self.show_menu)
        state.dataset_changed.connect(self._on_dataset)
        state.project_changed.connect(self._on_project)
        self.controller.history_changed.connect(self._update_history)
        self.review.changed.connect(lambda: a.set_reviewing(self.review.active))
        self._project = state.project
        self._on_dataset(state.dataset)

    def fill_menus(self, file_menu: QMenu, edit_menu: QMenu, labels_menu: QMenu, runs_menu: QMenu) -> None:
        a = self.actions
        file_menu.addActions([self.export_action, self.import_action])
        edit_menu.addActions([a.undo, a.redo])
        label_as = labels_menu.addMenu("Label &As")
        label_as.addActions([*a.numbers, a.pick])
        labels_menu.addActions([a.unlabeled, a.ignore, a.take])
        labels_menu.addSeparator()
        labels_menu.addActions([a.reviewed, a.flag, a.exclude, a.clear_mark, a.note])
        labels_menu.addAction(a.edit_boxes)
        labels_menu.addSeparator()
        labels_menu.addActions([a.review, a.advance])
        runs_menu.aboutToShow.connect(lambda: self.runs.fill_menu(runs_menu))
        self.runs.fill_menu(runs_menu)

    # -- slots of the actions ----------------------------------------------------------
    def take(self) -> None:
        """P: in review mode take the prediction and move on; else take it for the selected tiles."""
        if self.review.active:
            self.review.take_prediction()
        else:
            self.controller.take_prediction()

    def open_picker(self) -> None:
        """L or /: search the classes (tags) by name; Enter labels the selected samples."""
        c = self.controller
        indices = c.targets()
        if self.state.dataset is None or not len(indices):
            return
        names = c.classes()
        hints = [""] * len(names)
        for k, key in enumerate(NUMBER_KEYS):
            if key_class(names, k) is not None:
                hints[key_class(names, k)] = key
        if c.multilabel():
            self._picking = ("tag", indices)
            self.picker.open("Switch the tag:", names, list(range(len(names))), self._anchor(), hints)
        elif c.has_classes():
            self._picking = ("label", indices)
            values = [*range(len(names)), UNLABELED, IGNORE]
            title = f"Label {len(indices):,} samples as:" if len(indices) > 1 else "Label as:"
            self.picker.open(title, [*names, "(unlabeled)", "⊘ ignore"], values, self._anchor(), [*hints, "U", "I"])

    def _on_picked(self, value) -> None:
        if self._picking is None:
            return
        kind, indices = self._picking
        self._picking = None
        if kind == "tag":
            self.controller.toggle_tag(int(value), indices)
        else:
            self.controller.assign(int(value), indices)
        self.browser.view.setFocus()

    def _anchor(self) -> QPoint:
        view = self.browser.view
        rect = view.visualRect(view.currentIndex())
        point = rect.bottomLeft() if rect.isValid() else view.rect().center()
        return view.viewport().mapToGlobal(point)

    def edit_note(self) -> None:
        """N: type a note on the shown sample in the sample view."""
        self.browser.tabs.setCurrentWidget(self.browser.sample_view)
        if self.panel.isVisible():
            self.panel.note.setFocus()

    # -- the box editor ------------------------------------------------------------------
    def edit_boxes(self, index: int | None = None) -> bool:
        """B: open the box editor on the sample shown (a dataset open for an object task); False if not opened."""
        from gui.labeling.box_editor import BoxEditorWidget
        from gui.widgets import place_on_screen

        project, dataset = self.state.project, self.state.dataset
        index = self.state.current if index is None else index
        if project is None or dataset is None or not dataset.has_boxes or index is None:
            self.state.message.emit("Open a detection dataset and pick a sample to edit its boxes (B).")
            return False
        if self.box_editor is None:
            self.box_editor = BoxEditorWidget()
            self.box_editor.setWindowFlag(Qt.WindowType.Window)
            place_on_screen(self.box_editor, 1000, 760)
            self.box_editor.saved.connect(
                lambda i: self.state.message.emit(f"Saved the objects of {dataset.sample_ids[i]}")
            )
        editor = self.box_editor
        editor.min_score.setValue(self.state.score_threshold)  # the predictions the browser shows, from there
        opened = editor.open_sample(project, int(index), self._detections())
        if opened:
            editor.setWindowTitle(f"Box editor — {dataset.sample_ids[int(index)]}")
        editor.show()
        editor.raise_()
        return opened

    def _detections(self):
        """The shown run's predictions when they are boxes (DetectionPredictions), else None."""
        preds = self.state.predictions
        return preds if preds is not None and getattr(preds, "task", None) in BOX_TASKS else None

    def _follow_sample(self, index) -> None:
        """The box editor, while open, follows the sample the browser shows (asking first over unsaved changes)."""
        editor = self.box_editor
        if editor is None or not editor.isVisible() or index is None or index == editor.index:
            return
        if self.state.project is not editor.project:
            editor.close()
            return
        self.edit_boxes(int(index))

    def show_menu(self, at: QPoint, indices: np.ndarray) -> None:
        if self.state.project is None or not len(indices):
            return
        self.menu = tile_menu(self.controller, indices, self.browser)
        self.menu.popup(at)

    # -- files -------------------------------------------------------------------------
    def export_labels(self) -> None:
        from gui.labeling.export_dialog import ExportDialog

        if self.state.project is None:
            self.state.message.emit("Open a dataset first")
            return
        self.export_dialog = ExportDialog(self.state, self.window)
        self.export_dialog.show()

    def import_csv(self, path: str | None = None) -> None:
        """Ask for a CSV, read it on a worker thread, then show the preview dialog."""
        from core.labels.importer import preview_csv

        project = self.state.project
        if project is None:
            self.state.message.emit("Open a dataset first")
            return
        if not path:
            start = str(Path(project.dataset.root).parent)
            path, _ = QFileDialog.getOpenFileName(self.window, "Import labels from CSV", start, "CSV files (*.csv)")
        if not path:
            return
        worker = create_worker(preview_csv, project, path, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._show_import)
        worker.errored.connect(lambda exc: self.state.error.emit("Cannot import the CSV", str(exc)))
        self._import_worker = worker
        worker.start()

    def _show_import(self, preview) -> None:
        from gui.labeling.import_dialog import ImportDialog

        self.import_dialog = ImportDialog(self.state, preview, self.window)
        self.import_dialog.show()

    # -- state -------------------------------------------------------------------------
    def _on_dataset(self, dataset) -> None:
        names = list(dataset.classes) if dataset is not None else []
        boxes = dataset is not None and dataset.has_boxes
        self.actions.edit_boxes.setEnabled(boxes)
        self.boxes_button.setVisible(boxes)
        self.actions.set_classes(names, dataset is not None and dataset.tags is not None)
        has = dataset is not None and self.state.project is not None
        self.export_action.setEnabled(has)
        self.import_action.setEnabled(has)

    def _on_project(self, project) -> None:
        previous, self._project = self._project, project
        editor = self.box_editor
        if editor is not None and editor.project is not None and editor.project is not project:
            editor.confirm_unsaved()  # before the old store closes: Save still works (Cancel cannot keep it)
            editor.edit = None
            editor.close()
        if previous is not None and (project is None or previous.store is not project.store):
            previous.store.close()  # releases the lock; the same dataset opens it again when asked
        has = project is not None
        self.export_action.setEnabled(has)
        self.import_action.setEnabled(has)

    def _update_history(self) -> None:
        undo, redo = self.controller.undo_text(), self.controller.redo_text()
        self.actions.undo.setText(f"&Undo {undo}" if undo else "&Undo")
        self.actions.undo.setEnabled(undo is not None)
        self.actions.redo.setText(f"&Redo {redo}" if redo else "&Redo")
        self.actions.redo.setEnabled(redo is not None)

    def confirm_close(self) -> bool:
        """The window may close: no unsaved objects in the box editor, or the user chose Save or Discard."""
        if self.box_editor is None:
            return True
        if not self.box_editor.confirm_unsaved():
            return False
        self.box_editor.close()
        return True

    def close(self) -> None:
        """The window closes: save a note being typed, release the store."""
        self.panel.commit_note()
        if self.state.project is not None:
            self.state.project.store.close()
