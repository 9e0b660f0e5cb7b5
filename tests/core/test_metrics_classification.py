"""classification_report and top_k_accuracy against scikit-learn, and the NaN convention at the edges."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from core.metrics import classification_report, confusion_matrix, report_to_json, top_k_accuracy

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")


#: Our zero_division values and scikit-learn's counterparts: its default "warn" (0 with a warning), nan, 1.
ZERO_DIVISIONS = [(0, "warn"), (np.nan, np.nan), (1, 1)]


def _check_against_sklearn(y_true: np.ndarray, y_pred: np.ndarray, c: int, beta: float, zero=0, theirs="warn") -> None:
    """Our report of the c x c matrix against scikit-learn with its default labels (those seen in y_true or y_pred)."""
    report = classification_report(confusion_matrix(y_true, y_pred, c), beta=beta, zero_division=zero)
    seen = np.union1d(y_true, y_pred)
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=seen, beta=beta, zero_division=theirs)
    for key, expected in (("precision", p), ("recall", r), ("fbeta", f)):
        np.testing.assert_allclose(report[key][seen], expected, equal_nan=True, err_msg=key)
        assert np.isnan(np.delete(report[key], seen)).all()  # classes in neither: no value, not averaged
    np.testing.assert_array_equal(report["support"][seen], s)
    np.testing.assert_array_equal(np.flatnonzero(report["averaged"]), seen)
    assert report["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    for average in ("macro", "micro", "weighted"):
        expected = skm.precision_recall_fscore_support(
            y_true, y_pred, average=average, beta=beta, zero_division=theirs
        )[:3]
        got = [report[average][key] for key in ("precision", "recall", "fbeta")]
        np.testing.assert_allclose(got, expected, equal_nan=True, err_msg=average)


@settings(max_examples=120, deadline=None, database=None)
@given(
    st.integers(1, 6).flatmap(
        lambda c: st.tuples(st.just(c), st.lists(st.tuples(st.integers(0, c - 1), st.integers(0, c - 1)), min_size=1))
    ),
    st.sampled_from([0.0, 0.5, 1.0, 2.0, np.inf]),
    st.sampled_from(ZERO_DIVISIONS),
)
def test_report_matches_sklearn_on_random_labels(case, beta: float, zero_division) -> None:
    c, pairs = case
    pairs = np.array(pairs)
    _check_against_sklearn(pairs[:, 0], pairs[:, 1], c, beta, *zero_division)


@pytest.mark.parametrize("zero_division", ZERO_DIVISIONS)
@pytest.mark.parametrize(
    "y_true, y_pred, c",
    [
        ([0, 1, 0, 1], [0, 1, 1, 1], 3),  # class 2 never occurs and is never predicted
        ([0, 1, 2, 2], [0, 1, 1, 1], 3),  # class 2 never predicted
        ([0, 0, 1, 1], [0, 2, 1, 2], 3),  # class 2 predicted but never occurs
        ([1], [1], 3),  # one sample
        ([0, 1, 2], [0, 1, 2], 3),  # all correct
        ([0, 1, 2], [1, 2, 0], 3),  # all wrong
        ([0, 0], [1, 1], 2),  # all wrong, weighted precision has only weightless classes defined
    ],
)
def test_report_matches_sklearn_at_the_edges(y_true, y_pred, c, zero_division) -> None:
    _check_against_sklearn(np.array(y_true), np.array(y_pred), c, 1.0, *zero_division)


def test_by_default_the_averages_are_those_of_sklearns_classification_report() -> None:
    """A class never predicted, one predicted but never present, one in neither (class 4 of 5)."""
    y_true, y_pred = [0, 0, 0, 1, 1, 2, 2, 1], [0, 1, 0, 1, 3, 0, 1, 1]
    report = classification_report(confusion_matrix(y_true, y_pred, 5))
    theirs = skm.classification_report(y_true, y_pred, output_dict=True)
    for ours, average in (("macro", "macro avg"), ("weighted", "weighted avg")):
        assert report[ours]["precision"] == pytest.approx(theirs[average]["precision"])
        assert report[ours]["recall"] == pytest.approx(theirs[average]["recall"])
        assert report[ours]["fbeta"] == pytest.approx(theirs[average]["f1-score"])
    assert report["macro"]["precision"] == pytest.approx((2 / 3 + 1 / 2 + 0 + 0) / 4)  # 0/0 of class 2 counts as 0
    assert report["precision"][2] == 0 and report["recall"][3] == 0  # the undefined ones, as sklearn shows them
    assert np.isnan(report["precision"][4]) and not report["averaged"][4]


def test_with_zero_division_nan_undefined_ratios_are_left_out_of_averages() -> None:
    report = classification_report(confusion_matrix([0, 0, 1], [0, 0, 0], 3), zero_division=np.nan)
    assert report["precision"][0] == 2 / 3 and np.isnan(report["precision"][1])  # class 1 never predicted
    assert report["recall"][1] == 0 and report["fbeta"][1] == 0
    assert np.isnan(report["precision"][2]) and np.isnan(report["recall"][2]) and np.isnan(report["fbeta"][2])
    assert report["macro"]["precision"] == 2 / 3
    assert report["macro"]["recall"] == 0.5
    assert report["weighted"]["recall"] == 2 / 3
    assert classification_report(confusion_matrix([0, 0, 1], [0, 0, 0], 3))["macro"]["precision"] == 1 / 3


@pytest.mark.parametrize("spelled", ["nan", "NaN", float("nan")])
def test_zero_division_is_0_1_or_nan_in_any_spelling(spelled) -> None:
    cm = confusion_matrix([0, 0, 1], [0, 0, 0], 2)
    assert classification_report(cm, zero_division=spelled)["macro"]["precision"] == 2 / 3
    assert classification_report(cm, zero_division="1")["macro"]["precision"] == (2 / 3 + 1) / 2
    with pytest.raises(ValueError, match="zero_division"):
        classification_report(cm, zero_division=0.5)


def test_empty_matrix_gives_nan_everywhere_and_serialises_to_null() -> None:
    report = classification_report(confusion_matrix([], [], 3))
    assert np.isnan(report["accuracy"]) and np.isnan(report["macro"]["fbeta"]) and np.isnan(report["micro"]["recall"])
    assert report["num_samples"] == 0
    as_json = report_to_json(report)
    text = json.dumps(as_json, allow_nan=False)
    assert as_json["accuracy"] is None and as_json["precision"] == [None, None, None]
    assert json.loads(text)["support"] == [0, 0, 0]


def test_beta_changes_fbeta_but_f1_is_always_there() -> None:
    cm = confusion_matrix([0, 0, 0, 1, 1], [0, 1, 1, 1, 1], 2)
    report = classification_report(cm, beta=2.0)
    np.testing.assert_allclose(report["f1"], skm.f1_score([0, 0, 0, 1, 1], [0, 1, 1, 1, 1], average=None))
    np.testing.assert_allclose(report["fbeta"], skm.fbeta_score([0, 0, 0, 1, 1], [0, 1, 1, 1, 1], beta=2, average=None))
    assert not np.allclose(report["f1"], report["fbeta"])
    assert classification_report(cm, beta=np.inf)["fbeta"].tolist() == classification_report(cm)["recall"].tolist()


def test_report_rejects_a_matrix_that_is_not_square() -> None:
    with pytest.raises(ValueError):
        classification_report(np.zeros((2, 3)))


@settings(max_examples=60, deadline=None, database=None)
@given(st.integers(2, 8), st.integers(1, 40), st.integers(1, 8), st.integers(0, 2**31))
def test_top_k_accuracy_matches_sklearn_without_ties(c: int, n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_true, scores = rng.integers(0, c, n), rng.random((n, c))
    expected = skm.top_k_accuracy_score(y_true, scores, k=min(k, c), labels=range(c)) if c > 2 else None
    if expected is not None:
        assert top_k_accuracy(y_true, scores, k=min(k, c)) == pytest.approx(expected)
    assert top_k_accuracy(y_true, scores, k=1) == pytest.approx(skm.accuracy_score(y_true, scores.argmax(1)))


def test_top_k_accuracy_counts_ties_against_the_model_and_drops_unlabelled() -> None:
    scores = np.full((2, 4), 0.25)
    assert top_k_accuracy([0, 3], scores, k=1) == 0.0
    assert top_k_accuracy([0, 3], scores, k=4) == 1.0
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    assert top_k_accuracy([0, -1, 1], scores, k=1) == 0.5
    assert top_k_accuracy([0, 255, 0], scores, k=1, ignore_index=255) == 0.5
    assert np.isnan(top_k_accuracy(np.zeros(0, int), np.zeros((0, 3)), k=1))
