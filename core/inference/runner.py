"""Running a model over a dataset in batches, with progress, cancel and resume, as fast as the device allows.

:class:`InferenceJob` owns a :class:`Predictions` that it fills batch by batch. ``run()`` is a
generator that yields one :class:`Progress` per batch; stopping the iteration between two
yields is cancelling (superqt's GeneratorWorker does exactly that), and what was done so far
stays in ``job.predictions``. Calling ``run()`` again resumes with the samples not yet done.
The job starts no threads of its own: the GUI runs the generator in a worker, the CLI in a loop.

Speed: images are decoded in DataLoader worker processes (spawned, so it is safe after CUDA
started); on CUDA batches go through pinned memory with non-blocking copies, in channels_last,
under autocast (bfloat16 where the GPU has it, else float16), and JPEG files are decoded on the
GPU itself (nvJPEG through TorchCodec, else torchvision; workers only read the bytes). A thread prepares the
next batch (decoding on the device, the copy from pinned memory, on a CUDA stream of its own) while the model
runs the current one (``feed``). The batch size may be "auto": on out-of-memory it is halved and the batch
retried, and the size that fits is remembered per model and device. ``torch.compile`` is optional.

Embeddings (``embeddings=True``): the input of the model's last linear layer per sample, captured by a hook in
the same forward pass as the scores (``core/inference/embeddings.py``), written as float16 rows into an
N x D ``.npy`` (``embeddings_path``, default a temporary file) that is put in place when every sample is
handled; ``job.embeddings`` is then that array, memory-mapped read-only, its filled rows the predictions'
``done``.

The parts live beside this module: device choice and failures (``devices``), class maps and fit checks
(``class_map``), DataLoader workers (``batches``), the batches made ready ahead (``feed``), GPU JPEG decoding
(``jpeg``), the batch-size cache (``batch_sizes``), channels_last / compile / autocast (``acceleration``),
outputs to class scores (``outputs``), Progress and ``run_to_end`` (``progress``). Preprocessing, for images
and for tensors, is ``core/models/preprocess.py``.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
import time
from collections.abc import Generator, Sequence
from pathlib import Path

import numpy as np

from core.datasets.base import Dataset
from core.inference.acceleration import autocast_for, fast_model
from core.inference.batch_sizes import BatchFit, cache_key
from core.inference.batches import FileBytes, ThreadedBatches, batches_of, collate_bytes, default_workers, make_loader
from core.inference.class_map import ClassMapping, check_fit
from core.inference.devices import is_out_of_memory, pick_device
from core.inference.embeddings import RunEmbeddings
from core.inference.feed import DeviceFeed, to_device
from core.inference.jpeg import decode_on_device, jpeg_files, pick_jpeg_library
from core.inference.model_job import ModelJob
from core.inference.outputs import as_logits, class_scores
from core.inference.predictions import Predictions
from core.inference.progress import Progress
from core.models.cards import ModelCard, ModelError
from core.models.loading import build_model

JPEG_DECODERS = ("auto", "opencv", "device")


def temporary_folder(prefix: str) -> Path:
    """A new folder in the system's temporary folder, removed when the process ends (a run's embeddings are
    copied into the project store when the run is kept: the temporary copy must not pile up, run after run).
    A memory map of a file in it stays readable until then."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


