"""Precision-recall and ROC curves, AP, AUC, the best F-beta threshold, one-vs-rest: against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from core.metrics import (
    auc,
    average_precision,
    best_fbeta_threshold,
    one_vs_rest_report,
    precision_recall_curve,
    roc_auc,
    roc_curve,
)


@st.composite
def binary_scores(draw, max_len: int = 50):
    """Labels with both classes present and scores with many ties (few distinct values)."""
    n = draw(st.integers(2, max_len))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    y[:2] = [0, 1]
    score = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))) / 6
    return y, score


@settings(max_examples=120, deadline=None, database=None)
@given(binary_scores())
def test_curves_and_areas_match_sklearn(case) -> None:
    y, score = case
    for ours, theirs in zip(precision_recall_curve(y, score), skm.precision_recall_curve(y, score)):
        np.testing.assert_allclose(ours, theirs)
    for ours, theirs in zip(roc_curve(y, score), skm.roc_curve(y, score)):
        np.testing.assert_allclose(ours, theirs)
    for ours, theirs in zip(
        roc_curve(y, score, drop_intermediate=False), skm.roc_curve(y, score, drop_intermediate=False)
    ):
        np.testing.assert_allclose(ours, theirs)
    assert average_precision(y, score) == pytest.approx(skm.average_precision_score(y, score))
    assert roc_auc(y, score) == pytest.approx(skm.roc_auc_score(y, score))


@settings(max_examples=80, deadline=None, database=None)
@given(binary_scores(), st.sampled_from([0.5, 1.0, 2.0]))
def test_best_threshold_reaches_the_highest_fbeta_of_any_threshold(case, beta: float) -> None:
    y, score = case
    choice = best_fbeta_threshold(y, score, beta)
    achieved = skm.fbeta_score(y, score >= choice.threshold, beta=beta)
    assert choice.fbeta == pytest.approx(achieved)
    assert choice.precision == pytest.approx(skm.precision_score(y, score >= choice.threshold))
    assert choice.recall == pytest.approx(skm.recall_score(y, score >= choice.threshold))
    every = [skm.fbeta_score(y, score >= t, beta=beta) for t in np.unique(score)]
    assert choice.fbeta == pytest.approx(max(every))


def test_perfect_and_reversed_rankings() -> None:
    y, score = np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])
    assert roc_auc(y, score) == 1.0 and average_precision(y, score) == 1.0
    assert roc_auc(y, -score) == 0.0
    assert best_fbeta_threshold(y, score) == (0.8, 1.0, 1.0, 1.0)
    assert roc_auc(np.array(["cat", "dog", "dog"]), [0.2, 0.9, 0.7], pos_label="dog") == 1.0


def test_without_positives_recall_ap_and_auc_are_nan() -> None:
    y, score = np.zeros(4, int), np.array([0.1, 0.4, 0.35, 0.8])
    precision, recall, _ = precision_recall_curve(y, score)
    assert np.isnan(recall[:-1]).all() and (precision[:-1] == 0).all()
    assert np.isnan(average_precision(y, score)) and np.isnan(roc_auc(y, score))
    assert all(np.isnan(best_fbeta_threshold(y, score)))
    assert np.isnan(roc_auc(np.ones(3), [0.1, 0.2, 0.3]))  # no negatives: FPR is 0/0


def test_empty_input() -> None:
    precision, recall, thresholds = precision_recall_curve([], [])
    assert precision.tolist() == [1.0] and recall.tolist() == [0.0] and thresholds.size == 0
    assert np.isnan(average_precision([], [])) and np.isnan(roc_auc([], []))


def test_auc_is_the_trapezoidal_area_either_direction() -> None:
    assert auc([0, 1, 2], [0, 1, 0]) == skm.auc([0, 1, 2], [0, 1, 0]) == 1.0
    assert auc([2, 1, 0], [0, 1, 1]) == skm.auc([2, 1, 0], [0, 1, 1])
    assert np.isnan(auc([1], [1]))


def test_one_vs_rest_matches_sklearn_per_class_and_macro() -> None:
    rng = np.random.default_rng(3)
    c, n = 5, 300
    y = rng.integers(0, c - 1, n)  # the last class never occurs
    scores = rng.dirichlet(np.ones(c), n)
    scores[np.arange(n), y] += rng.random(n)
    report = one_vs_rest_report(y, scores)
    onehot = label_binarize(y, classes=range(c))
    expected_ap = [skm.average_precision_score(onehot[:, k], scores[:, k]) for k in range(c - 1)]
    np.testing.assert_allclose(report["average_precision"][: c - 1], expected_ap)
    np.testing.assert_allclose(
        report["roc_auc"][: c - 1], [skm.roc_auc_score(onehot[:, k], scores[:, k]) for k in range(c - 1)]
    )
    assert np.isnan(report["average_precision"][-1]) and np.isnan(report["roc_auc"][-1])
    assert report["mean_average_precision"] == pytest.approx(np.mean(expected_ap))
    sk_macro = skm.roc_auc_score(onehot[:, : c - 1], scores[:, : c - 1], average="macro")
    assert report["macro_roc_auc"] == pytest.approx(sk_macro)
    with_unlabelled = one_vs_rest_report(np.r_[y, -1], np.r_[scores, scores[:1]])
    np.testing.assert_allclose(with_unlabelled["roc_auc"], report["roc_auc"])
