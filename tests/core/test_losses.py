"""Per-sample losses against scikit-learn, torch and the lecture's formulas; log(0) and empty masks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import log_loss, mean_absolute_error, mean_squared_error

from core.metrics import losses


@pytest.fixture
def binary() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 2, 50).astype(float), rng.uniform(0.01, 0.99, 50)


@pytest.fixture
def multiclass() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.integers(0, 4, 40), rng.dirichlet(np.ones(4), 40)


def test_bce_is_sklearn_log_loss_of_each_sample(binary) -> None:
    y, p = binary
    loss = losses.binary_cross_entropy(y, p)
    assert loss.dtype == np.float64 and loss.shape == (50,)
    np.testing.assert_allclose(loss, [log_loss([yi], [pi], labels=[0, 1]) for yi, pi in zip(y, p)], rtol=1e-6)
    assert loss.mean() == pytest.approx(log_loss(y, p), rel=1e-6)


def test_cce_is_minus_log_of_the_true_class(multiclass) -> None:
    y, p = multiclass
    loss = losses.categorical_cross_entropy(y, p)
    np.testing.assert_allclose(loss, [log_loss([yi], [pi], labels=range(4)) for yi, pi in zip(y, p)], rtol=1e-6)
    np.testing.assert_allclose(losses.categorical_cross_entropy(np.eye(4)[y], p), loss, rtol=1e-12)
    unlabelled = losses.categorical_cross_entropy(np.r_[y[:2], -1], p[:3])
    assert np.isnan(unlabelled[2]) and np.isfinite(unlabelled[:2]).all()


def test_sigmoid_cross_entropy_and_its_weighted_form() -> None:
    rng = np.random.default_rng(2)
    y, p = rng.integers(0, 2, (30, 5)).astype(float), rng.uniform(0.01, 0.99, (30, 5))
    w = np.array([1.0, 2.0, 0.5, 3.0, 1.0])
    hand = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=1)
    np.testing.assert_allclose(losses.sigmoid_cross_entropy(y, p), hand, rtol=1e-6)
    weighted = -(w * y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=1)
    np.testing.assert_allclose(losses.weighted_sigmoid_cross_entropy(y, p, w), weighted, rtol=1e-6)
    np.testing.assert_allclose(losses.sigmoid_cross_entropy(y, p, pos_weight=1.0), hand, rtol=1e-6)


def test_mse_mae_rmse_against_one_hot_targets(multiclass) -> None:
    y, p = multiclass
    onehot = np.eye(4)[y]
    np.testing.assert_allclose(losses.mse(y, p), [mean_squared_error(t, q) for t, q in zip(onehot, p)])
    np.testing.assert_allclose(losses.mae(y, p), [mean_absolute_error(t, q) for t, q in zip(onehot, p)])
    np.testing.assert_allclose(losses.rmse(onehot, p), np.sqrt(((onehot - p) ** 2).mean(axis=1)))
    with pytest.raises(ValueError):
        losses.mse(y[:3], p)


def test_focal_loss_formula_and_its_limits(binary, multiclass) -> None:
    y, p = binary
    p_t = np.where(y == 1, p, 1 - p)
    alpha_t = np.where(y == 1, 0.25, 0.75)
    np.testing.assert_allclose(losses.focal_loss(y, p), -alpha_t * (1 - p_t) ** 2 * np.log(p_t), rtol=1e-6)
    # gamma = 0 without alpha is the cross-entropy
    np.testing.assert_allclose(
        losses.focal_loss(y, p, alpha=None, gamma=0), losses.binary_cross_entropy(y, p), rtol=1e-6
    )
    labels, probs = multiclass
    np.testing.assert_allclose(
        losses.focal_loss(labels, probs, alpha=None, gamma=0),
        losses.categorical_cross_entropy(labels, probs),
        rtol=1e-9,
    )
    confident = losses.focal_loss(np.array([1.0, 1.0]), np.array([0.95, 0.6]))
    assert confident[0] < confident[1] / 20  # easy examples are down-weighted


def test_log_of_zero_is_finite() -> None:
    y = np.array([1.0, 0.0, 1.0, 0.0])
    p = np.array([0.0, 1.0, 1.0, 0.0])
    for loss in (losses.binary_cross_entropy, losses.sigmoid_cross_entropy, losses.focal_loss):
        values = loss(y, p)
        assert np.isfinite(values).all() and values[0] > 3 and values[2] < 1e-5
    cce = losses.categorical_cross_entropy(np.array([0, 1]), np.array([[0.0, 1.0], [0.0, 1.0]]))
    assert np.isfinite(cce).all() and cce[0] > 10 and cce[1] < 1e-5
    assert np.isfinite(losses.weighted_binary_cross_entropy(y[None], p[None])).all()


def _masks() -> tuple[np.ndarray, np.ndarray]:
    target = np.zeros((3, 9, 9))
    target[0, 2:6, 3:7] = 1  # an object; image 1 is empty; image 2 is all foreground
    target[2] = 1
    rng = np.random.default_rng(3)
    return target, np.clip(target * 0.8 + rng.uniform(0, 0.2, target.shape), 0, 1)


def test_dice_loss_is_the_lecture_formula_with_plus_one() -> None:
    target, probs = _masks()
    y, p = target.reshape(3, -1), probs.reshape(3, -1)
    expected = 1 - (2 * (y * p).sum(1) + 1) / (y.sum(1) + p.sum(1) + 1)
    np.testing.assert_allclose(losses.dice_loss(target, probs), expected)
    assert losses.dice_loss(np.zeros((1, 4, 4)), np.zeros((1, 4, 4)))[0] == 0.0  # empty mask, empty prediction
    assert losses.dice_loss(np.zeros((1, 4, 4)), np.ones((1, 4, 4)))[0] == 1 - 1 / 17


def test_weighted_bce_balances_each_image() -> None:
    target, probs = _masks()
    y, p = target.reshape(3, -1), probs.reshape(3, -1)
    beta = np.array([(81 - 16) / 16, 1.0, 0 / 81])
    expected = -(beta[:, None] * y * np.log(p) + (1 - y) * np.log(1 - p)).mean(1)
    np.testing.assert_allclose(losses.weighted_binary_cross_entropy(target, probs), expected, rtol=1e-6)
    np.testing.assert_allclose(
        losses.weighted_binary_cross_entropy(target, probs, pos_weight=1.0),
        losses.binary_cross_entropy(target, probs),
        rtol=1e-6,
    )


def _brute_signed_distance(mask: np.ndarray) -> np.ndarray:
    """Kervadec's phi by brute force: distance to the nearest object pixel outside, 1 - distance to the
    nearest background pixel inside."""
    points = np.argwhere(np.ones_like(mask))
    inside, outside = np.argwhere(mask), np.argwhere(~mask)
    to = lambda group: np.sqrt(((points[:, None] - group[None]) ** 2).sum(-1)).min(1)  # noqa: E731
    phi = np.where(mask.reshape(-1), 1 - to(outside), to(inside))
    return phi.reshape(mask.shape)


def test_boundary_loss_uses_the_signed_distance_of_the_truth() -> None:
    target, probs = _masks()
    loss = losses.boundary_loss(target, probs)
    expected = np.mean(_brute_signed_distance(target[0].astype(bool)) * probs[0])
    assert loss[0] == pytest.approx(expected)
    assert loss[1] == 0.0 and loss[2] == 0.0  # no boundary: empty and full masks
    shifted = np.roll(target[:1], 3, axis=2)
    assert losses.boundary_loss(target[:1], target[:1])[0] < losses.boundary_loss(target[:1], shifted)[0]


def test_empty_input_gives_empty_float64_output() -> None:
    for loss in (losses.binary_cross_entropy, losses.focal_loss, losses.mse, losses.dice_loss, losses.boundary_loss):
        out = loss(np.zeros((0, 3, 3)), np.zeros((0, 3, 3)))
        assert out.shape == (0,) and out.dtype == np.float64
    assert losses.weighted_binary_cross_entropy(np.zeros((0, 3, 3)), np.zeros((0, 3, 3))).shape == (0,)
    assert losses.categorical_cross_entropy(np.zeros(0, int), np.zeros((0, 3))).shape == (0,)
    assert losses.focal_loss(np.zeros(0, int), np.zeros((0, 3))).shape == (0,)
    assert np.isnan(losses.focal_loss(np.array([-1, 0]), np.array([[0.5, 0.5], [0.9, 0.1]]))[0])


def test_losses_import_no_torch_until_called() -> None:
    code = "import sys, core.metrics.losses; assert 'torch' not in sys.modules and 'scipy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parents[2]))