class InferenceJob(ModelJob):
    """A model run over (part of) a dataset. See the module docstring.

    ``batch_size``: an int, or "auto" (start from the size remembered for this model and device, else
    256 on CUDA / 64 elsewhere). ``amp``: autocast on CUDA (bfloat16 where supported, else float16).
    ``channels_last``: None = on CUDA only. ``compile``: False, True, or a torch.compile backend name.
    ``jpeg_decode``: "auto" (on the GPU when the device is CUDA and the images are JPEG files),
    "opencv" (always in the workers), "device" (decoded on the run device, whatever it is). ``jpeg_library``:
    which decodes on the device, "auto" (TorchCodec where it imports, else torchvision), "torchcodec", "torchvision".
    ``class_map``: run a model whose classes only overlap the dataset's (see :func:`map_classes`).
    ``embeddings``: capture each sample's embedding too (ModelError at the first step for a model that gives
    none, with the reason); ``embeddings_path``: where the N x D float16 ``.npy`` goes (default: a new
    temporary folder).
    """

    def __init__(
        self,
        card: ModelCard,
        dataset: Dataset,
        *,
        device: str | None = None,
        batch_size: int | str | None = 64,
        num_workers: int | None = None,
        model=None,
        amp: bool = True,
        channels_last: bool | None = None,
        compile: bool | str = False,
        jpeg_decode: str = "auto",
        jpeg_library: str = "auto",
        class_map: ClassMapping | None = None,
        mp_context: str = "spawn",
        task: str | None = None,
        embeddings: bool = False,
        embeddings_path: str | Path | None = None,
    ) -> None:
        check_fit(card, dataset, class_map)
        if jpeg_decode not in JPEG_DECODERS:
            raise ModelError(f"jpeg_decode must be one of {JPEG_DECODERS}, not {jpeg_decode!r}")
        self.card = card
        self.dataset = dataset
        self.device = pick_device(device)
        self.num_workers = num_workers
        self.amp = amp
        self.channels_last = self.device.startswith("cuda") if channels_last is None else channels_last
        self.compile = compile
        self.jpeg_decode = jpeg_decode
        self.jpeg_library = pick_jpeg_library(jpeg_library)  # ModelError now for a library that cannot be used
        self.class_map = class_map
        self.mp_context = mp_context
        self._model = model
        self._runnable = None
        self._fit = BatchFit.start(batch_size, cache_key(card, self.device, amp), self.device)
        classes = class_map.dataset_classes if class_map else card.classes
        self.task = task or card.task  # the run's task, as the registry decides it (core.tasks.for_run)
        self.multilabel = self.task == "multilabel"  # one sigmoid per class rather than a softmax
        self.predictions = Predictions.empty(
            self.task,
            classes,
            dataset.sample_ids,
            model=card.name,
            device=self.device,
        )
        #: The capture and store of the embeddings (None when not asked for); ``distributed`` merges into it.
        self.embedding_run: RunEmbeddings | None = None
        if embeddings:
            if embeddings_path is None:
                embeddings_path = temporary_folder("cvlens-embeddings-") / "embeddings.npy"
            self.embedding_run = RunEmbeddings(embeddings_path, len(dataset))

    @property
    def embeddings(self):
        """N x D float16 embeddings (memory-mapped, read-only) once every sample is handled; rows of samples
        not predicted (``predictions.done`` False) are zeros. None before, or when not asked for."""
        return self.embedding_run.array if self.embedding_run is not None else None

    @property
    def embeddings_path(self) -> Path | None:
        """Where the embeddings are written (None when not asked for); the file exists once they are complete."""
        return self.embedding_run.path if self.embedding_run is not None else None

    # -- the model ------------------------------------------------------------------------
    def _load_model(self):
        if self._runnable is not None:
            return self._runnable
        if self._model is None:
            self._model = build_model(self.card)
        self._model = self._model.to(self.device).eval()
        if self.embedding_run is not None:  # hooked before the first pass, so a compiled graph has the hook
            self.embedding_run.attach(self._model)
        options = {"channels_last": self.channels_last, "compile": self.compile, "notes": self._fit.notes}
        self._runnable = fast_model(self._model, self.device, **options)
        return self._runnable

    def _autocast(self):
        return autocast_for(self._model, self.device, self.amp)

    # -- one batch ------------------------------------------------------------------------
    def _forward(self, x):
        return as_logits(self._runnable(x)).float()

    def _predict(self, indices: list[int], batch) -> int:
        """Run the model on one decoded batch, in chunks of the current batch size; write the scores.
        Returns how many samples failed (scores that are not finite)."""
        import torch

        failed = 0
        layout = torch.channels_last if self.channels_last and batch.ndim == 4 else torch.contiguous_format
        try:
            x = batch.to(self.device, non_blocking=True, memory_format=layout)
        except Exception as exc:
            raise self._failure(exc) from exc
        start = 0
        while start < len(indices):
            size = self._fit.size
            if self.embedding_run is not None:
                self.embedding_run.clear()  # rows of a pass that ran out of memory, retried smaller
            try:
                with self._autocast():
                    scores = class_scores(
                        self.card, self._forward(x[start : start + size]), self.class_map, self.multilabel
                    )
            except ModelError:
                raise
            except Exception as exc:  # out of memory, a broken model, a GPU that went away
                if is_out_of_memory(exc) and size > 1:
                    self._shrink(size)
                    continue
                if self._runnable is not self._model and not is_out_of_memory(exc):
                    self._fit.notes.append(f"torch.compile failed ({type(exc).__name__}): ran without it")
                    self._runnable = self._model
                    continue
                raise self._failure(exc) from exc
            chunk = np.asarray(indices[start : start + size], dtype=np.int64)
            failed += self._record(chunk, scores)
            if self.embedding_run is not None:
                self._write_embeddings(chunk)
            start += size
        return failed

    def _record(self, chunk: np.ndarray, scores: np.ndarray) -> int:
        """Write a chunk's scores; a sample whose scores are not finite (NaN weights, an overflow) is
        that sample's error, not a prediction. Returns how many failed."""
        preds = self.predictions
        if len(scores) != len(chunk):  # a graph that reshapes its batch away
            raise ModelError(
                f"{self.card.display_name} gave {len(scores)} outputs for a batch of {len(chunk)} images; "
                "it may only work on one image at a time (try batch size 1)"
            )
        finite = np.isfinite(scores).all(axis=1)
        preds.scores[chunk[finite]] = scores[finite]
        preds.done[chunk[finite]] = True
        for index in chunk[~finite].tolist():
            preds.errors[index] = f"{self.card.display_name} gave scores that are not finite (NaN or infinite)"
        return int((~finite).sum())

    def _write_embeddings(self, chunk: np.ndarray) -> None:
        """The chunk's rows, for the samples whose scores were recorded (so rows written = ``done``)."""
        rows = self.embedding_run.take()
        if len(rows) != len(chunk):
            raise ModelError(
                f"{self.card.display_name} gave {len(rows)} embeddings for a batch of {len(chunk)} images "
                f"({self.embedding_run.capture.layer_name} ran {'more' if len(rows) > len(chunk) else 'fewer'} times)"
            )
        recorded = self.predictions.done[chunk]
        self.embedding_run.write(chunk[recorded], rows[recorded])

    # -- decoding -------------------------------------------------------------------------
    def _decode_on_device_wanted(self, todo: np.ndarray) -> bool:
        if self.jpeg_decode == "opencv" or not len(todo):
            return False
        if self.jpeg_decode == "auto" and not self.device.startswith("cuda"):
            return False
        return jpeg_files(self.dataset, todo[:16])

    def _loader(self, todo: np.ndarray, on_device: bool):
        import torch

        if on_device and self.num_workers is None:  # the GPU decodes: threads read the files
            return ThreadedBatches(FileBytes(self.dataset, self.card, todo), self._fit.size, collate_bytes)
        return make_loader(
            self.dataset,
            self.card,
            todo,
            file_bytes=on_device,
            batch_size=self._fit.size,
            workers=default_workers(len(todo)) if self.num_workers is None else self.num_workers,
            pin_memory=self.device.startswith("cuda") and not on_device and torch.cuda.is_available(),
            mp_context=self.mp_context,
        )

    def _decode_on_device(self, indices: list[int], items) -> tuple[list[int], object, list[tuple[int, str]]]:
        """JPEG bytes (and arrays a worker decoded itself) -> a preprocessed batch on the run device."""
        return decode_on_device(self.card, self.dataset, self.device, indices, items, self.jpeg_library)

    def _ready(self, loaded, on_device: bool):
        """A loaded batch made ready on the device (in the feed's thread, see ``feed``): decoded there when
        ``on_device``, copied there (pinned, non-blocking on CUDA) in the layout the model runs in."""
        import torch

        indices, batch, failed = loaded
        if batch is None:
            return loaded
        try:
            if on_device:
                indices, batch, more = self._decode_on_device(indices, batch)
                failed = failed + more
            if batch is not None:
                layout = torch.channels_last if self.channels_last and batch.ndim == 4 else torch.contiguous_format
                batch = to_device(batch, self.device, layout)
        except Exception as exc:  # the GPU went away between two batches
            raise self._failure(exc) from exc
        return indices, batch, failed

    # -- the run --------------------------------------------------------------------------
    def run(self, indices: Sequence[int] | np.ndarray | None = None) -> Generator[Progress, None, Predictions]:
        """Predict the given samples (default: every sample not yet done), one Progress per batch."""
        todo = self.predictions.pending() if indices is None else np.asarray(indices, dtype=np.int64)
        if indices is None and self.embedding_run is not None:  # rows lost with a failed run's store
            todo = np.union1d(todo, self.embedding_run.missing(self.predictions.done))
        self._load_model()
        on_device = self._decode_on_device_wanted(todo)
        loader = self._loader(todo, on_device)
        preds = self.predictions
        start = time.perf_counter()
        try:
            yield from self._batches(loader, preds, on_device, len(todo), start)
        except GeneratorExit:  # cancelled: the embeddings so far are kept for the resume
            raise
        except BaseException:
            self._abort_embeddings()
            raise
        preds.seconds += time.perf_counter() - start
        if self.embedding_run is not None and not len(preds.pending()):
            self.embedding_run.finish()
        return preds

    def _abort_embeddings(self) -> None:
        if self.embedding_run is not None:
            self.embedding_run.abort()

    def _batches(self, loader, preds: Predictions, on_device: bool, total: int, start: float):
        """Predict the loader's batches, one Progress each."""
        import torch

        handled = failed = 0
        feed = DeviceFeed(batches_of(loader, preds), lambda loaded: self._ready(loaded, on_device), self.device)
        # closed explicitly: on a cancel or an error the feed's thread has ended before the run returns
        with torch.inference_mode(), contextlib.closing(iter(feed)) as ready:
            for batch_indices, batch, batch_failed in ready:
                for index, message in batch_failed:
                    preds.errors[index] = message
                not_finite = self._predict(batch_indices, batch) if batch is not None else 0
                handled += len(batch_indices) + len(batch_failed)
                failed += len(batch_failed) + not_finite
                elapsed = time.perf_counter() - start
                rate = handled / elapsed if elapsed else 0.0
                yield Progress(handled, total, failed, elapsed, rate, self.device, self._fit.size)
