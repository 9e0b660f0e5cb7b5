"""Reliability diagram bins and expected calibration error, against torchmetrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchmetrics.functional.classification import multiclass_calibration_error

from core.metrics import calibration_bin, confidence_and_correct, expected_calibration_error, reliability_bins


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n_bins", [5, 15])
def test_ece_matches_torchmetrics(seed: int, n_bins: int) -> None:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(4, 0.5), 300)
    y_true = np.where(rng.random(300) < 0.7, probs.argmax(1), rng.integers(0, 4, 300))
    confidence, correct = confidence_and_correct(y_true, probs)
    expected = multiclass_calibration_error(
        torch.as_tensor(probs), torch.as_tensor(y_true), 4, n_bins=n_bins, norm="l1"
    )
    assert expected_calibration_error(confidence, correct, n_bins) == pytest.approx(
        expected.item(), rel=1e-6
    )  # torchmetrics sums in float32


def test_bins_by_hand_with_empty_bins_nan() -> None:
    confidence = np.array([0.05, 0.15, 0.18, 0.95, 1.0])
    correct = np.array([0, 1, 0, 1, 1])
    bins = reliability_bins(confidence, correct, n_bins=10)
    assert bins["count"].tolist() == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert bins["accuracy"][[0, 1, 9]].tolist() == [0.0, 0.5, 1.0]
    np.testing.assert_allclose(bins["confidence"][[0, 1, 9]], [0.05, 0.165, 0.975])
    assert np.isnan(bins["confidence"][2]) and np.isnan(bins["accuracy"][5])
    assert len(bins["edges"]) == 11
    ece = expected_calibration_error(confidence, correct, n_bins=10)
    assert ece == pytest.approx((1 * 0.05 + 2 * abs(0.5 - 0.165) + 2 * abs(1 - 0.975)) / 5)
    # a bar of the diagram maps back to its samples
    assert np.flatnonzero(calibration_bin(confidence, 10) == 1).tolist() == [1, 2]


def test_edges_go_to_the_upper_bin_and_one_to_the_last() -> None:
    assert calibration_bin(np.array([0.0, 0.25, 0.5, 0.99, 1.0]), 4).tolist() == [0, 1, 2, 3, 3]


def test_no_samples_is_nan_and_perfect_calibration_is_zero() -> None:
    assert np.isnan(expected_calibration_error(np.zeros(0), np.zeros(0)))
    assert expected_calibration_error(np.ones(10), np.ones(10)) == 0.0
