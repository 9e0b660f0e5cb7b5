"""multilabel_report against scikit-learn's multilabel metrics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from core.metrics import multilabel_cell_indices, multilabel_confusion_matrix, multilabel_report

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")

AVERAGES = ("micro", "macro", "weighted", "samples")


def _sklearn_average(y_true, y_pred, average, beta, key):
    p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, average=average, beta=beta, zero_division=np.nan)
    return {"precision": p, "recall": r, "fbeta": f}[key]


@settings(max_examples=50, deadline=None, database=None)
@given(st.integers(1, 30), st.integers(2, 6), st.integers(0, 2**31), st.sampled_from([0.5, 1.0, 2.0]))
def test_report_matches_sklearn(n: int, labels: int, seed: int, beta: float) -> None:
    rng = np.random.default_rng(seed)
    y_true = (rng.random((n, labels)) < rng.random(labels)).astype(int)
    y_score = rng.random((n, labels))
    threshold = rng.uniform(0.2, 0.8, labels)
    y_pred = (y_score >= threshold).astype(int)
    report = multilabel_report(y_true, y_score, threshold=threshold, beta=beta)

    np.testing.assert_array_equal(report["confusion"], skm.multilabel_confusion_matrix(y_true, y_pred))
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, beta=beta, zero_division=np.nan)
    for key, expected in (("precision", p), ("recall", r), ("fbeta", f)):
        np.testing.assert_allclose(report[key], expected, equal_nan=True)
        for average in AVERAGES:
            defined = ~np.isnan(report[key])
            if average == "weighted" and report["support"][defined].sum() == 0:
                assert np.isnan(report[average][key])  # sklearn: unweighted mean; ours: 0/0
                continue
            expected_avg = _sklearn_average(y_true, y_pred, average, beta, key)
            np.testing.assert_allclose(report[average][key], expected_avg, equal_nan=True, err_msg=average + key)
    np.testing.assert_array_equal(report["support"], s)
    assert report["hamming_loss"] == pytest.approx(skm.hamming_loss(y_true, y_pred))
    assert report["subset_accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    for j in range(labels):
        if y_true[:, j].any():
            assert report["average_precision"][j] == pytest.approx(
                skm.average_precision_score(y_true[:, j], y_score[:, j])
            )
        else:
            assert np.isnan(report["average_precision"][j])


def test_scalar_threshold_cells_and_edges() -> None:
    y_true = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]])
    y_score = np.array([[0.9, 0.6, 0.1], [0.4, 0.7, 0.2], [0.1, 0.2, 0.3]])
    report = multilabel_report(y_true, y_score)
    assert report["confusion"][0].tolist() == [[1, 0], [1, 1]]
    assert report["recall"][0] == 0.5 and report["precision"][1] == 0.5
    assert np.isnan(report["precision"][2]) and np.isnan(report["recall"][2])  # never true, never predicted
    assert report["subset_accuracy"] == pytest.approx(1 / 3)
    np.testing.assert_array_equal(multilabel_confusion_matrix(y_true, y_score), report["confusion"])
    np.testing.assert_array_equal(multilabel_cell_indices(y_true, y_score, 0, true_value=1, pred_value=0), [1])
    np.testing.assert_array_equal(multilabel_cell_indices(y_true, y_score, 1, pred_value=1), [0, 1])
    assert len(multilabel_cell_indices(y_true, y_score, 2, true_value=0, pred_value=0)) == report["confusion"][2, 0, 0]
    with pytest.raises(ValueError):
        multilabel_report(y_true, y_score[:, :2])


def test_empty_input_is_nan() -> None:
    report = multilabel_report(np.zeros((0, 2)), np.zeros((0, 2)))
    assert np.isnan(report["hamming_loss"]) and np.isnan(report["subset_accuracy"])
    assert np.isnan(report["micro"]["precision"]) and np.isnan(report["samples"]["fbeta"])
    assert report["confusion"].shape == (2, 2, 2) and report["confusion"].sum() == 0
