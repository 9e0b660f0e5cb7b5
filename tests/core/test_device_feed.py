"""The batches made ready one step ahead (core/inference/feed.py): batch k+1 is prepared while batch k is used.

On a CPU the feed runs the same thread and queue as on CUDA; only its stream and event are CUDA's (there is no
GPU here). What is checked: the overlap itself, the order, errors raised at their batch, a cancel that leaves
nothing running, and a runner whose predictions do not change.
"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from core.datasets import open_dataset
from core.inference import InferenceJob, run_to_end
from core.inference.feed import DeviceFeed, to_device
from core.models import ModelCard, ModelError
from core.models.smallcnn import SmallCNN


def _feed_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cvlens-device-feed"]


def _prepared(batch: int):
    return [batch], torch.full((1, 2), float(batch)), []


def test_the_next_batch_is_prepared_while_the_consumer_holds_the_current_one():
    second_prepared = threading.Event()

    def prepare(batch):
        if batch == 1:
            second_prepared.set()
        return _prepared(batch)

    seen = []
    for indices, tensor, _ in DeviceFeed(range(4), prepare, "cpu"):
        if indices == [0]:  # the consumer is still on batch 0: batch 1 is being made ready meanwhile
            assert second_prepared.wait(10)
        seen.append((indices, tensor[0, 0].item()))
    assert seen == [([k], float(k)) for k in range(4)]
    assert not _feed_threads()


def test_an_error_while_preparing_is_raised_at_its_batch_after_the_batches_before():
    def prepare(batch):
        if batch == 2:
            raise ModelError("decoding failed at batch 2")
        return _prepared(batch)

    seen = []
    with pytest.raises(ModelError, match="batch 2"):
        for indices, _, _ in DeviceFeed(range(5), prepare, "cpu"):
            seen.append(indices[0])
    assert seen == [0, 1] and not _feed_threads()


def test_a_cancel_stops_the_thread_and_closes_the_loader():
    closed = threading.Event()

    def loader():
        try:
            yield from range(100)
        finally:
            closed.set()

    batches = iter(DeviceFeed(loader(), _prepared, "cpu", ahead=2))
    assert next(batches)[0] == [0]
    batches.close()  # what a GUI cancel does between two batches
    assert closed.is_set() and not _feed_threads()


def test_to_device_on_a_cpu_keeps_the_values_and_gives_the_layout_asked_for():
    batch = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    assert to_device(batch, "cpu") is batch
    moved = to_device(batch, "cpu", torch.channels_last)
    assert moved.is_contiguous(memory_format=torch.channels_last) and torch.equal(moved, batch)


class WaitsForTheNextBatch(nn.Module):
    """A model whose first pass waits until the dataset was asked for an image of the second batch."""

    def __init__(self, inner: nn.Module, asked: list, first_of_next: int) -> None:
        super().__init__()
        self.inner, self.asked, self.first_of_next, self.overlapped = inner, asked, first_of_next, None

    def forward(self, x):
        if self.overlapped is None:
            deadline = time.monotonic() + 10  # the feed's thread reads batch 2 meanwhile, or never does
            while time.monotonic() < deadline and not self._next_asked():
                time.sleep(0.02)
            self.overlapped = self._next_asked()
        return self.inner(x)

    def _next_asked(self) -> bool:
        return any(i >= self.first_of_next for i in self.asked)


def test_the_runner_decodes_the_next_batch_while_the_model_runs_and_predicts_the_same(tmp_path):
    rng = np.random.default_rng(0)
    for c, name in enumerate(["blue", "red"]):
        (tmp_path / "set" / name).mkdir(parents=True)
        for i in range(6):
            image = np.clip(rng.integers(0, 60, (24, 30, 3)) + 180 * (np.arange(3) == c), 0, 255).astype(np.uint8)
            cv2.imwrite(str(tmp_path / "set" / name / f"{i}.jpg"), image)
    dataset = open_dataset(tmp_path / "set")
    fields = dict(name="tiny", architecture="smallcnn", task="multiclass", classes=["blue", "red"])
    card = ModelCard(**fields, input_size=(16, 16), resize_size=18, interpolation="bilinear", arch_kwargs={"width": 4})
    torch.manual_seed(0)
    net = SmallCNN(in_channels=3, num_classes=2, width=4).eval()
    asked: list[int] = []
    load_image = dataset.load_image
    dataset.load_image = lambda index: (asked.append(index), load_image(index))[1]  # records, reads as before
    model = WaitsForTheNextBatch(net, asked, first_of_next=4)
    preds = run_to_end(InferenceJob(card, dataset, device="cpu", batch_size=4, model=model, num_workers=0))
    assert model.overlapped
    dataset.load_image = load_image
    plain = [card.preprocess(dataset.load_image(i)) for i in range(len(dataset))]
    with torch.inference_mode():
        expected = net(torch.from_numpy(np.stack(plain))).softmax(1).numpy()
    assert preds.complete and np.allclose(preds.scores, expected, atol=1e-6)


def test_a_loader_that_cannot_even_start_is_an_error_of_the_run_not_a_wait_for_ever():
    class Unreadable:
        def __iter__(self):
            raise ModelError("decoding failed (the workers could not start)")

    with pytest.raises(ModelError, match="could not start"):
        list(DeviceFeed(Unreadable(), _prepared, "cpu"))
    assert not _feed_threads()
