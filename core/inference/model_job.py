"""What every model run over a dataset shares: the batch size that fits, what the run learned, the failures.

:class:`ModelJob` is the base of :class:`~core.inference.runner.InferenceJob` (classifiers),
:class:`~core.inference.detection.DetectionJob` (detectors, localizers) and
:class:`~core.inference.segmentation.SegmentationJob` (segmenters). A subclass sets ``card``, ``device``,
``predictions`` (anything with ``num_done``) and ``_fit`` (a :class:`BatchFit`) in its constructor and
builds its model in ``_load_model()``; it gets the public ``batch_size``, ``notes`` and ``prepare()``, and the
two steps of an out-of-memory retry: ``_shrink`` (halve the batch, say so, free the cache) and ``_failure``
(the error the user sees when no retry is left).
"""

from __future__ import annotations

from core.inference.batch_sizes import BatchFit
from core.inference.devices import device_failed, is_out_of_memory
from core.models.cards import ModelCard, ModelError


class ModelJob:
    """A model run over (part of) a dataset in batches; see the module docstring for what a subclass sets."""

    card: ModelCard
    device: str
    _fit: BatchFit
    #: What the failure messages count: the classifier's and segmenter's samples, the detector's images.
    counted = "samples"

    @property
    def batch_size(self) -> int:
        """Images per forward pass now: the size asked for, or less after an out-of-memory error."""
        return self._fit.size

    @property
    def notes(self) -> list[str]:
        """What the user should know about how the run went (smaller batches, a compile that failed)."""
        return self._fit.notes

    def prepare(self) -> None:
        """Build the model and put it on the device now, so that a model that cannot load fails before the run."""
        self._load_model()

    def _load_model(self):
        raise NotImplementedError

    def _shrink(self, size: int) -> None:
        """``size`` images did not fit: halve the batch (remembered for the next run) and free the GPU's cache."""
        self._fit.shrink(size)
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    def _failure(self, exc: Exception) -> ModelError:
        """The error that ends the run, in the user's words: out of memory, a GPU that failed, a model that did."""
        kept = f"the {self.predictions.num_done} {self.counted} done before are kept"
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        if is_out_of_memory(exc):
            if self._fit.size == 1:
                return ModelError(f"{self.device} ran out of memory even with one image per batch ({first}); {kept}")
            # A segmenter's batch is not halved (nor a classifier's, when the copy to the device fails): say so.
            smaller = f"with a batch of {self._fit.size} ({first}); {kept}. Try a smaller batch size"
            return ModelError(f"{self.device} ran out of memory {smaller}")
        if device_failed(exc):
            return ModelError(f"the GPU failed during the run ({first}); {kept}. Run again, or on another device")
        return ModelError(f"{self.card.display_name} failed on a batch: {first} ({kept})")
