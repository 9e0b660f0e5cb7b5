"""Label issues found by confident learning on planted label errors (core.analysis.label_issues)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_blobs
from sklearn.linear_model import LogisticRegression

from core.analysis.label_issues import (
    CROSS_VALIDATED,
    HELD_OUT,
    cross_validated_probabilities,
    find_label_issues,
    find_multilabel_issues,
)
from core.analysis.progress import Cancelled


def flipped(labels: np.ndarray, fraction: float, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The labels with ``fraction`` of them changed to another class; returns (noisy labels, flipped indices)."""
    rng = np.random.default_rng(seed)
    planted = rng.choice(len(labels), int(fraction * len(labels)), replace=False)
    noisy = labels.copy()
    noisy[planted] = (labels[planted] + rng.integers(1, classes, len(planted))) % classes
    return noisy, np.sort(planted)


def precision_recall(found: np.ndarray, planted: np.ndarray) -> tuple[float, float]:
    hits = len(np.intersect1d(found, planted))
    return hits / max(len(found), 1), hits / len(planted)


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.data.astype(np.float32), data.target.astype(np.int64)


def test_cross_validated_probabilities_find_planted_errors_on_the_training_split(digits):
    x, y = digits
    noisy, planted = flipped(y, 0.05, 10)
    probs = cross_validated_probabilities(x, noisy, folds=5)
    issues = find_label_issues(noisy, probs, source=CROSS_VALIDATED)
    precision, recall = precision_recall(issues.indices, planted)
    assert precision >= 0.8 and recall >= 0.8, (precision, recall)
    assert issues.source == CROSS_VALIDATED
    # the suggestion is the label before the flip for nearly all planted errors that were found
    found = np.isin(issues.indices, planted)
    assert np.mean(issues.suggested[found] == y[issues.indices[found]]) >= 0.9
    assert np.array_equal(issues.given, noisy[issues.indices])


def test_issues_are_ranked_most_suspect_first(digits):
    x, y = digits
    noisy, planted = flipped(y, 0.05, 10, seed=1)
    probs = cross_validated_probabilities(x, noisy)
    for ranked_by in ("self_confidence", "normalized_margin"):
        issues = find_label_issues(noisy, probs, ranked_by=ranked_by)
        assert np.all(np.diff(issues.score) >= 0)
        assert np.allclose(issues.quality[issues.indices], issues.score)
        # the top of the ranking is almost all planted errors
        top = issues.indices[: len(planted) // 2]
        assert np.isin(top, planted).mean() >= 0.9, ranked_by


def test_held_out_predictions_are_used_as_they_are():
    """A model trained on a clean training split, its probabilities on a test split with 5% flipped labels."""
    x, y = make_blobs(4000, n_features=16, centers=8, cluster_std=4.0, random_state=0)  # 99% right
    half = len(y) // 2
    model = LogisticRegression(max_iter=1000).fit(x[:half], y[:half])
    noisy, planted = flipped(y[half:], 0.05, 8, seed=2)
    issues = find_label_issues(noisy, model.predict_proba(x[half:]))
    precision, recall = precision_recall(issues.indices, planted)
    assert issues.source == HELD_OUT
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)


def test_cross_validation_is_out_of_sample():
    """Random labels carry nothing to learn: out of sample, the given class gets about 1 / K; a model that
    saw the labels would memorise many of them."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 300)).astype(np.float32)
    labels = rng.integers(0, 4, 600)
    probs = cross_validated_probabilities(x, labels, folds=5)
    assert probs.shape == (600, 4)
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-4)
    assert probs[np.arange(600), labels].mean() < 0.32
    in_sample = LogisticRegression(max_iter=500).fit(x, labels).predict_proba(x)
    assert in_sample[np.arange(600), labels].mean() > 0.5


def test_unlabeled_samples_are_neither_fitted_nor_reported(digits):
    x, y = digits
    noisy, planted = flipped(y, 0.05, 10, seed=3)
    noisy[:100] = -1
    probs = cross_validated_probabilities(x, noisy, num_classes=10)
    issues = find_label_issues(noisy, probs)
    assert not np.isin(issues.indices, np.arange(100)).any()
    assert np.isnan(issues.quality[:100]).all() and not np.isnan(issues.quality[100:]).any()
    assert precision_recall(issues.indices, planted[planted >= 100])[1] >= 0.8


def test_cross_validation_reports_progress_and_stops():
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((200, 8)), rng.integers(0, 2, 200)
    seen = []
    cross_validated_probabilities(x, labels, folds=4, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(Cancelled):
        cross_validated_probabilities(
            x, labels, folds=4, stop=lambda: len(seen) > 6, progress=lambda *a: seen.append(a)
        )


def test_multilabel_issues_on_planted_missing_and_extra_tags():
    """Three tags, each a linear function of the features; 5% of samples lose or gain one tag."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1500, 10)).astype(np.float32)
    tags = (x[:, :3] > 0.3).astype(np.uint8)
    noisy = tags.copy()
    planted = np.sort(rng.choice(1500, 75, replace=False))
    which = rng.integers(0, 3, 75)
    noisy[planted, which] = 1 - noisy[planted, which]
    probs = cross_validated_probabilities(x, noisy)
    assert probs.shape == (1500, 3)
    issues = find_multilabel_issues(noisy, probs, source=CROSS_VALIDATED)
    precision, recall = precision_recall(issues.indices, planted)
    assert precision >= 0.7 and recall >= 0.8, (precision, recall)
    found = np.isin(issues.indices, planted)
    assert np.mean(np.all(issues.suggested[found] == tags[issues.indices[found]].astype(bool), axis=1)) >= 0.9
    assert np.array_equal(issues.given, noisy[issues.indices].astype(bool))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="ranked_by"):
        find_label_issues(np.zeros(4, int), np.full((4, 2), 0.5), ranked_by="loss")
    with pytest.raises(ValueError, match="no column"):
        find_label_issues(np.array([0, 1, 2, 3]), np.full((4, 2), 0.5))


def test_rows_scored_by_the_probe_are_issues_where_its_argmax_disagrees():
    """An underconfident probe: 20 clean samples per class at p = 0.9, 4 flipped ones whose true class gets
    only 0.55. Confident learning alone (the threshold of a class is its mean self-confidence, ~0.88) flags
    none of them; on rows scored by the probe the argmax's disagreement flags exactly the flips."""
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 20)
    probs = np.full((60, 3), 0.05)
    probs[np.arange(60), labels] = 0.9
    flipped = rng.choice(60, 4, replace=False)
    true = (labels[flipped] + 1) % 3
    probs[flipped] = 0.225
    probs[flipped, true] = 0.55
    alone = find_label_issues(labels, probs)
    assert not set(alone.indices.tolist()) & set(flipped.tolist())
    probed = find_label_issues(labels, probs, probed=np.ones(60, bool))
    assert set(probed.indices.tolist()) == set(flipped.tolist())
    assert np.array_equal(probed.suggested[np.argsort(probed.indices)], true[np.argsort(flipped)])
    held_out = find_label_issues(labels, probs, probed=np.zeros(60, bool))  # the network's own: not probed
    assert np.array_equal(held_out.indices, alone.indices)
