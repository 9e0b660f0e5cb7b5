"""ModelJob, the base of the three model runs: one batch size, notes and prepare(), one wording of a failure;
DecodedSamples, what their loaders read."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from core.inference import run_to_end
from core.inference.model_job import DecodedSamples, ModelJob
from core.inference.segmentation import SegmentationJob
from core.models.cards import ModelError
from tests.core.test_segmentation_inference import Shapes, card_for, local_model


class OutOfMemoryAfter(nn.Module):
    """A segmenter whose second forward pass runs out of memory."""

    def __init__(self) -> None:
        super().__init__()
        self.model, self.calls = local_model(), 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.model(x)


def shapes() -> Shapes:
    return Shapes([(32, 32), (40, 27), (19, 61), (32, 32)])


def test_a_segmentation_job_has_the_batch_size_notes_and_prepare_of_every_model_job(tmp_path):
    job = SegmentationJob(card_for(), shapes(), device="cpu", batch_size=3, run_dir=tmp_path, model=local_model())
    assert isinstance(job, ModelJob)
    assert job.batch_size == 3 and job.notes == []
    job.prepare()
    assert not job._model.training  # built and put on the device before the run


def test_a_segmenter_out_of_memory_says_so_and_suggests_a_smaller_batch(tmp_path):
    job = SegmentationJob(card_for(), shapes(), device="cpu", batch_size=2, run_dir=tmp_path, model=OutOfMemoryAfter())
    expected = r"cpu ran out of memory with a batch of 2 .*the \d samples done before are kept\. Try a smaller batch"
    with pytest.raises(ModelError, match=expected):
        run_to_end(job)
    assert job.predictions.num_done == 2


def test_a_gpu_that_fails_under_a_segmenter_is_told_apart_from_the_model(tmp_path):
    class GpuFails(OutOfMemoryAfter):
        def forward(self, x):
            raise RuntimeError("CUDA error: an illegal memory access was encountered")

    job = SegmentationJob(card_for(), shapes(), device="cpu", batch_size=2, run_dir=tmp_path, model=GpuFails())
    with pytest.raises(ModelError, match=r"the GPU failed during the run .*Run again, or on another device"):
        run_to_end(job)


def test_decoded_samples_give_images_masks_and_each_samples_own_errors():
    dataset = Shapes([(8, 8), (6, 5), (7, 9)], broken=1, bad_mask=2)
    dataset.images[0] = dataset.images[0][:, :, 0]  # a gray image
    samples = DecodedSamples(dataset, np.array([0, 1, 2]), masks=True, rgb=True)
    gray, broken, bad_mask = (samples[k] for k in range(len(samples)))
    assert gray.image.shape == (8, 8, 3) and (gray.image[:, :, 2] == dataset.images[0]).all()
    assert (gray.mask == dataset.masks[0]).all() and gray.error == gray.mask_error == ""
    assert broken.image is None and "cannot decode (truncated file)" in broken.error
    assert bad_mask.mask is None and bad_mask.mask_error == "mask is 9x6 but the image is 9x7"
    images_only = DecodedSamples(dataset, np.array([0, 2]))
    assert images_only[0].image.ndim == 2 and images_only[1].mask is None and images_only[1].mask_error == ""
