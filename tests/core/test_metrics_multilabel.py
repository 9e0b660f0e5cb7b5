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


#: Our zero_division values and scikit-learn's counterparts: its default "warn" (0 with a warning), nan, 1.
ZERO_DIVISIONS = [(0, "warn"), (np.nan, np.nan), (1, 1)]


@settings(max_examples=60, deadline=None, database=None)
@given(
    st.integers(1, 30),
    st.integers(2, 6),
    st.integers(0, 2**31),
    st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    st.sampled_from(ZERO_DIVISIONS),
)
def test_report_matches_sklearn(n: int, labels: int, seed: int, beta: float, zero_division) -> None:
    rng = np.random.default_rng(seed)
    y_true = (rng.random((n, labels)) < rng.random(labels)).astype(int)
    y_score = rng.random((n, labels))
    threshold = rng.uniform(0.2, 0.8, labels)
    y_pred = (y_score >= threshold).astype(int)
    ours, theirs = zero_division
    report = multilabel_report(y_true, y_score, threshold=threshold, beta=beta, zero_division=ours)

    np.testing.assert_array_equal(report["confusion"], skm.multilabel_confusion_matrix(y_true, y_pred))
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, beta=beta, zero_division=theirs)
    for key, expected in (("precision", p), ("recall", r), ("fbeta", f)):
        np.testing.assert_allclose(report[key], expected, equal_nan=True)
    for average in AVERAGES:
        expected = skm.precision_recall_fscore_support(y_true, y_pred, average=average, beta=beta, zero_division=theirs)
        got = [report[average][key] for key in ("precision", "recall", "fbeta")]
        np.testing.assert_allclose(got, expected[:3], equal_nan=True, err_msg=average)
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


def test_by_default_every_label_is_averaged_and_0_over_0_counts_as_0() -> None:
    """As scikit-learn's classification_report on indicator arrays: label 2 is in neither truth nor predictions,
    label 3 never predicted; sample 2 has no label and none predicted."""
    y_true = np.array([[1, 0, 0, 1], [1, 1, 0, 0], [0, 0, 0, 0]])
    y_score = np.array([[0.9, 0.6, 0.1, 0.2], [0.4, 0.7, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]])
    report = multilabel_report(y_true, y_score)
    theirs = skm.classification_report(y_true, y_score >= 0.5, output_dict=True)
    for ours, average in (("micro", "micro avg"), ("macro", "macro avg"), ("weighted", "weighted avg")):
        for key, their_key in (("precision", "precision"), ("recall", "recall"), ("fbeta", "f1-score")):
            assert report[ours][key] == pytest.approx(theirs[average][their_key]), (ours, key)
    assert report["macro"]["precision"] == pytest.approx((1 + 0.5 + 0 + 0) / 4)
    assert report["samples"]["recall"] == pytest.approx((0.5 + 0.5 + 0) / 3)  # the empty sample counts as 0
    left_out = multilabel_report(y_true, y_score, zero_division=np.nan)
    assert left_out["macro"]["precision"] == pytest.approx((1 + 0.5) / 2)
    assert left_out["samples"]["recall"] == pytest.approx((0.5 + 0.5) / 2)


def test_scalar_threshold_cells_and_edges() -> None:
    y_true = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]])
    y_score = np.array([[0.9, 0.6, 0.1], [0.4, 0.7, 0.2], [0.1, 0.2, 0.3]])
    report = multilabel_report(y_true, y_score, zero_division=np.nan)
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
