"""Per-image segmentation losses: one class against the rest, ignored pixels left out."""

import numpy as np
import pytest

from core.evaluation.segmentation_ranking import image_losses
from core.metrics.losses import boundary_loss, dice_loss


def one_hot(mask: np.ndarray, c: int) -> np.ndarray:
    return (mask[None] == np.arange(c)[:, None, None]).astype(np.float64)


def test_a_perfect_prediction_costs_less_than_a_wrong_one():
    truth = np.zeros((16, 16), np.int64)
    truth[4:12, 4:12] = 1
    good = image_losses(truth, one_hot(truth, 3) * 0.98 + 0.01)
    wrong = image_losses(truth, one_hot(np.roll(truth, 6, axis=1), 3) * 0.98 + 0.01)
    for name in good:
        assert good[name] < wrong[name], name


def test_the_mean_over_present_classes_equals_the_binary_losses():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, (8, 8))
    probs = rng.dirichlet(np.ones(3), size=(8, 8)).transpose(2, 0, 1)
    predicted = probs.argmax(0)
    present = sorted(set(np.unique(truth)) | set(np.unique(predicted)))
    targets = np.stack([truth == c for c in present]).astype(float)
    maps = probs[present]
    losses = image_losses(truth, probs)
    assert losses["Dice loss"] == pytest.approx(dice_loss(targets, maps).mean())
    assert losses["boundary loss"] == pytest.approx(boundary_loss(targets, maps).mean())


def test_ignored_pixels_take_no_part_and_an_all_ignored_image_is_nan():
    truth = np.zeros((8, 8), np.int64)
    truth[:, 4:] = 255
    probs = one_hot(np.zeros((8, 8), np.int64), 2)
    probs_noise = probs.copy()
    probs_noise[:, :, 4:] = 0.5  # anything at ignored pixels must not matter
    assert image_losses(truth, probs) == pytest.approx(image_losses(truth, probs_noise))
    assert all(np.isnan(v) for v in image_losses(np.full((4, 4), 255), probs[:, :4, :4]).values())
