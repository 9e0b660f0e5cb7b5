"""Running a model over a dataset in batches, with progress, cancel and resume.

:class:`InferenceJob` owns a :class:`Predictions` that it fills batch by batch. ``run()`` is a
generator that yields one :class:`Progress` per batch; stopping the iteration between two
yields is cancelling (superqt's GeneratorWorker does exactly that), and what was done so far
stays in ``job.predictions``. Calling ``run()`` again resumes with the samples not yet done.
The job starts no threads of its own: the GUI runs the generator in a worker, the CLI in a loop.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass

import numpy as np

from core.datasets.base import Dataset, SampleError
from core.inference.predictions import Predictions
from core.models.cards import ModelCard, ModelError


@dataclass(frozen=True)
class Progress:
    done: int  # samples handled so far in this job (predicted or failed)
    total: int
    failed: int
    elapsed: float  # seconds since this run started
    images_per_s: float
    device: str

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def eta(self) -> float:
        """Seconds left at the current rate (inf before the first batch)."""
        if self.images_per_s <= 0:
            return float("inf")
        return max(self.total - self.done, 0) / self.images_per_s


def pick_device(requested: str | None = None) -> str:
    """The device to run on: the one asked for, else CUDA, else Apple MPS, else the CPU."""
    import torch

    if requested and requested != "auto":
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise ModelError("CUDA was asked for but no CUDA GPU is available")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def available_devices() -> list[str]:
    """Every device a run can use here, the default first."""
    import torch

    devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices + ["cpu"]


def check_fit(card: ModelCard, dataset: Dataset) -> None:
    """Refuse a model that does not fit the dataset, before any work is done."""
    if dataset.task != card.task and {dataset.task, card.task} != {"binary", "multiclass"}:
        raise ModelError(f"{card.display_name} is a {card.task} model; {dataset.name} is a {dataset.task} dataset")
    if dataset.classes and list(dataset.classes) != list(card.classes):
        raise ModelError(
            f"{card.display_name} predicts {card.num_classes} classes ({_preview(card.classes)}), "
            f"but {dataset.name} has {dataset.num_classes} ({_preview(dataset.classes)})"
        )


def _preview(names: Sequence[str], n: int = 4) -> str:
    head = ", ".join(names[:n])
    return head + (", ..." if len(names) > n else "")


class _Batches:
    """torch Dataset view: index -> (index, C x H x W float32 or None, error message)."""

    def __init__(self, dataset: Dataset, card: ModelCard, indices: np.ndarray) -> None:
        self.dataset, self.card, self.indices = dataset, card, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int):
        index = int(self.indices[k])
        try:
            return index, self.card.preprocess(self.dataset.load_image(index)), ""
        except SampleError as exc:
            return index, None, str(exc)
        except Exception as exc:  # a reader bug must not end the run: record it on the sample
            return index, None, f"{type(exc).__name__}: {exc}"


def _collate(items):
    import torch

    good = [(i, x) for i, x, _ in items if x is not None]
    failed = [(i, err) for i, x, err in items if x is None]
    indices = [i for i, _ in good]
    batch = torch.from_numpy(np.stack([x for _, x in good])) if good else None
    return indices, batch, failed


def default_workers(n_samples: int) -> int:
    """Decode in worker processes only when there is enough work to pay for starting them."""
    if n_samples < 2000:
        return 0
    return max(1, min(4, (os.cpu_count() or 2) - 1))


class InferenceJob:
    """A model run over (part of) a dataset. See the module docstring."""

    def __init__(
        self,
        card: ModelCard,
        dataset: Dataset,
        *,
        device: str | None = None,
        batch_size: int = 64,
        num_workers: int | None = None,
        model=None,
    ) -> None:
        check_fit(card, dataset)
        self.card = card
        self.dataset = dataset
        self.device = pick_device(device)
        self.batch_size = max(1, int(batch_size))
        self.num_workers = num_workers
        self._model = model
        self.predictions = Predictions.empty(
            card.task if dataset.task != "binary" else "binary",
            card.classes,
            dataset.sample_ids,
            model=card.name,
            device=self.device,
        )

    def _load_model(self):
        import torch

        if self._model is None:
            from core.models.loading import build_model

            self._model = build_model(self.card)
        self._model = self._model.to(self.device).eval()
        torch.set_grad_enabled(False)
        return self._model

    def _scores(self, logits):
        import torch

        if self.card.task == "multilabel":
            return torch.sigmoid(logits)
        if logits.shape[1] == 1 and self.card.num_classes == 2:  # one-logit binary head
            p = torch.sigmoid(logits)
            return torch.cat([1 - p, p], dim=1)
        return torch.softmax(logits, dim=1)

    def run(self, indices: Sequence[int] | np.ndarray | None = None) -> Generator[Progress, None, Predictions]:
        """Predict the given samples (default: every sample not yet done), one Progress per batch."""
        import torch
        from torch.utils.data import DataLoader

        todo = self.predictions.pending() if indices is None else np.asarray(indices, dtype=np.int64)
        model = self._load_model()
        workers = default_workers(len(todo)) if self.num_workers is None else self.num_workers
        loader = DataLoader(
            _Batches(self.dataset, self.card, todo),
            batch_size=self.batch_size,
            num_workers=workers,
            collate_fn=_collate,
            pin_memory=self.device.startswith("cuda"),
            persistent_workers=False,
        )
        preds = self.predictions
        start = time.perf_counter()
        handled = failed = 0
        checked = False
        with torch.inference_mode():
            for batch_indices, batch, batch_failed in loader:
                for index, message in batch_failed:
                    preds.errors[index] = message
                if batch is not None:
                    try:
                        logits = model(batch.to(self.device, non_blocking=True))
                    except RuntimeError as exc:  # shape mismatch, out of memory, a broken model
                        raise ModelError(
                            f"{self.card.display_name} failed on a batch: {str(exc).splitlines()[0]} "
                            f"(the {preds.num_done} samples done before are kept)"
                        ) from exc
                    if not checked and logits.shape[1] not in (self.card.num_classes, 1):
                        raise ModelError(
                            f"{self.card.display_name} gives {logits.shape[1]} outputs, "
                            f"but its card names {self.card.num_classes} classes"
                        )
                    checked = True
                    scores = self._scores(logits.float()).cpu().numpy()
                    preds.scores[batch_indices] = scores
                    preds.done[batch_indices] = True
                handled += len(batch_indices) + len(batch_failed)
                failed += len(batch_failed)
                elapsed = time.perf_counter() - start
                yield Progress(handled, len(todo), failed, elapsed, handled / elapsed if elapsed else 0.0, self.device)
        preds.seconds += time.perf_counter() - start
        return preds


def run_to_end(job: InferenceJob, on_progress=None) -> Predictions:
    """Drive a job's generator to the end (CLI, tests); ``on_progress`` sees each Progress."""
    gen = job.run()
    while True:
        try:
            progress = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(progress)
