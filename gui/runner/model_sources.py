"""Where the runner's models come from, besides the bundled ones: the user's files, torchvision's weights.

The slow parts (importing torchvision, reading a checkpoint, downloading weights) run in worker
threads; the dialogs that ask the user (which architecture, which class names) run on the GUI
thread between two workers.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from core.models import ModelCard, ModelError
from gui.runner.card_dialog import CardDialog
from gui.workers import create_worker, with_torch

MODEL_FILES = "Models (*.pt *.pth *.ckpt *.bin *.safetensors *.onnx *.torchscript *.ts *.json);;All files (*)"
MAX_RECENT_MODELS = 10


def recent_model_paths() -> list[str]:
    value = QSettings().value("recent_models", [])
    paths = [value] if isinstance(value, str) else list(value or [])
    return [p for p in paths if Path(p).is_file()]


def remember_model(path: str) -> None:
    paths = [p for p in recent_model_paths() if p != path]
    QSettings().setValue("recent_models", [path, *paths][:MAX_RECENT_MODELS])


def _open(path: str, architecture: str | None) -> ModelCard:
    from core.models.checkpoints import open_checkpoint

    return open_checkpoint(path, architecture=architecture)


class ModelOpener(QObject):
    """File > Open Model: pick a file, recognise it (asking when ambiguous), review its card, done."""

    opened = Signal(object)  # ModelCard
    failed = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.dataset_classes: list[str] = []
        self._worker = None

    def ask(self, dataset_classes: list[str]) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent_widget, "Open Model", str(Path.home()), MODEL_FILES)
        if path:
            self.open(path, dataset_classes)

    def open(self, path: str, dataset_classes: list[str], architecture: str | None = None) -> None:
        self.dataset_classes = list(dataset_classes)
        worker = create_worker(with_torch(_open), path, architecture, _start_thread=False, _ignore_errors=True)
        self._path = path
        worker.returned.connect(self._returned)
        worker.errored.connect(self._errored)
        self._worker = worker
        worker.start()

    def _returned(self, card: ModelCard) -> None:
        self._review(self._path, card)

    def _errored(self, exc: Exception) -> None:
        self._failed(self._path, exc)

    def _failed(self, path: str, exc: Exception) -> None:
        from core.models.checkpoints import AmbiguousArchitecture

        if isinstance(exc, AmbiguousArchitecture):
            choice, ok = QInputDialog.getItem(
                self.parent_widget,
                "Which architecture?",
                f"{Path(path).name} fits several networks:",
                exc.candidates,
                0,
                False,
            )
            if ok:
                self.open(path, self.dataset_classes, architecture=choice)
            return
        self.failed.emit(str(exc) if isinstance(exc, ModelError) else f"{type(exc).__name__}: {exc}")

    def _review(self, path: str, card: ModelCard) -> None:
        """Show the card for editing when it was guessed (no card file beside the weights)."""
        if Path(path).suffix != ".json" and not Path(path).with_suffix(".json").is_file():
            dialog = CardDialog(card, self.dataset_classes, self.parent_widget)
            numbered = all(name.startswith("class ") for name in card.classes)
            if numbered and len(self.dataset_classes) == card.num_classes:
                dialog.classes.setPlainText("\n".join(self.dataset_classes))
            if not dialog.exec():
                return
            card = dialog.edited_card()
            if dialog.save_beside.isChecked():
                self._save(card)
        remember_model(path)
        self.opened.emit(card)

    def _save(self, card: ModelCard) -> None:
        from core.models.checkpoints import save_card

        target = card.weights_path.with_suffix(".json") if card.weights_path else None
        overwrite = False
        if target is not None and target.exists():
            answer = QMessageBox.question(self.parent_widget, "Replace the card?", f"{target} exists. Replace it?")
            overwrite = answer == QMessageBox.StandardButton.Yes
            if not overwrite:
                return
        try:
            save_card(card, overwrite=overwrite)
        except (ModelError, OSError) as exc:
            self.failed.emit(f"the card was not saved: {exc}")


class WeightsDownload(QObject):
    """Downloads a torchvision card's weights into torch's cache in a worker, with progress and cancel."""

    progress = Signal(int, int)  # bytes done, bytes total (0 when unknown)
    finished = Signal(str)  # the file written
    failed = Signal(str)

    def __init__(self, card: ModelCard, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.card = card
        self.cancelled = False
        self._worker = None

    def start(self) -> None:
        from core.models import zoo

        name = self.card.architecture.split(":", 1)[1]

        def report(done: int, total: int) -> bool:
            self.progress.emit(done, total)  # queued to the GUI thread
            return not self.cancelled

        worker = create_worker(
            with_torch(zoo.download_weights), name, "DEFAULT", report, _start_thread=False, _ignore_errors=True
        )
        worker.returned.connect(self._returned)
        worker.errored.connect(self._failed)
        self._worker = worker
        worker.start()

    def _returned(self, path) -> None:
        self.finished.emit(str(path))

    def _failed(self, exc: Exception) -> None:
        if self.cancelled:
            self.failed.emit("download cancelled")
        else:
            self.failed.emit(
                f"cannot download {self.card.weights_path.name}: {exc}. Without internet, put the file into "
                f"{self.card.weights_path.parent}"
            )

    def cancel(self) -> None:
        self.cancelled = True
