"""Model runs kept in the project store: saved when a run finishes, the latest one shown again when the
dataset is reopened, any other picked from the Runs menu, two compared side by side. Classifier and
segmenter runs alike (what differs between them is in ``core/tasks``). A run made elsewhere (a cluster's
``evaluate --out DIR``) is brought in with Runs > Import Run from Folder… (``core.labels.run_import``): the
same run twice is shown, not kept twice; a changed folder of the same name asks whether to replace the earlier
import or keep both.

Saving hashes the weights, computes the metrics, (for a segmenter) packs every mask into one file and
keeps the run's embeddings when it computed them; loading reads a predictions file and maps the run's
embeddings: both run on a worker thread. A run whose embeddings cannot be read is shown without them.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from core import tasks
from core.labels import Run, StoreError, StoreReadOnlyError
from gui.state import AppState
from gui.workers import create_worker, with_torch

_NOT_IMPORTED = "The run was not imported"


def run_title(run: Run) -> str:
    """ "#3 Digits CNN · 05-02 14:03 · cpu · accuracy 97.1%" (or "mean IoU 61.2%" for a segmenter)"""
    when = time.strftime("%m-%d %H:%M", time.localtime(run.time))
    parts = [f"#{run.id} {run.name}", when, run.device, run.headline]
    return " · ".join(p for p in parts if p)


def load_with_embeddings(project, run: Run) -> tuple:
    """(predictions, embeddings or None, why the embeddings could not be read or ""): on a worker thread."""
    predictions = project.load_run(run)
    try:
        return predictions, project.load_run_embeddings(run), ""
    except StoreError as exc:
        return predictions, None, str(exc)


class RunsController(QObject):
    runs_changed = Signal()  # a run was saved, or another one is shown
    saved = Signal(object)  # Run
    imported = Signal(object)  # Run: a run made elsewhere, now kept in the project

    def __init__(self, state: AppState, runner, window: QWidget) -> None:
        super().__init__(window)
        self.state, self.runner, self.window = state, runner, window
        self.shown: Run | None = None
        self.compare_dialog = None
        self._workers: set = set()
        self.notice: QMessageBox | None = None  # the last "already imported" message
        self.compare_action = QAction("&Compare Runs…", window, triggered=self.compare)
        self.compare_action.setToolTip(
            "Both runs' metrics side by side, and the samples one gets right and the other not"
        )
        self.import_action = QAction("&Import Run from Folder…", window, triggered=self.ask_import)
        self.import_action.setToolTip(
            "A run made on another machine (python main.py evaluate --out DIR, e.g. under torchrun on a cluster): "
            "its sample ids are checked against this split, then it is kept and listed here"
        )
        runner.run_finished.connect(self.save_finished)
        state.project_changed.connect(lambda _p: self._forget())

    def _forget(self) -> None:
        self.shown = None
        self.runs_changed.emit()

    def runs(self) -> list[Run]:
        project = self.state.project
        try:
            return project.runs() if project is not None else []
        except StoreError:
            return []

    def comparable(self) -> list[Run]:
        """The saved runs made for the task the dataset is open for (the others cannot be scored on it)."""
        dataset = self.state.dataset
        return [run for run in self.runs() if dataset is None or tasks.shown_on(run, dataset)]

    # -- saving ------------------------------------------------------------------------
    def save_finished(self) -> None:
        """Keep the run that just finished (model card, weights and their hash, settings, device, metrics)."""
        project, preds, dataset = self.state.project, self.state.predictions, self.state.dataset
        embeddings = self.state.embeddings  # the finished run's rows, set with its predictions
        card = self.runner.current_card()
        if project is None or preds is None or dataset is None or not tasks.keeps_runs(preds.task):
            return
        if project.read_only:
            self.state.message.emit("The run was not saved: the project store is read-only")
            return
        settings = dict(getattr(preds, "settings", None) or {})  # a segmenter's: resize or tile, class map
        settings.update(card=card.name if card else None, batch_size=self.runner.batch_spin.value())
        settings["device_asked"] = self.runner.device_combo.currentText()
        weights = card.weights_path if card is not None else None
        if weights is not None and not Path(weights).is_file():
            settings["weights"] = str(weights)  # not a local file (a hub model): named, not hashed
            weights = None
        name = card.display_name if card is not None else None
        self.state.message.emit("Saving the run…")
        self._start(
            lambda: project.save_run(preds, weights=weights, settings=settings, name=name, embeddings=embeddings),
            lambda run: self._on_saved(run, preds),
            "The run was not saved",
        )

    def _on_saved(self, run: Run, predictions=None) -> None:
        self.shown = run
        self.state.set_saved_run(run, predictions)
        self.state.message.emit(f"Saved the run as {run_title(run)}")
        self.runs_changed.emit()
        self.saved.emit(run)

    # -- importing ---------------------------------------------------------------------
    def ask_import(self) -> None:
        """Ask for the folder ``evaluate --out`` wrote, then import it."""
        folder = QFileDialog.getExistingDirectory(self.window, "Import Run from Folder (an evaluate --out folder)")
        if folder:
            self.import_folder(folder)

    def import_folder(self, folder: str | Path) -> None:
        """Check the run in ``folder`` against the open split (on a worker), then keep it and show it. The same
        run imported before is only shown again (and said so); a changed folder of that name asks first."""
        from core.labels.run_import import plan_import

        project = self.state.project
        if project is None:
            self.state.message.emit("Open a dataset first: a run is imported into its project")
            return
        self.state.message.emit(f"Reading the run in {folder}…")
        self._start(lambda: plan_import(project, folder), lambda plan: self._planned(project, plan), _NOT_IMPORTED)

    def _planned(self, project, plan) -> None:
        from core.labels.run_import import import_run

        run, earlier = plan
        if project is not self.state.project:
            return  # another dataset was opened meanwhile
        if earlier is not None and not earlier.changed:
            self._already_imported(run.folder, earlier.run)
            return
        replace = self._ask_replace(run.folder, earlier.run) if earlier is not None else False
        if replace is None:
            self.state.message.emit("The run was not imported")
            return
        self.state.message.emit(f"Importing the run in {run.folder}…")
        self._start(lambda: import_run(project, run, replace=replace), self._on_imported, _NOT_IMPORTED)

    def _already_imported(self, folder: Path, run: Run) -> None:
        """Say so (a message box that does not block, and the status bar), and show that run."""
        text = f"The run in {folder} is already imported as {run_title(run)}."
        self.notice = QMessageBox(QMessageBox.Icon.Information, "Run already imported", text, parent=self.window)
        self.notice.setInformativeText("Nothing was recorded again; that run is shown.")
        self.notice.open()
        self.state.message.emit(f"Already imported as {run_title(run)}: nothing recorded")
        self.show_run(run)

    def _ask_replace(self, folder: Path, earlier: Run) -> bool | None:
        """A folder of this name was imported before and has changed since: replace that run (True), keep both
        (False, the default) or import nothing (None)."""
        from core.labels.run_import import recorded_how

        box = QMessageBox(QMessageBox.Icon.Question, "The run has changed", "", parent=self.window)
        box.setObjectName("import_changed")
        box.setText(f"A run from a folder named {folder.name} was {recorded_how(earlier)} before as "
                    f"{run_title(earlier)}, and the run in it has changed since.")  # fmt: skip
        box.setInformativeText(f"Replace #{earlier.id} with this run, or keep both (this one under a new name)?")
        replace = box.addButton(f"Replace #{earlier.id}", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep Both", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        box.exec()
        return {replace: True, keep: False}.get(box.clickedButton())

    def _on_imported(self, run: Run) -> None:
        self.state.message.emit(f"Imported {run_title(run)}")
        self.runs_changed.emit()
        self.imported.emit(run)
        self.show_run(run)

    # -- showing -----------------------------------------------------------------------
    def set_shown(self, run: Run | None) -> None:
        """The run whose predictions the state holds (after opening a dataset)."""
        self.shown = run
        self.state.set_saved_run(run, self.state.predictions)
        self.runs_changed.emit()

    def show_run(self, run: Run) -> None:
        """Load a saved run's predictions and show them everywhere."""
        project = self.state.project
        if project is None:
            return
        self.state.message.emit(f"Loading {run_title(run)}…")

        def shown(loaded) -> None:
            predictions, embeddings, problem = loaded
            if self.state.project is project:
                self.state.set_predictions(predictions, embeddings)
                self.set_shown(run)
                self.state.message.emit(f"Showing {run_title(run)}")
                if problem:
                    self.state.error.emit("The run is shown without its embeddings", problem)

        self._start(lambda: load_with_embeddings(project, run), shown, "The run could not be loaded")

    def fill_menu(self, menu: QMenu) -> None:
        """The Runs menu: Compare Runs…, then every saved run of this split, the shown one checked."""
        menu.clear()
        menu.setToolTipsVisible(True)  # a run's weights, their hash and whether it kept its embeddings
        menu.addAction(self.compare_action)
        menu.addAction(self.import_action)
        project = self.state.project
        self.import_action.setEnabled(project is not None and not project.read_only)
        runs = self.runs()
        self.compare_action.setEnabled(len(self.comparable()) >= 2)
        menu.addSeparator()
        if not runs:
            empty = menu.addAction("No saved runs: run a model, it is kept here")
            empty.setEnabled(False)
            return
        group = QActionGroup(menu)
        dataset = self.state.dataset
        for run in reversed(runs):
            action = menu.addAction(run_title(run).replace("&", "&&"))
            action.setCheckable(True)
            action.setChecked(self.shown is not None and run.id == self.shown.id)
            kept = "kept (the map uses them)" if run.has_embeddings else "none (tick Embeddings in the runner)"
            tip = f"weights: {run.weights_path or '—'}\nsha256: {run.weights_sha256 or '—'}\nembeddings: {kept}"
            if dataset is not None and not tasks.shown_on(run, dataset):  # made for the dataset's other task
                action.setEnabled(False)
                tip = f"a {run.task} run: open the dataset for that task (Task above the panes) to see it\n" + tip
            action.setToolTip(tip)
            action.triggered.connect(lambda _=False, r=run: self.show_run(r))
            group.addAction(action)

    def compare(self) -> None:
        from gui.labeling.compare_dialog import CompareDialog

        runs = self.comparable()
        if len(runs) < 2:
            self.state.message.emit("Compare needs two saved runs of this split made for this task")
            return
        self.compare_dialog = CompareDialog(self.state, runs, self.window)
        self.compare_dialog.show()

    # -- workers -----------------------------------------------------------------------
    def _start(self, job, done, failure: str) -> None:
        worker = create_worker(with_torch(job), _start_thread=False, _ignore_errors=True)
        worker.returned.connect(done)
        worker.errored.connect(lambda exc: self._failed(failure, exc))
        worker.finished.connect(lambda: self._workers.discard(worker))
        self._workers.add(worker)
        worker.start()

    def _failed(self, what: str, exc: Exception) -> None:
        if isinstance(exc, StoreReadOnlyError):
            self.state.message.emit(f"{what}: {exc}")
        else:
            self.state.error.emit(what, str(exc) or type(exc).__name__)

    def busy(self) -> bool:
        return bool(self._workers)
