"""What every model run over a dataset shares: the batch size that fits, what the run learned, the failures.

:class:`ModelJob` is the base of :class:`~core.inference.runner.InferenceJob` (classifiers),
:class:`~core.inference.detection.DetectionJob` (detectors, localizers) and
:class:`~core.inference.segmentation.SegmentationJob` (segmenters). A subclass sets ``card``, ``device``,
``predictions`` (anything with ``num_done``) and ``_fit`` (a :class:`BatchFit`) in its constructor and
builds its model in ``_load_model()``; it gets the public ``batch_size``, ``notes`` and ``prepare()``, and the
two steps of an out-of-memory retry: ``_shrink`` (halve the batch, say so, free the cache) and ``_failure``
(the error the user sees when no retry is left). :class:`DecodedSamples` is what their loaders read: each
sample's image (and true mask, for a segmenter), or the error that is that sample's, never the run's end.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from core.datasets.base import Dataset
from core.inference.batch_sizes import BatchFit
from core.inference.devices import device_failed, is_out_of_memory
from core.inference.rescoring import sample_message
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


class Decoded(NamedTuple):
    """One sample as a loader gives it: the image (None when it cannot be read, ``error`` says why) and the
    true mask (None when not asked for, absent, or unreadable: ``mask_error`` says why)."""

    index: int
    image: np.ndarray | None
    mask: np.ndarray | None = None
    error: str = ""
    mask_error: str = ""


class DecodedSamples:
    """torch Dataset view: position -> :class:`Decoded`. ``masks``: read the true masks too (a mask whose size
    is not the image's is that sample's mask error). ``rgb``: a gray image becomes three equal channels."""

    def __init__(self, dataset: Dataset, indices: np.ndarray, *, masks: bool = False, rgb: bool = False) -> None:
        self.dataset, self.indices = dataset, indices
        self.masks, self.rgb = masks, rgb

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> Decoded:
        index = int(self.indices[k])
        try:
            image = self.dataset.load_image(index)
        except Exception as exc:  # SampleError, or a reader bug: recorded on the sample, never fatal
            return Decoded(index, None, error=sample_message(exc))
        if self.rgb and image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        return self._with_mask(index, image) if self.masks else Decoded(index, image)

    def _with_mask(self, index: int, image: np.ndarray) -> Decoded:
        try:
            mask = self.dataset.load_mask(index)
        except Exception as exc:
            return Decoded(index, image, mask_error=sample_message(exc))
        if mask is not None and mask.shape != image.shape[:2]:
            h, w = image.shape[:2]
            return Decoded(index, image, mask_error=f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is {w}x{h}")
        return Decoded(index, image, mask)


def as_list(items: list) -> list:
    """A loader's collate function that keeps a batch's samples as they are (images of several sizes)."""
    return items
