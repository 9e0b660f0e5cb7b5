"""The model runner pane: pick a model and a device, run, watch progress, cancel, resume.

What the pane decides lives in core (:class:`core.tasks.run_settings.RunPlan`): which models are offered for
the open dataset and why the others are not, the class map per (model, dataset), whether Run resumes the
last job. The pane shows it, asks the user (the class-map dialog) and drives the job in a worker.
"""

from __future__ import annotations

import time

import shiboken6
from PySide6.QtCore import Qt, Signal
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

from core import tasks
from core.inference import Progress
from core.inference.embeddings import NoEmbeddings
from core.models import ModelCard, ModelError
from core.models.loading import resolve_model
from core.tasks.catalogue import Offer, zoo_cards
from core.tasks.run_settings import RunPlan, RunSettings
from gui.runner.class_map_dialog import CLASSIFIER_NOTE, SEGMENTATION_NOTE, ClassMapDialog
from gui.runner.model_sources import ModelOpener, WeightsDownload
from gui.state import AppState, RunStatus
from gui.widgets import FirstPaint
from gui.workers import create_worker, ready_device, with_torch

#: predictions_changed is emitted at most this often while a run fills them (seconds).
LIVE_UPDATE_INTERVAL = 0.25
EMBEDDINGS_TIP = (
    "Also keep each sample's embedding (the features the model's last layer reads), computed in the same pass: "
    "the analysis views use them for the map, duplicates and leaks, and label issues"
)


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


