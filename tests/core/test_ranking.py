"""Per-sample error-analysis scores against core.metrics.losses, and the histogram that selects samples."""

from __future__ import annotations

import numpy as np
import pytest

from core.datasets.base import Dataset
from core.evaluation import ranking
from core.inference.predictions import Predictions
from core.metrics import losses


def make(task: str, n: int = 60, c: int = 4, seed: int = 0) -> tuple[Dataset, Predictions]:
    """A dataset of ``task`` with random labels and scores; sample 0 unlabelled (single-label), 1 not predicted."""
    rng = np.random.default_rng(seed)
    c = 2 if task == "binary" else c
    classes, ids = [f"c{i}" for i in range(c)], [f"s{i}" for i in range(n)]
    if task == "multilabel":
        dataset = Dataset("/tmp/ml", task=task, classes=classes, splits=[], split=None, sample_ids=ids,
                          tags=rng.random((n, c)) < 0.4)  # fmt: skip
        scores = rng.random((n, c))
    else:
        targets = rng.integers(0, c, n)
        targets[0] = -1
        dataset = Dataset("/tmp/sl", task=task, classes=classes, splits=[], split=None, sample_ids=ids, targets=targets)
        scores = rng.dirichlet(np.ones(c), n)
    done = np.ones(n, dtype=bool)
    done[1] = False
    scores = scores.astype(np.float32)
    scores[1] = np.nan
    return dataset, Predictions(task, classes, ids, scores, done)


def expected_loss(task: str, name: str, dataset: Dataset, preds: Predictions) -> np.ndarray:
    p = preds.scores.astype(np.float64)
    if task == "multilabel":
        y, rows = dataset.tags.astype(np.float64), preds.done
    else:
        y, rows = dataset.targets, preds.done & (dataset.targets >= 0)
    y, p = y[rows], p[rows]
    functions = {
        "cross-entropy": lambda: losses.categorical_cross_entropy(y, p),
        "binary cross-entropy": lambda: losses.binary_cross_entropy(y.astype(float), p[:, 1]),
        "sigmoid cross-entropy": lambda: losses.sigmoid_cross_entropy(y, p),
        "focal loss": lambda: (
            losses.focal_loss(y.astype(float), p[:, 1]) if task == "binary" else losses.focal_loss(y, p)
        ),
        "MSE": lambda: losses.mse(y, p),
        "MAE": lambda: losses.mae(y, p),
    }
    out = np.full(len(dataset), np.nan)
    out[rows] = functions[name]()
    return out


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
def test_every_loss_equals_core_losses_and_is_nan_where_undefined(task, monkeypatch):
    monkeypatch.setattr(ranking, "BLOCK", 7)  # several blocks must give the same values as one call
    dataset, preds = make(task)
    names = ranking.scores_for(task)
    assert names[0] in ("binary cross-entropy", "cross-entropy", "sigmoid cross-entropy")
    for name in names:
        if name in ("confidence", "margin"):
            continue
        got = ranking.sample_scores(name, dataset, preds)
        np.testing.assert_allclose(got, expected_loss(task, name, dataset, preds), rtol=1e-12, equal_nan=True)
        assert np.isnan(got[1])
        assert np.isnan(got[0]) == (task != "multilabel")  # unlabelled: no loss


def test_confidence_and_margin_of_single_label_tasks():
    dataset, preds = make("multiclass", c=5)
    confidence = ranking.sample_scores("confidence", dataset, preds)
    margin = ranking.sample_scores("margin", dataset, preds)
    ordered = np.sort(preds.scores.astype(np.float64), axis=1)
    np.testing.assert_allclose(confidence[preds.done], ordered[preds.done, -1])
    np.testing.assert_allclose(margin[preds.done], (ordered[:, -1] - ordered[:, -2])[preds.done])
    assert not np.isnan(confidence[0])  # needs no label
    assert np.isnan(confidence[1]) and np.isnan(margin[1])


def test_confidence_and_margin_of_multilabel_decisions():
    dataset, preds = make("multilabel")
    p = preds.scores.astype(np.float64)
    np.testing.assert_allclose(
        ranking.sample_scores("confidence", dataset, preds)[2], np.maximum(p[2], 1 - p[2]).mean()
    )
    np.testing.assert_allclose(ranking.sample_scores("margin", dataset, preds)[2], np.abs(2 * p[2] - 1).min())


def test_worst_first_orders_by_loss_and_leaves_out_undefined():
    values = np.array([0.2, np.nan, 3.0, 0.2, 1.0])
    np.testing.assert_array_equal(ranking.worst_first(values), [2, 4, 0, 3])
    np.testing.assert_array_equal(ranking.worst_first(values, higher_is_worse=False), [0, 3, 4, 2])
    np.testing.assert_array_equal(ranking.worst_first(values, indices=np.array([4, 1, 3])), [4, 3])


