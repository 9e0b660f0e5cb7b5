"""The main window: wiring of the three panes, the menu and the status bar. No logic of its own.

Start-up: the module imports Qt and the light widgets only. ``MainWindow(build_panes=False)`` (the app's
launch) is a frame of the window (title, menus, dataset bar, status bar) that is on screen at once; its panes,
which import numpy, pyqtgraph, OpenCV and most of ``core``, are built on the first event-loop turn after the
frame's first paint (``build_panes``). Built at once, as the tests and --screenshot make it, it is the same window.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from gui.widgets import DatasetBar, ErrorBanner, place_on_screen

if TYPE_CHECKING:
    from gui.labeling import MaskEditorWidget
    from gui.state import AppState

MAX_RECENT = 10
#: Below this the panes cannot show their controls whole; the layout may ask for more.
MIN_WIDTH, MIN_HEIGHT = 960, 600
#: The first window, before a geometry was remembered.
DEFAULT_WIDTH, DEFAULT_HEIGHT = 1500, 950


class MainWindow(QMainWindow):
    #: The panes are built: at once in the constructor, or after the frame's first paint (``build_panes``).
    panes_built = Signal()

    def __init__(self, state: AppState | None = None, *, build_panes: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("CV Lens")
        self.setMinimumSize(MIN_WIDTH, MIN_HEIGHT)
        self.remembers_layout = True  # off for --screenshot: a scripted size is not the user's
        self.state = state  # made with the panes when None: AppState imports core
        self.settings = QSettings()
        self._opening = None  # the worker opening a dataset, if any
        self.mask_editor: MaskEditorWidget | None = None
        self.built = False
        self._restore_panes = False  # restore_layout ran before the panes existed: their sizes wait for them

        self.banner = ErrorBanner()
        self.dataset_bar = DatasetBar()
        # Where the panes go; until then the frame says what is coming.
        self._placeholder = QLabel("Starting CV Lens…", alignment=Qt.AlignCenter)
        self._placeholder.setStyleSheet("color: #777")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.dataset_bar)
        layout.addWidget(self._placeholder, 1)
        self._layout = layout
        self.setCentralWidget(central)

        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label)
        self._add_menus()
        if build_panes:
            self.build_panes()

    def build_panes(self) -> None:
        """Build the panes, fill the menus and wire them (once; the imports below are deferred for start-up)."""
        if self.built:
            return
        from gui.browser import BrowserPane
        from gui.labeling import LabelingTools
        from gui.labeling.saved_masks import SavedMasks
        from gui.metrics import MetricsPane
        from gui.runner import RunnerPane
        from gui.state import AppState

        self.built = True
        self.state = self.state or AppState()
        self.browser = BrowserPane(self.state)
        self.runner = RunnerPane(self.state)
        self.metrics = MetricsPane(self.state)
        self.labeling = LabelingTools(self.state, self.browser, self.runner, self)
        self.saved_masks = SavedMasks(self.state, self)
        self.saved_masks.truth_changed.connect(self.browser.masks_changed)

        right = QSplitter(Qt.Vertical)
        # The runner takes the height it needs, no more: the rest goes to the metrics.
        self.runner.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Maximum)
        right.addWidget(self.runner)
        right.addWidget(self.metrics)
        right.setStretchFactor(1, 1)
        self.right = right
        panes = QSplitter(Qt.Horizontal)
        panes.addWidget(self.browser)
        panes.addWidget(right)
        panes.setStretchFactor(0, 11)
        panes.setStretchFactor(1, 9)
        self.panes = panes
        self._layout.replaceWidget(self._placeholder, panes)
        self._placeholder.deleteLater()
        panes.show()  # now, not on the layout's queued call: the window is whole when this returns
        self._build_menu()
        self._connect()
        if self._restore_panes:
            self._restore_splitters()
        if self.isVisible():
            self._size_panes()
        self.panes_built.emit()

    def when_built(self, callback) -> None:
        """``callback()`` once the panes are built: now if they are."""
        if self.built:
            callback()
        else:
            self.panes_built.connect(callback)

    # -- construction -----------------------------------------------------------
    def _add_menus(self) -> None:
        """The menu bar's menus, in the frame; their actions come with the panes (``_build_menu``)."""
        bar = self.menuBar()
        titles = ("&File", "&Edit", "&Labels", "&Runs", "&View", "&Help")
        self.file_menu, self.edit_menu, self.labels_menu, self.runs_menu, self.view_menu, self.help_menu = (
            bar.addMenu(title) for title in titles
        )

    def _build_menu(self) -> None:
        from gui.shortcuts import HELP_KEYS

        menu = self.file_menu
        open_action = QAction("&Open Dataset…", self, shortcut=QKeySequence.Open, triggered=self.ask_open_dataset)
        menu.addAction(open_action)
        self.open_model_action = QAction(
            "Open &Model…", self, shortcut=QKeySequence("Ctrl+Shift+O"), triggered=self._ask_open_model
        )
        self.open_model_action.setToolTip("Your own model: state_dict, TorchScript, safetensors, ONNX or a model card")
        menu.addAction(self.open_model_action)
        self.recent_menu = menu.addMenu("Open &Recent")
        self._fill_recent_menu()
        menu.addSeparator()
        file_menu = menu
        edit_menu = self.edit_menu
        labels = self.labels_menu
        self.edit_mask_action = QAction(
            "Edit &Mask of This Sample…", self, shortcut=QKeySequence("Ctrl+M"), triggered=self.edit_mask
        )
        self.edit_mask_action.setEnabled(False)
        labels.addAction(self.edit_mask_action)
        self.saved_masks_action = QAction(
            "Use &Saved Masks as Labels", self, checkable=True, triggered=self._use_saved_masks
        )
        self.saved_masks_action.setToolTip(
            "Read the masks saved by the mask editor in place of the originals (remembered for this dataset; "
            "the run is kept and scored again)"
        )
        self.saved_masks_action.setEnabled(False)
        labels.addAction(self.saved_masks_action)
        labels.addSeparator()
        self.labeling.fill_menus(file_menu, edit_menu, labels, self.runs_menu)
        file_menu.addSeparator()
        file_menu.addAction(QAction("&Quit", self, shortcut=QKeySequence.Quit, triggered=self.close))
        view_menu = self.view_menu
        self.runner_action = QAction(
            "Model &Runner", self, checkable=True, checked=True, shortcut=QKeySequence("Ctrl+Shift+R"),
            toggled=self.show_runner,
        )  # fmt: skip
        self.runner_action.setToolTip(
            "Hide the model runner to give the metrics the whole height (the Analysis tab, the map, long tables)"
        )
        view_menu.addAction(self.runner_action)
        help_menu = self.help_menu
        self.shortcuts_action = QAction("&Keyboard Shortcuts", self, triggered=self.show_shortcuts)
        self.shortcuts_action.setShortcuts([QKeySequence(key) for key in HELP_KEYS])
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(QAction("&About CV Lens", self, triggered=self._about))

    def _connect(self) -> None:
        state = self.state
        state.error.connect(self.show_error)
        state.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        state.dataset_changed.connect(self.dataset_bar.show_dataset)
        state.dataset_changed.connect(self._update_status)
        state.predictions_changed.connect(self._update_status)
        state.project_changed.connect(self._update_status)
        state.dataset_changed.connect(self._enable_mask_actions)
        state.sample_selected.connect(lambda _i: self._enable_mask_actions(self.state.dataset))
        self.dataset_bar.open_requested.connect(self.ask_open_dataset)
        self.dataset_bar.split_requested.connect(self._change_split)
        self.dataset_bar.task_requested.connect(self._change_task)
        self.runner.class_map_needed.connect(
            lambda why: self.show_error(
                "Classes named differently", why, action=("Map Classes…", self.runner.ask_class_map)
            )
        )

    # -- opening datasets -------------------------------------------------------
    def ask_open_dataset(self) -> None:
        start = str(Path(self.state.dataset.root).parent) if self.state.dataset else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open Dataset", start)
        if folder:
            self.open_dataset(folder)

    def open_dataset(
        self, path: str, split: str | None = None, model: str | None = None, task: str | None = None
    ) -> None:
        """Open a dataset (as ``task``, None: the richest its files hold) with its project store and latest run
        off the GUI thread; errors go to the banner."""
        self._open(path, _open_with_project, path, split, task, model=model)

    def _open(self, path: str, function, *args, model: str | None = None) -> None:
        """Run ``function(*args)`` (which returns core.masks.opening.Opened) on a worker, then show what it opened."""
        from gui.workers import create_worker

        self.statusBar().showMessage(f"Opening {path}…")
        worker = create_worker(function, *args, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda opened: self._dataset_opened(opened, model))
        worker.errored.connect(lambda exc: self.show_error("Cannot open dataset", str(exc)))
        worker.finished.connect(lambda: setattr(self, "_opening", None))
        self._opening = worker
        worker.start()

    def _dataset_opened(self, opened, model: str | None) -> None:
        self.banner.hide()
        dataset = opened.dataset
        self.state.set_dataset(dataset, opened.project)
        if opened.predictions is not None:  # the latest saved run, shown at once
            self.state.set_predictions(opened.predictions, opened.embeddings)
        self.labeling.runs.set_shown(opened.run)
        for text in (opened.notice, opened.problem):
            if text:
                self.show_error("Labels", text)
        self._remember(str(dataset.root))
        if model:
            self.runner.select_model(model)
        self.statusBar().showMessage(f"Opened {dataset.root}", 5000)

    def _change_split(self, split: str) -> None:
        dataset = self.state.dataset
        if dataset is not None and split != dataset.split and split in dataset.splits:
            self.open_dataset(str(dataset.root), split=split, task=dataset.task)  # the same task on the other split

    def _change_task(self, task: str) -> None:
        """Open the dataset as another of its tasks (same split), with its project store, as a split switch does."""
        dataset = self.state.dataset
        if dataset is not None and task != dataset.task and task in dataset.tasks:
            self._open(str(dataset.root), _open_as_task, dataset, task)

    def _ask_open_model(self) -> None:
        dataset = self.state.dataset
        self.runner.opener.ask(list(dataset.classes) if dataset is not None else [])

    def _remember(self, path: str) -> None:
        recent = [p for p in self._recent() if p != path]
        self.settings.setValue("recent_datasets", [path, *recent][:MAX_RECENT])
        self._fill_recent_menu()

    def _recent(self) -> list[str]:
        value = self.settings.value("recent_datasets", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            self.recent_menu.addAction(path, lambda p=path: self.open_dataset(p))
        self.recent_menu.setEnabled(bool(self._recent()))

    # -- mask editing -------------------------------------------------------------
    def _enable_mask_actions(self, dataset) -> None:
        from core.masks.writers import WithSavedMasks
        from gui.decoding import per_pixel

        segmentation = dataset is not None and per_pixel(dataset)
        self.edit_mask_action.setEnabled(segmentation and self.state.current is not None)
        self.saved_masks_action.setEnabled(segmentation)
        self.saved_masks_action.setChecked(isinstance(dataset, WithSavedMasks))

    def edit_mask(self) -> None:
        """Open the mask editor on the sample shown in the sample view."""
        from gui.decoding import per_pixel
        from gui.labeling import MaskEditorWidget

        dataset, index = self.state.dataset, self.state.current
        if dataset is None or index is None or not per_pixel(dataset):
            return
        if self.mask_editor is None:
            self.mask_editor = MaskEditorWidget()
            self.mask_editor.setWindowFlag(Qt.Window)
            place_on_screen(self.mask_editor, 1000, 800)
            self.mask_editor.saved.connect(lambda _i, path: self.statusBar().showMessage(f"Saved {path}", 8000))
        editor = self.mask_editor
        if editor.open_sample(dataset, index, prediction=self._predicted_mask(index), project=self.state.project):
            editor.setWindowTitle(f"Mask editor — {dataset.sample_ids[index]}")
        self.mask_editor.show()
        self.mask_editor.raise_()

    def _predicted_mask(self, index: int):
        """The predicted mask of a sample, when a segmentation run holds one."""
        preds = self.state.predictions
        reader = getattr(preds, "mask", None)
        try:
            return reader(index) if callable(reader) else None
        except Exception:  # a run without this sample's mask: the editor works without it
            return None

    def _use_saved_masks(self, checked: bool) -> None:
        shown = self.labeling.runs.shown  # the same run stays shown, and the Runs menu says so
        self.saved_masks.set_use(checked)
        self.labeling.runs.set_shown(shown)

    # -- status -----------------------------------------------------------------
    def _update_status(self, *_args) -> None:
        dataset, preds = self.state.dataset, self.state.predictions
        if dataset is None:
            self.status_label.setText("")
            return
        parts = [f"{len(dataset):,} samples"]
        if preds is not None:
            parts.append(f"{preds.num_done:,} predicted")
            if preds.errors:
                parts.append(f"<span style='color:#b00020'>{len(preds.errors)} failed</span>")
        project = self.state.project
        if project is not None and project.read_only:
            parts.append("<span style='color:#b00020'>labels read-only</span>")
        self.status_label.setText(" · ".join(parts))

    def show_error(self, title: str, text: str, details: str = "", action=None) -> None:
        """The banner shows all of ``text``; the status bar its first line. ``action``: (button, callable)."""
        self.banner.show_message(title, text, details, action)
        self.statusBar().showMessage(f"{title}: {text.splitlines()[0] if text else ''}", 10000)

    def is_busy(self) -> bool:
        if not self.built:
            return False
        busy = (
            self.runner.is_running() or self.labeling.runs.busy() or self.saved_masks.busy() or self.metrics.is_busy()
        )
        return self._opening is not None or busy

    def show_shortcuts(self):
        """Help > Keyboard Shortcuts: every key, read from the actions and shortcuts registered."""
        from gui.shortcuts import ShortcutsDialog

        dialog = ShortcutsDialog(self)
        dialog.show()
        return dialog

    def _about(self) -> None:
        from gui.about import about_box

        about_box(self).exec()

    # -- geometry -----------------------------------------------------------------------
    def _splitters(self) -> dict[str, QSplitter]:
        return {"panes": self.panes, "right": self.right}

    def restore_layout(self) -> bool:
        """Size, position and pane sizes of the last window closed; False (nothing changed) without them."""
        geometry = self.settings.value("window/geometry")
        if not isinstance(geometry, QByteArray) or not self.restoreGeometry(geometry):
            return False
        if self.built:
            self._restore_splitters()
        else:
            self._restore_panes = True
        self._sized = True  # the remembered pane sizes, not the first-show defaults
        return True

    def _restore_splitters(self) -> None:
        for key, splitter in self._splitters().items():
            state = self.settings.value(f"window/{key}")
            if isinstance(state, QByteArray):
                splitter.restoreState(state)
        if str(self.settings.value("window/runner_shown", "true")).lower() == "false":
            self.show_runner(False)

    def show_runner(self, shown: bool) -> None:
        """Show or hide the model runner (remembered); hidden, the metrics take the right side's whole height."""
        self.runner.setVisible(shown)
        if self.runner_action.isChecked() != shown:
            self.runner_action.setChecked(shown)
        self.settings.setValue("window/runner_shown", shown)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        if not self.built:  # closed before its panes were built: their remembered sizes stay
            return
        for key, splitter in self._splitters().items():
            self.settings.setValue(f"window/{key}", splitter.saveState())

    def showEvent(self, event) -> None:
        if self.built:
            self._size_panes()
        super().showEvent(event)

    def _size_panes(self) -> None:
        """The first-show split of the width, unless remembered sizes were restored."""
        if not getattr(self, "_sized", False):
            self._sized = True
            width = max(self.width(), 800)
            self.panes.setSizes([int(width * 0.52), int(width * 0.48)])

    def closeEvent(self, event) -> None:
        if not self.built:
            if self.remembers_layout:
                self.save_layout()
            super().closeEvent(event)
            return
        if self.mask_editor is not None:
            if not self.mask_editor.confirm_unsaved():  # Cancel, or a save that failed: the app stays open
                event.ignore()
                return
            self.mask_editor.close()
        if not self.labeling.confirm_close():  # unsaved objects in the box editor, and the user chose Cancel
            event.ignore()
            return
        if self.remembers_layout:
            self.save_layout()
        self.runner.cancel()
        self.browser.shutdown()
        self.labeling.close()
        super().closeEvent(event)


def _open_with_project(path: str, split: str | None, task: str | None):
    """``core.masks.opening.open_with_project`` for a task chosen by the user (on the opening worker)."""
    from core.datasets import open_dataset
    from core.masks.opening import attach_project, open_with_project

    if task is None:
        return open_with_project(path, split=split)
    return attach_project(open_dataset(path, split=split, task=task))


def _open_as_task(dataset, task: str):
    """The open dataset as another of its tasks (``Dataset.with_task``), with its project store (on the worker)."""
    from core.masks.opening import attach_project

    return attach_project(dataset.with_task(task))
