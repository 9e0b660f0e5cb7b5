"""Outliers among digits: planted noise images rank first (core.analysis.outliers)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from core.analysis.neighbours import nearest_neighbours
from core.analysis.outliers import knn_scores, ood_scores, rank_outliers

NOISE = 15


@pytest.fixture(scope="module")
def digits_and_noise():
    """sklearn's 1,797 digits (8 x 8, values 0..16) and 15 images of uniform noise appended at the end;
    a digits classifier trained on the first half of the digits. The pixels are the embedding (not centred:
    like a ReLU network's features they are never negative)."""
    data = load_digits()
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 17, (NOISE, 64)).astype(np.float64)
    x = np.concatenate([data.data, noise])
    model = LogisticRegression(max_iter=2000).fit(data.data[:900] / 16, data.target[:900])
    return x, model.predict_proba(x / 16), np.concatenate([data.target, -np.ones(NOISE, int)])


def noise_ids(x) -> np.ndarray:
    return np.arange(len(x) - NOISE, len(x))


def test_noise_is_far_from_its_neighbours(digits_and_noise):
    x, _, _ = digits_and_noise
    scores = knn_scores(nearest_neighbours(x, k=10))
    ranked = rank_outliers(knn=scores)
    assert set(ranked.top(NOISE)) == set(noise_ids(x))
    assert np.median(scores) == pytest.approx(1.0)
    assert scores[noise_ids(x)].min() > 1.5  # half as far again from its neighbours as a typical digit
    assert ranked.ood is None and np.array_equal(ranked.score, scores)


def test_the_model_is_unsure_of_noise(digits_and_noise):
    x, probs, _ = digits_and_noise
    ood = ood_scores(probs)
    assert ood.shape == (len(x),) and np.all((ood >= 0) & (ood <= 1))
    assert ood[noise_ids(x)].mean() > 2 * ood[:-NOISE].mean()
    # sharper probabilities, lower scores: the score follows the entropy
    sharp = probs**4 / (probs**4).sum(axis=1, keepdims=True)
    assert ood_scores(sharp).mean() < ood.mean()


def test_labels_adjust_the_scores_by_confident_thresholds(digits_and_noise):
    x, probs, labels = digits_and_noise
    digits = slice(0, len(x) - NOISE)
    adjusted = ood_scores(probs[digits], labels[digits])
    assert not np.allclose(adjusted, ood_scores(probs[digits]))


def test_both_scores_together_rank_noise_first(digits_and_noise):
    x, probs, _ = digits_and_noise
    knn = knn_scores(nearest_neighbours(x, k=10))
    ranked = rank_outliers(knn=knn, ood=ood_scores(probs))
    assert len(np.intersect1d(ranked.top(NOISE), noise_ids(x))) >= NOISE - 2
    assert np.all(np.diff(ranked.score[ranked.indices]) <= 0)
    assert sorted(ranked.indices.tolist()) == list(range(len(x)))


def test_nothing_to_rank_is_refused():
    with pytest.raises(ValueError):
        rank_outliers()
    with pytest.raises(ValueError):
        rank_outliers(knn=np.zeros(3), ood=np.zeros(4))
