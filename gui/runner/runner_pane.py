"""The model runner pane: pick a model and a device, run, watch progress, cancel, resume."""

from __future__ import annotations

import time

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import create_worker

from core.models import ModelCard, ModelError, bundled_cards
from core.models.loading import resolve_model
from gui.runner.class_map_dialog import CLASSIFIER_NOTE, ClassMapDialog
from gui.runner.model_sources import ModelOpener, WeightsDownload, weights_missing, zoo_cards
from gui.state import AppState, RunStatus
from gui.workers import import_torch, with_torch

#: predictions_changed is emitted at most this often while a run fills them (seconds).
LIVE_UPDATE_INTERVAL = 0.25


def describe_card(card: ModelCard) -> str:
    """One paragraph of the model card for the pane."""
    height, width = card.input_size
    lines = [f"<b>{card.display_name}</b> — {card.architecture}, {card.task}, {card.num_classes} classes"]
    lines.append(f"input {card.channels}×{height}×{width}, mean {card.mean}, std {card.std}")
    accuracy = card.metrics.get("test_accuracy")
    if accuracy is not None:
        lines.append(f"test accuracy {accuracy:.2%} on {card.metrics.get('test_samples', '?')} samples")
    if card.script:
        lines.append(f"made by <code>{card.script}</code>")
    return "<br>".join(lines)


def needs_class_map(card: ModelCard, dataset, reason: str) -> bool:
    """A model refused only because its class names are not the dataset's (core's reason says a map of
    the names would make it fit): a segmenter, or a classifier whose names overlap the dataset's."""
    if card.task == "segmentation" or dataset.task == "segmentation":
        return card.task == dataset.task and "map the dataset's classes" in reason
    return "map the classes by name" in reason


def nothing_read(predictions, sample_ids) -> str:
    """Why a run that went to the end has no result: every sample failed (the first failure as an example)."""
    if not predictions.errors:
        return "the run ended without predicting a sample"
    first, why = min(predictions.errors.items())
    failed = f"{len(predictions.errors):,} of {len(predictions):,}"
    return f"no sample could be read: {failed} failed (the first, {sample_ids[first]}: {why})"


def _run_generator(card: ModelCard, dataset, device: str, batch_size: int, tile: int | None, job=None, class_map=None):
    """Runs in a worker thread: builds the job (imports torch there), then yields its progress."""
    from core.tasks import job_for

    import_torch()
    if job is None:
        job = job_for(card, dataset, device=device, batch_size=batch_size, tile=tile, class_map=class_map)
    yield job
    return (yield from job.run())