def test_rank_sorts_all_predicted_samples_by_cross_entropy():
    dataset, preds = make("multiclass")
    order = ranking.rank("cross-entropy", dataset, preds)
    loss = expected_loss("multiclass", "cross-entropy", dataset, preds)
    assert set(order) == set(np.flatnonzero(~np.isnan(loss)))
    assert np.all(np.diff(loss[order]) <= 0)


def test_hardest_of_a_class_are_its_samples_by_loss():
    dataset, preds = make("multiclass", n=80)
    order = ranking.hardest(dataset, preds, 2)
    members = np.flatnonzero((dataset.targets == 2) & preds.done)
    assert sorted(order) == sorted(members)
    loss = losses.categorical_cross_entropy(dataset.targets[order], preds.scores[order])
    assert np.all(np.diff(loss) <= 0)


def test_hardest_of_a_label_are_its_carriers_least_sure_first():
    dataset, preds = make("multilabel")
    order = ranking.hardest(dataset, preds, 1)
    assert sorted(order) == sorted(np.flatnonzero(dataset.tags[:, 1].astype(bool) & preds.done))
    assert np.all(np.diff(preds.scores[order, 1]) >= 0)  # lowest probability of the label first


def test_histogram_bars_select_exactly_their_counts():
    rng = np.random.default_rng(3)
    values = rng.exponential(size=500)
    values[::7] = np.nan
    counts, edges = ranking.histogram(values, bins=12)
    assert counts.sum() == np.count_nonzero(~np.isnan(values))
    chosen = [ranking.in_bin(values, edges, b) for b in range(12)]
    assert [len(c) for c in chosen] == counts.tolist()
    np.testing.assert_array_equal(np.sort(np.concatenate(chosen)), np.flatnonzero(~np.isnan(values)))
    assert all(edges[b] <= values[c].min() and values[c].max() <= edges[b + 1] for b, c in enumerate(chosen) if len(c))
    inside = ranking.in_range(values, 0.5, 1.5)
    np.testing.assert_array_equal(inside, np.flatnonzero((values >= 0.5) & (values <= 1.5)))


def test_histogram_of_constant_or_no_values():
    counts, edges = ranking.histogram(np.full(4, 2.0), bins=5)
    assert counts.sum() == 4 and edges[0] < 2.0 < edges[-1]
    counts, _ = ranking.histogram(np.full(3, np.nan), bins=5)
    assert counts.sum() == 0


def test_a_histogram_on_a_scores_known_range():
    """Per-image IoU is drawn on [0, 1] whatever its values; the bars still select what they count."""
    values = np.array([0.31, 0.33, np.nan, 0.74, 1.0, 0.05])
    counts, edges = ranking.histogram(values, bins=4, limits=(0.0, 1.0))
    np.testing.assert_array_equal(edges, [0.0, 0.25, 0.5, 0.75, 1.0])
    assert counts.tolist() == [1, 2, 1, 1]  # 1.0 in the last, closed bar
    assert [ranking.in_bin(values, edges, b).tolist() for b in range(4)] == [[5], [0, 1], [3], [4]]


def test_stable_argsort_equals_numpy_stable_sort_with_ties():
    from core.evaluation.ranking import stable_argsort

    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 7, 1000):
        for key in (rng.random(n), rng.integers(0, 3, n).astype(float), rng.random(n).round(1), -np.zeros(n)):
            assert stable_argsort(key).tolist() == np.argsort(key, kind="stable").tolist()


def test_stable_argsort_of_float32_exact_keys_equals_numpy_stable_sort():
    """Keys that float32 holds exactly (a run's confidences) go through the packed sort: same order, ties in
    position order, negatives, zeros of both signs and infinities in place."""
    from core.evaluation.ranking import stable_argsort

    rng = np.random.default_rng(1)
    scores = rng.random(5000, dtype=np.float32).round(2)  # many ties
    special = np.array([0.0, -0.0, np.inf, -np.inf, -1.5, 1e-40, -1e-40, 3.0], dtype=np.float32)
    for key in (scores, -scores, np.concatenate([special, scores, special]), scores.astype(np.float64)):
        assert stable_argsort(key).tolist() == np.argsort(key, kind="stable").tolist()
    worst = ranking.worst_first(np.where(scores > 0.9, np.nan, scores).astype(np.float64), higher_is_worse=False)
    kept = np.flatnonzero(scores <= 0.9)
    assert worst.tolist() == kept[np.argsort(scores[kept], kind="stable")].tolist()