def nothing_read(predictions, sample_ids) -> str:
    """Why a run that went to the end has no result: every sample failed (the first failure as an example)."""
    if not predictions.errors:
        return "the run ended without predicting a sample"
    first, why = min(predictions.errors.items())
    failed = f"{len(predictions.errors):,} of {len(predictions):,}"
    return f"no sample could be read: {failed} failed (the first, {sample_ids[first]}: {why})"


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
        #: The offers for the open dataset, the class maps made, the last run's job.
        self.plan = RunPlan()
        self._download: WeightsDownload | None = None
        self.opener = ModelOpener(self)
        self.opener.opened.connect(self._model_opened)
        self.opener.failed.connect(lambda text: self.state.error.emit("Cannot open the model", text))
        self._worker = None  # the run's worker: first the one that readies torch and the device, then the job's
        self._gen = None  # the job's generator, while its worker runs
        self._job = None  # the job of the run in progress or of the last one (None once the dataset changed)
        self._run_card: ModelCard | None = None  # the model of the run in progress (or of the last one)
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
        self.embeddings_check = QCheckBox("Embeddings")
        self.embeddings_check.setToolTip(EMBEDDINGS_TIP)
        #: Why a model gives no embeddings, by card name: learnt when a run asked it for them (it takes the
        #: model built to know), then its box is greyed out with the reason.
        self._no_embeddings: dict[str, str] = {}
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
        settings.addWidget(self.embeddings_check)
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
        # Listing devices imports torch (seconds, and its import holds the GIL for long stretches): start it
        # once the pane is on screen.
        if not self._devices_listed:
            self._devices_listed = True
            FirstPaint(self, self._list_devices)
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
        self.plan.catalogue.set_zoo(cards)
        if self.plan.dataset is not None and not self.is_running():
            self._fill_models()

    def _set_devices(self, devices: list[str]) -> None:
        current = self.device_combo.currentText()
        self.device_combo.clear()
        self.device_combo.addItems(["auto", *devices])
        self.device_combo.setCurrentText(current if current in devices else "auto")

    def _on_dataset(self, dataset) -> None:
        self.cancel()
        self.plan.set_dataset(dataset)
        self._job = self._run_card = None
        self._reset_progress()
        self._fill_models(refresh=False)

    def _fill_models(self, refresh: bool = True) -> None:
        """The plan's offers: bundled models and the user's own (those that run first, the others greyed out
        with the reason), then the torchvision networks that run on the dataset."""
        current = self.current_card()
        offers = self.plan.refresh() if refresh else self.plan.offers
        if self.plan.catalogue.problem:
            self.state.error.emit("Bundled models", self.plan.catalogue.problem)
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for row, offer in enumerate(offers):
            self.model_combo.addItem(offer.card.display_name)
            if not offer.enabled:
                item = self.model_combo.model().item(row)
                item.setEnabled(False)
                item.setToolTip(offer.reason)
            if offer.card is current:
                self.model_combo.setCurrentIndex(row)
        self.model_combo.blockSignals(False)
        self._show_card()

    def _model_opened(self, card: ModelCard) -> None:
        self.plan.catalogue.add_opened(card)
        self._fill_models()
        for row, offer in enumerate(self.plan.offers):
            if offer.card is card:
                if not offer.enabled:
                    self.state.error.emit("The model does not fit", offer.reason)
                self.model_combo.setCurrentIndex(row)
                if offer.needs_class_map:  # the banner leads to the map
                    self.class_map_needed.emit(offer.fit.reason)

    def select_model(self, name: str) -> bool:
        """Select a model by bundled name, card path, checkpoint or torchvision name (the --model option)."""
        try:
            wanted = resolve_model(name)
        except ModelError as exc:
            self.state.error.emit("Model", str(exc))
            return False
        for row, offer in enumerate(self.plan.offers):
            if offer.card.name == wanted.name:
                self.model_combo.setCurrentIndex(row)
                return True
        self._model_opened(wanted)
        return True

    def current_offer(self) -> Offer | None:
        """The offer of the selected model, None when none is selected or it is greyed out."""
        row = self.model_combo.currentIndex()
        if not 0 <= row < len(self.plan.offers) or not self.plan.offers[row].enabled:
            return None
        return self.plan.offers[row]

    def current_card(self) -> ModelCard | None:
        offer = self.current_offer()
        return offer.card if offer is not None else None

    def _show_card(self) -> None:
        offer = self.current_offer()
        per_pixel = offer is not None and tasks.of(offer.card).per_pixel
        self.tile_check.setVisible(per_pixel)
        self.tile_spin.setVisible(per_pixel)
        self.download_button.setVisible(offer is not None and offer.needs_download)
        self.map_button.setVisible(offer is not None and offer.needs_class_map)
        no_embeddings = self._no_embeddings.get(offer.card.name) if offer is not None else None
        if offer is not None and no_embeddings is None:
            no_embeddings = tasks.of(offer.card).no_embeddings or None
        self.embeddings_check.setEnabled(offer is not None and no_embeddings is None)
        self.embeddings_check.setToolTip(no_embeddings or EMBEDDINGS_TIP)
        if offer is None:
            text = "No bundled model fits this dataset: open your own (Open…)." if self.plan.dataset else ""
            self.card_label.setText(text)
        else:
            self.card_label.setText(describe_card(offer.card) + self._class_map_note(offer) + self._weights_note(offer))
        self.run_button.setEnabled(offer is not None and not self.is_running())

    def _class_map_note(self, offer: Offer) -> str:
        if not offer.needs_class_map:
            return ""
        mapped = self.plan.class_map(offer.card)
        if mapped is None:
            return (
                "<br><i>its classes are named differently: Run (or Map Classes…) asks how the dataset's map to them</i>"
            )
        return (
            f"<br><i>its classes are named differently: {len(mapped)} of the dataset's classes mapped "
            "(Map Classes… to change)</i>"
        )

    @staticmethod
    def _weights_note(offer: Offer) -> str:
        if not offer.needs_download:
            return ""
        path = offer.card.weights_path
        return (
            f"<br><span style='color:#b00020'>weights not downloaded: {path.name} "
            f"(Download weights, or put the file into {path.parent})</span>"
        )

    # -- running ----------------------------------------------------------------
    def is_running(self) -> bool:
        return self._worker is not None

    def start_run(self) -> bool:
        """Start (or resume) the selected model on the open dataset; False when nothing can run.

        A worker first imports torch and readies the device; the job is then made here (cheap by then), and
        a second worker runs it: every value it yields is a Progress."""
        settings = self._next_run()
        if settings is None:
            return False
        self._run_card, self._job = settings.card, None
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setFormat("loading model…")
        self.failures_label.clear()
        self.state.set_run_status(RunStatus(settings.card.display_name, "running", card=settings.card))
        self.run_started.emit()
        starter = create_worker(ready_device, settings.device, _start_thread=False, _ignore_errors=True)
        # finished, not returned: a worker asked to quit never says returned (errored comes before finished)
        starter.errored.connect(lambda exc: self._on_errored(exc) if shiboken6.isValid(self) else None)
        starter.finished.connect(lambda: self._launch(starter, settings) if shiboken6.isValid(self) else None)
        self._worker = starter
        starter.start()
        return True

    def _next_run(self) -> RunSettings | None:
        """The settings of the run Run starts (asking for the class map first when the model needs one)."""
        offer = self.current_offer()
        if offer is None or self.plan.dataset is None or self.is_running():
            return None
        if offer.needs_class_map and self.plan.class_map(offer.card) is None and not self._ask_class_map(offer):
            return None
        tile = self.tile_spin.value() if self.tile_check.isChecked() else None
        return self.plan.settings(
            offer.card,
            device=self.device_combo.currentText(),
            batch_size=self.batch_spin.value(),
            tile=tile,
            embeddings=self.embeddings_check.isChecked() and self.embeddings_check.isEnabled(),
        )

    def _launch(self, starter, settings: RunSettings) -> None:
        """torch and the device are ready: make the job (or take the one to resume) and run it in a worker."""
        if starter is not self._worker:  # it failed: the run has ended already
            return
        if starter.abort_requested:  # cancelled while torch was loading
            self._on_aborted()
            return
        try:
            job = self.plan.job_for(settings)
        except Exception as exc:  # whatever stops a job from being made ends the run, as in the worker
            self._on_errored(exc)
            return
        self._job = job
        self.state.set_predictions(job.predictions)
        self.state.set_run_status(
            RunStatus(settings.card.display_name, "running", predictions=job.predictions, card=settings.card)
        )
        gen = job.run()
        worker = create_worker(lambda: (yield from gen), _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        worker.aborted.connect(self._on_aborted)
        worker.finished.connect(lambda: self._on_worker_done(worker) if shiboken6.isValid(self) else gen.close())
        self._gen, self._worker = gen, worker
        worker.start()

    def download_weights(self) -> None:
        offer = self.current_offer()
        if offer is None or not offer.needs_download or self._download is not None:
            return
        card = offer.card
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

    def _ask_class_map(self, offer: Offer) -> bool:
        """Ask the user how the dataset's classes map to the model's (starting from the map made before, else
        from the names that match); False when no map is kept (cancelled, or a map that cannot run)."""
        card, dataset = offer.card, self.plan.dataset
        note = SEGMENTATION_NOTE if tasks.of(card).per_pixel else CLASSIFIER_NOTE
        current = self.plan.class_map(card)
        dialog = ClassMapDialog(
            dataset.classes, card.classes, card.display_name, self,
            suggestion=offer.fit.suggestion, current=current, note=note,
        )  # fmt: skip
        if not dialog.exec():
            return current is not None
        try:
            self.plan.set_class_map(card, dialog.class_map())
        except ModelError as exc:
            self.state.error.emit("Class map", str(exc))
            return False
        return True

    def ask_class_map(self) -> None:
        """Map Classes…: make or change the map of the selected model (from the button or the banner)."""
        offer = self.current_offer()
        if offer is not None and offer.needs_class_map and not self.is_running():
            self._ask_class_map(offer)
            self._show_card()

    def cancel(self) -> None:
        if self._download is not None:
            self._download.cancel()
        if self._worker is not None:
            self._worker.quit()
            self.progress.setFormat("cancelling…")

    def _on_progress(self, progress: Progress) -> None:
        job = self._job
        if job is None:  # the dataset changed while the run was stopping
            return
        self.progress.setMaximum(max(progress.total, 1))
        self.progress.setValue(progress.done)
        self.progress.setFormat(f"{progress.done:,} / {progress.total:,}")
        eta = "" if progress.eta == float("inf") else f" · {progress.eta:,.0f} s left"
        self.rate_label.setText(f"{progress.images_per_s:,.0f} images/s on {progress.device}{eta}")
        self._show_failures()
        now = time.monotonic()
        if now - self._last_emit >= LIVE_UPDATE_INTERVAL:
            self._last_emit = now
            self.state.set_predictions(job.predictions)

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
        if self._job is None:  # the dataset changed as the run ended
            self._on_worker_done()
            return
        if len(predictions) and not predictions.num_done:
            self._fail(nothing_read(predictions, self._job.dataset.sample_ids), predictions)
            return
        self._on_worker_done()
        self.state.set_predictions(predictions, getattr(self._job, "embeddings", None))
        self.progress.setFormat(f"done: {predictions.num_done:,} predicted in {predictions.seconds:.1f} s")
        self.progress.setValue(self.progress.maximum())
        self._show_failures()
        self.state.set_run_status(
            RunStatus(self._job.card.display_name, "finished", predictions=predictions, card=self._job.card)
        )
        self.run_finished.emit()

    def _on_errored(self, exc: Exception) -> None:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, NoEmbeddings) and self._run_card is not None:  # known now: its box is greyed out
            self._no_embeddings[self._run_card.name] = message
            self.embeddings_check.setChecked(False)  # a greyed tick would say they are computed
            message = f"{message}. Run again without embeddings"
        self._fail(message, self._job.predictions if self._job is not None else None)
        if isinstance(exc, NoEmbeddings):
            self.failures_label.setText(message)
            self.failures_label.setToolTip("")

    def _fail(self, message: str, predictions) -> None:
        """The run ended without results worth the name: an exception, or no sample read at all."""
        self._on_worker_done()
        self.progress.setFormat("failed")
        self._show_failures()
        if predictions is not None:
            self.state.set_predictions(predictions)  # keep what was done
        card = self._run_card
        self.state.set_run_status(
            RunStatus(card.display_name if card else "the model", "failed", message, predictions, card)
        )
        self.state.error.emit("Run failed", message)
        self.run_failed.emit(message)

    def _on_aborted(self) -> None:
        self._on_worker_done()
        job, card = self._job, self._run_card
        if job is not None:
            self.state.set_predictions(job.predictions)
            self.progress.setFormat(f"cancelled after {job.predictions.num_done:,} samples — Run resumes")
        elif card is not None:  # cancelled before the job was made
            self.progress.setFormat("cancelled")
        if card is not None:  # None: the dataset changed, the run is of no interest any more
            predictions = job.predictions if job is not None else None
            self.state.set_run_status(RunStatus(card.display_name, "cancelled", predictions=predictions, card=card))
        self.run_cancelled.emit()

    def _on_worker_done(self, worker=None) -> None:
        """The run ended (returned, failed or cancelled); called again by the worker's finished: harmless.

        The generator is not executing by then (it returned, raised, or waits at a yield after a cancel),
        so closing it here ends its DataLoader and any decoding processes at once.
        """
        if self._worker is None or (worker is not None and worker is not self._worker):
            return  # already ended, or a finished signal of an earlier run arriving late
        if self._gen is not None:
            self._gen.close()
        self._worker = self._gen = None
        self.cancel_button.setEnabled(False)
        self._show_card()

    def _reset_progress(self) -> None:
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.rate_label.clear()
        self.failures_label.clear()