class RunnerPane(QGroupBox):
    run_started = Signal()
    run_finished = Signal()  # the run went to the end (also after failures of single samples)
    run_cancelled = Signal()
    run_failed = Signal(str)
    #: A model the user picked runs only through a class map (the reason, in core's words): the window
    #: shows it with a way to the map (``ask_class_map``).
    class_map_needed = Signal(str)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__("Model runner", parent)
        self.state = state
        self._cards: list[ModelCard] = []
        self._zoo: list[ModelCard] = []  # torchvision's networks, listed by a worker once torch is in
        self._opened: list[ModelCard] = []  # the user's own models opened in this session
        self._mappable: set[str] = set()  # segmenters that run on this dataset through a class map
        self._class_maps: dict[tuple[str, str], dict[str, str]] = {}
        self._download: WeightsDownload | None = None
        self.opener = ModelOpener(self)
        self.opener.opened.connect(self._model_opened)
        self.opener.failed.connect(lambda text: self.state.error.emit("Cannot open the model", text))
        self._worker = None
        self._job = None
        self._last_emit = 0.0

        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Models that fit the open dataset; the others are greyed out with the reason")
        self.model_combo.currentIndexChanged.connect(self._show_card)
        self.card_label = QLabel()
        self.card_label.setWordWrap(True)
        self.card_label.setTextFormat(Qt.RichText)
        self.device_combo = QComboBox()
        self.device_combo.addItem("auto")
        self.device_combo.setToolTip("CUDA when a GPU is present, else Apple MPS, else the CPU")
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 4096)
        self.batch_spin.setValue(64)
        self.batch_spin.setToolTip("Images per batch")
        self.tile_check = QCheckBox("Tiles")
        self.tile_check.setToolTip(
            "Segmentation: run large images at full resolution in overlapping tiles of this size "
            "(off: resize each image to the model's input size)"
        )
        self.tile_spin = QSpinBox()
        self.tile_spin.setRange(32, 4096)
        self.tile_spin.setValue(512)
        self.tile_spin.setSuffix(" px")
        self.tile_check.toggled.connect(self.tile_spin.setEnabled)
        self.tile_spin.setEnabled(False)
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Run the model over the open split")
        self.run_button.clicked.connect(self.start_run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current batch; Run again resumes")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        self.rate_label = QLabel()
        self.failures_label = QLabel()
        self.failures_label.setStyleSheet("color: #b00020")
        self.failures_label.setWordWrap(True)

        self.open_button = QToolButton(text="Open…")
        self.open_button.setToolTip(
            "Open your own model: a state_dict (.pt/.pth), TorchScript, safetensors, ONNX or a model card (.json)"
        )
        self.open_button.clicked.connect(
            lambda: self.opener.ask(list(self.state.dataset.classes) if self.state.dataset else [])
        )
        self.download_button = QPushButton("Download weights")
        self.download_button.setToolTip("Fetch the network's weights into torch's cache (needs internet)")
        self.download_button.clicked.connect(self.download_weights)
        self.map_button = QPushButton("Map Classes…")
        self.map_button.setToolTip("Say which of the model's classes each of the dataset's classes is")
        self.map_button.clicked.connect(self.ask_class_map)
        self.map_button.hide()  # shown for a model that runs through a class map
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(self.open_button)
        model_row.addWidget(self.map_button)
        model_row.addWidget(self.download_button)
        form = QFormLayout()
        form.addRow("Model:", model_row)
        settings = QHBoxLayout()
        settings.addWidget(QLabel("Device:"))
        settings.addWidget(self.device_combo, 1)
        settings.addWidget(QLabel("Batch:"))
        settings.addWidget(self.batch_spin)
        settings.addWidget(self.tile_check)
        settings.addWidget(self.tile_spin)
        settings.addWidget(self.run_button)
        settings.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.card_label)
        layout.addLayout(settings)
        layout.addWidget(self.progress)
        layout.addWidget(self.rate_label)
        layout.addWidget(self.failures_label)

        state.dataset_changed.connect(self._on_dataset)
        self._devices_listed = False

    def showEvent(self, event) -> None:
        # Listing devices imports torch (seconds): start it once the window is on screen.
        if not self._devices_listed:
            self._devices_listed = True
            QTimer.singleShot(0, self._list_devices)
        super().showEvent(event)

    # -- models and devices -----------------------------------------------------
    def _list_devices(self) -> None:
        """torch is imported in a worker so the window never waits for it."""
        from core.inference import available_devices

        worker = create_worker(with_torch(available_devices), _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._set_devices)
        worker.errored.connect(self._devices_failed)
        worker.finished.connect(self._list_zoo)
        worker.start()

    def _devices_failed(self, exc: Exception) -> None:
        self.state.error.emit("No torch", f"cannot list devices: {exc}")

    def _list_zoo(self) -> None:
        worker = create_worker(with_torch(zoo_cards), _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._set_zoo)
        worker.start()

    def _set_zoo(self, cards: list[ModelCard]) -> None:
        self._zoo = cards
        if self.state.dataset is not None and not self.is_running():
            self._fill_models(self.state.dataset)

    def _set_devices(self, devices: list[str]) -> None:
        current = self.device_combo.currentText()
        self.device_combo.clear()
        self.device_combo.addItems(["auto", *devices])
        self.device_combo.setCurrentText(current if current in devices else "auto")

    def _on_dataset(self, dataset) -> None:
        self.cancel()
        self._job = None
        self._reset_progress()
        self._fill_models(dataset)

    def _fill_models(self, dataset) -> None:
        """Bundled models and the user's own (fitting first, the others greyed out with the reason), then
        the torchvision networks that fit the dataset's classes."""
        current = self.current_card()
        self._mappable = set()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self._cards = []
        if dataset is not None:
            from core.tasks import why_not

            try:
                cards = bundled_cards()
            except ModelError as exc:
                self.state.error.emit("Bundled models", str(exc))
                cards = []
            cards += self._opened
            reasons = {id(card): why_not(card, dataset) for card in cards}
            for card in cards:  # a segmenter with other class names runs once the user maps them
                if reasons[id(card)] and needs_class_map(card, dataset, reasons[id(card)]):
                    self._mappable.add(card.name)
                    reasons[id(card)] = None
            for card in sorted(cards, key=lambda c: reasons[id(c)] is not None):
                self._add_card(card, reasons[id(card)])
            for card in self._zoo:  # those that fit, then those that fit through a map of the names
                reason = why_not(card, dataset) if card.task == dataset.task else "another task"
                if reason is None or needs_class_map(card, dataset, reason):
                    self._mappable.update([card.name] if reason else [])
                    self._add_card(card, None)
        if current is not None:
            for row, card in enumerate(self._cards):
                if card is current:
                    self.model_combo.setCurrentIndex(row)
        self.model_combo.blockSignals(False)
        self._show_card()

    def _model_opened(self, card: ModelCard) -> None:
        self._opened.append(card)
        self._fill_models(self.state.dataset)
        for row, known in enumerate(self._cards):
            if known is card:
                item = self.model_combo.model().item(row)
                if not item.isEnabled():
                    self.state.error.emit("The model does not fit", item.toolTip())
                self.model_combo.setCurrentIndex(row)
                if card.name in self._mappable:  # the banner leads to the map
                    from core.tasks import why_not

                    self.class_map_needed.emit(why_not(card, self.state.dataset) or "")

    def _add_card(self, card: ModelCard, reason: str | None) -> None:
        self._cards.append(card)
        self.model_combo.addItem(card.display_name)
        row = self.model_combo.count() - 1
        item = self.model_combo.model().item(row)
        if reason:
            item.setEnabled(False)
            item.setToolTip(reason)

    def select_model(self, name: str) -> bool:
        """Select a model by bundled name, card path, checkpoint or torchvision name (the --model option)."""
        try:
            wanted = resolve_model(name)
        except ModelError as exc:
            self.state.error.emit("Model", str(exc))
            return False
        for row, card in enumerate(self._cards):
            if card.name == wanted.name:
                self.model_combo.setCurrentIndex(row)
                return True
        self._model_opened(wanted)
        return True

    def current_card(self) -> ModelCard | None:
        row = self.model_combo.currentIndex()
        if row < 0 or not self.model_combo.model().item(row).isEnabled():
            return None
        return self._cards[row]

    def _show_card(self) -> None:
        card = self.current_card()
        segmentation = card is not None and card.task == "segmentation"
        self.tile_check.setVisible(segmentation)
        self.tile_spin.setVisible(segmentation)
        self.download_button.setVisible(card is not None and weights_missing(card))
        self.map_button.setVisible(card is not None and card.name in self._mappable)
        if card is None:
            dataset = self.state.dataset
            text = "No bundled model fits this dataset: open your own (Open…)." if dataset is not None else ""
            self.card_label.setText(text)
        else:
            text = describe_card(card)
            if card.name in self._mappable:
                mapped = self._class_maps.get(self._map_key(card, self.state.dataset))
                text += (
                    f"<br><i>its classes are named differently: {len(mapped)} of the dataset's classes mapped "
                    "(Map Classes… to change)</i>"
                    if mapped is not None
                    else "<br><i>its classes are named differently: Run (or Map Classes…) asks how the dataset's "
                    "map to them</i>"
                )
            if weights_missing(card):
                text += (
                    f"<br><span style='color:#b00020'>weights not downloaded: {card.weights_path.name} "
                    f"(Download weights, or put the file into {card.weights_path.parent})</span>"
                )
            self.card_label.setText(text)
        self.run_button.setEnabled(card is not None and not self.is_running())

    # -- running ----------------------------------------------------------------
    def is_running(self) -> bool:
        return self._worker is not None

    def start_run(self) -> bool:
        """Start (or resume) the selected model on the open dataset; False when nothing can run."""
        card, dataset = self.current_card(), self.state.dataset
        if card is None or dataset is None or self.is_running():
            return False
        device = self.device_combo.currentText()
        job = self._job
        resumable = (
            job is not None
            and job.card.name == card.name
            and job.dataset is dataset
            and device in ("auto", job.device)
            and not job.predictions.complete
        )
        if not resumable:
            self._job = None
        class_map = None
        if card.name in self._mappable:
            class_map = self._ask_class_map(card, dataset)
            if class_map is None:
                return False
        tile = self.tile_spin.value() if card.task == "segmentation" and self.tile_check.isChecked() else None
        gen = _run_generator(
            card, dataset, device, self.batch_spin.value(), tile, self._job if resumable else None, class_map
        )
        worker = create_worker(lambda: (yield from gen), _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(self._on_yielded)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        worker.aborted.connect(self._on_aborted)
        self._gen = gen
        worker.finished.connect(lambda: self._on_worker_done(worker) if shiboken6.isValid(self) else gen.close())
        self._worker = worker
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setFormat("loading model…")
        self.failures_label.clear()
        self.state.set_run_status(RunStatus(card.display_name, "running"))
        self.run_started.emit()
        worker.start()
        return True

    def download_weights(self) -> None:
        card = self.current_card()
        if card is None or not weights_missing(card) or self._download is not None:
            return
        download = WeightsDownload(card, self)
        download.progress.connect(self._download_progress)
        download.finished.connect(self._download_finished)
        download.failed.connect(self._download_failed)
        self._download = download
        self.download_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setFormat("downloading…")
        download.start()

    def _download_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done if total else 0)
        size = f" of {total / 1e6:,.1f} MB" if total else ""
        self.progress.setFormat(f"downloading {done / 1e6:,.1f} MB{size}")

    def _download_finished(self, path: str) -> None:
        self._download_done(f"downloaded {path}")

    def _download_failed(self, text: str) -> None:
        self._download_done(text, failed=True)

    def _download_done(self, text: str, failed: bool = False) -> None:
        self._download = None
        self.download_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setFormat(text if not failed else "download failed")
        if failed:
            self.state.error.emit("Weights", text)
        self._show_card()

    @staticmethod
    def _map_key(card: ModelCard, dataset) -> tuple[str, str]:
        return (card.name, str(dataset.root) if dataset is not None else "")

    def _ask_class_map(self, card: ModelCard, dataset, again: bool = False) -> dict[str, str] | None:
        """The user's map of the dataset's classes to the model's (asked once per model and dataset, or
        ``again`` when the user asks to change it: the dialog starts from the map made before)."""
        key = self._map_key(card, dataset)
        if key not in self._class_maps or again:
            options = {}
            if card.task != "segmentation":  # the names --map-classes matches headless, and what ignoring means
                from core.inference.class_map import suggested_class_map

                options = {"suggestion": suggested_class_map(card.classes, dataset.classes), "note": CLASSIFIER_NOTE}
            dialog = ClassMapDialog(
                dataset.classes, card.classes, card.display_name, self, current=self._class_maps.get(key), **options
            )
            if not dialog.exec():
                return self._class_maps.get(key)
            if not dialog.class_map():
                self.state.error.emit("Class map", "no dataset class is mapped to a model class: nothing to run")
                return None
            if self._class_maps.get(key) != dialog.class_map():
                self._job = None  # a run made with another map cannot be resumed with this one
            self._class_maps[key] = dialog.class_map()
        return self._class_maps[key]

    def ask_class_map(self) -> None:
        """Map Classes…: make or change the map of the selected model (from the button or the banner)."""
        card, dataset = self.current_card(), self.state.dataset
        if card is not None and dataset is not None and card.name in self._mappable and not self.is_running():
            self._ask_class_map(card, dataset, again=True)
            self._show_card()

    def cancel(self) -> None:
        if self._download is not None:
            self._download.cancel()
        if self._worker is not None:
            self._worker.quit()
            self.progress.setFormat("cancelling…")

    def _on_yielded(self, value) -> None:
        if not hasattr(value, "images_per_s"):  # the job itself, once built in the worker
            self._job = value
            self.state.set_predictions(value.predictions)
            self.state.set_run_status(RunStatus(value.card.display_name, "running", predictions=value.predictions))
            return
        progress = value
        self.progress.setMaximum(max(progress.total, 1))
        self.progress.setValue(progress.done)
        self.progress.setFormat(f"{progress.done:,} / {progress.total:,}")
        eta = "" if progress.eta == float("inf") else f" · {progress.eta:,.0f} s left"
        self.rate_label.setText(f"{progress.images_per_s:,.0f} images/s on {progress.device}{eta}")
        self._show_failures()
        now = time.monotonic()
        if now - self._last_emit >= LIVE_UPDATE_INTERVAL:
            self._last_emit = now
            self.state.set_predictions(self._job.predictions)

    def _show_failures(self) -> None:
        errors = self._job.predictions.errors if self._job else {}
        if not errors:
            self.failures_label.clear()
            return
        ids = self._job.dataset.sample_ids
        listing = "\n".join(f"{ids[i]}: {msg}" for i, msg in sorted(errors.items())[:50])
        self.failures_label.setText(f"{len(errors)} samples could not be read and were skipped (hover for the list)")
        self.failures_label.setToolTip(listing)

    def _on_returned(self, predictions) -> None:
        if len(predictions) and not predictions.num_done:
            self._fail(nothing_read(predictions, self._job.dataset.sample_ids), predictions)
            return
        self._on_worker_done()
        self.state.set_predictions(predictions)
        self.progress.setFormat(f"done: {predictions.num_done:,} predicted in {predictions.seconds:.1f} s")
        self.progress.setValue(self.progress.maximum())
        self._show_failures()
        self.state.set_run_status(RunStatus(self._job.card.display_name, "finished", predictions=predictions))
        self.run_finished.emit()

    def _on_errored(self, exc: Exception) -> None:
        self._fail(str(exc) or type(exc).__name__, self._job.predictions if self._job is not None else None)

    def _fail(self, message: str, predictions) -> None:
        """The run ended without results worth the name: an exception, or no sample read at all."""
        self._on_worker_done()
        self.progress.setFormat("failed")
        self._show_failures()
        if predictions is not None:
            self.state.set_predictions(predictions)  # keep what was done
        card = self._job.card if self._job is not None else self.current_card()
        self.state.set_run_status(RunStatus(card.display_name if card else "the model", "failed", message, predictions))
        self.state.error.emit("Run failed", message)
        self.run_failed.emit(message)

    def _on_aborted(self) -> None:
        self._on_worker_done()
        if self._job is not None:
            self.state.set_predictions(self._job.predictions)
            done = self._job.predictions.num_done
            self.progress.setFormat(f"cancelled after {done:,} samples — Run resumes")
            self.state.set_run_status(
                RunStatus(self._job.card.display_name, "cancelled", predictions=self._job.predictions)
            )
        self.run_cancelled.emit()

    def _on_worker_done(self, worker=None) -> None:
        """The run ended (returned, failed or cancelled); called again by the worker's finished: harmless.

        The generator is not executing by then (it returned, raised, or waits at a yield after a cancel),
        so closing it here ends its DataLoader and any decoding processes at once.
        """
        if self._worker is None or (worker is not None and worker is not self._worker):
            return  # already ended, or a finished signal of an earlier run arriving late
        self._gen.close()
        self._worker = None
        self.cancel_button.setEnabled(False)
        self._show_card()

    def _reset_progress(self) -> None:
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.rate_label.clear()
        self.failures_label.clear()
