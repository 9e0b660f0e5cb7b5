"""One sample's class probabilities with their pixel map (core.inference.mask_store.PixelProbabilities):
what a hover reads in the browser, and the same rule as ``SegmentationPredictions.pixel_probabilities``."""

from __future__ import annotations

import numpy as np
import pytest

from core.inference.mask_store import PixelProbabilities, SegmentationPredictions, quantise

RNG = np.random.default_rng(0)


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=0))
    return e / e.sum(axis=0)


@pytest.fixture
def run(tmp_path):
    """A 3-class run of one 15 x 22 image whose probabilities sit on a 4 x 5 grid."""
    probs = softmax(RNG.normal(size=(3, 4, 5)))
    preds = SegmentationPredictions.empty(["a", "b", "c"], ["s0"], tmp_path / "run")
    mask = RNG.integers(0, 3, size=(15, 22)).astype(np.uint8)
    preds.record(0, mask, quantise(probs), None)
    return preds, mask


def test_each_pixel_reads_its_nearest_grid_cell_as_the_run_does(run):
    preds, _ = run
    pixels = preds.pixels(0)
    assert pixels.size == (15, 22)
    for y, x in [(0, 0), (14, 21), (7, 10), (3, 17)]:
        cell = preds.probabilities(0)[:, int((y + 0.5) * 4 / 15), int((x + 0.5) * 5 / 22)]  # nearest-exact
        np.testing.assert_array_equal(pixels.at(y, x), cell)
        np.testing.assert_array_equal(preds.pixel_probabilities(0, y, x), cell)
    assert pixels.rows.tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]  # pixel centres, nearest cell
    with pytest.raises(IndexError):
        pixels.at(15, 0)


def test_top_classes_most_probable_first_and_confidence_of_a_mask(run):
    preds, mask = run
    pixels = preds.pixels(0)
    top = pixels.top(7, 10, k=2)
    p = pixels.at(7, 10)
    assert [c for c, _ in top] == list(np.argsort(-p, kind="stable")[:2])
    assert top[0][1] == pytest.approx(p.max())
    confidence = pixels.confidence(mask)
    assert confidence.shape == (15, 22)
    assert confidence[7, 10] == pytest.approx(p[mask[7, 10]])
    np.testing.assert_array_equal(preds.confidence(0), confidence)


def test_a_hand_made_grid():
    probs = np.zeros((2, 1, 2), np.float32)
    probs[0, 0, 0] = probs[1, 0, 1] = 1.0  # left half class 0, right half class 1
    pixels = PixelProbabilities(probs, (3, 4))
    assert pixels.top(2, 0, k=1) == [(0, 1.0)] and pixels.top(0, 3, k=1) == [(1, 1.0)]
    np.testing.assert_array_equal(pixels.confidence(np.array([[0, 0, 1, 1]] * 3)), np.ones((3, 4)))
    np.testing.assert_array_equal(pixels.confidence(np.array([[1, 1, 0, 0]] * 3)), np.zeros((3, 4)))
