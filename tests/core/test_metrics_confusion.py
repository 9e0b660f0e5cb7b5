"""Confusion matrices of labels: against scikit-learn, the lecture's CIFAR-10 matrix, and cell -> samples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from core.metrics import (
    cell_indices,
    classification_report,
    confusion_matrix,
    error_indices,
    normalize_confusion_matrix,
)

CIFAR_CLASSES = ["cat", "dog", "horse", "deer", "bird", "frog", "airplane", "ship", "automobile", "truck"]
CIFAR_MATRIX = np.array(
    [
        [826, 48, 12, 24, 32, 30, 12, 5, 4, 7],
        [111, 801, 17, 18, 28, 13, 7, 0, 2, 3],
        [13, 17, 915, 22, 14, 3, 9, 2, 1, 4],
        [24, 13, 14, 898, 28, 14, 5, 2, 1, 1],
        [30, 8, 5, 13, 892, 17, 26, 4, 2, 3],
        [27, 4, 1, 3, 16, 943, 5, 1, 0, 0],
        [8, 1, 5, 4, 21, 5, 923, 23, 4, 6],
        [4, 1, 1, 0, 4, 2, 37, 931, 10, 10],
        [0, 0, 1, 0, 2, 0, 5, 5, 972, 15],
        [3, 0, 1, 0, 3, 2, 20, 9, 39, 923],
    ]
)

pytestmark = pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")


@st.composite
def label_pairs(draw, max_classes: int = 6, max_len: int = 60):
    num_classes = draw(st.integers(1, max_classes))
    n = draw(st.integers(0, max_len))
    labels = st.lists(st.integers(-1, num_classes - 1), min_size=n, max_size=n)
    return np.array(draw(labels), dtype=np.int64), np.array(draw(labels), dtype=np.int64), num_classes


@settings(max_examples=150, deadline=None, database=None)
@given(label_pairs())
def test_confusion_matrix_matches_sklearn_on_the_labelled_samples(pair) -> None:
    y_true, y_pred, c = pair
    cm = confusion_matrix(y_true, y_pred, c)
    keep = (y_true >= 0) & (y_pred >= 0)
    assert cm.dtype == np.int64 and cm.shape == (c, c)
    if keep.any():
        np.testing.assert_array_equal(cm, skm.confusion_matrix(y_true[keep], y_pred[keep], labels=range(c)))
    else:
        assert cm.sum() == 0


@settings(max_examples=80, deadline=None, database=None)
@given(label_pairs(), st.data())
def test_every_cell_row_and_column_maps_back_to_exactly_its_samples(pair, data) -> None:
    y_true, y_pred, c = pair
    ignore = data.draw(st.one_of(st.none(), st.integers(0, c - 1)))
    cm = confusion_matrix(y_true, y_pred, c, ignore_index=ignore)
    for t in range(c):
        rows = cell_indices(y_true, y_pred, true_class=t, ignore_index=ignore)
        assert len(rows) == cm[t].sum()
        assert len(cell_indices(y_true, y_pred, pred_class=t, ignore_index=ignore)) == cm[:, t].sum()
        for p in range(c):
            idx = cell_indices(y_true, y_pred, t, p, ignore_index=ignore)
            assert len(idx) == cm[t, p]
            assert np.all(y_true[idx] == t) and np.all(y_pred[idx] == p)
    assert len(cell_indices(y_true, y_pred, ignore_index=ignore)) == cm.sum()
    assert len(error_indices(y_true, y_pred, ignore_index=ignore)) == cm.sum() - np.trace(cm)


def test_ignore_index_and_negative_labels_drop_samples() -> None:
    y_true = np.array([0, 1, 2, 255, -1, 1])
    y_pred = np.array([0, 1, 1, 2, 2, -1])
    cm = confusion_matrix(y_true, y_pred, 3, ignore_index=255)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(cell_indices(y_true, y_pred, 2, 1, ignore_index=255), [2])
    np.testing.assert_array_equal(cell_indices(y_true, y_pred, true_class=1, ignore_index=255), [1])


def test_a_label_beyond_num_classes_is_an_error_not_a_silent_drop() -> None:
    with pytest.raises(ValueError, match="y_pred holds label 3"):
        confusion_matrix([0, 1], [0, 3], 3)
    with pytest.raises(ValueError, match="y_true holds label 5"):
        confusion_matrix([5], [0], 3)
    with pytest.raises(TypeError):
        confusion_matrix([0.5], [0], 3)
    with pytest.raises(ValueError, match="length"):
        confusion_matrix([0, 1], [0], 3)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint64, np.int8, np.int32, bool])
def test_empty_input_and_any_integer_dtype(dtype) -> None:
    np.testing.assert_array_equal(confusion_matrix([], [], 2), np.zeros((2, 2)))
    cm = confusion_matrix(np.array([0, 1, 1], dtype), np.array([1, 1, 0], dtype), 2)
    np.testing.assert_array_equal(cm, [[0, 1], [1, 1]])


@pytest.mark.parametrize("normalize", ["true", "pred", "all"])
def test_normalisation_matches_sklearn_and_leaves_empty_rows_nan(normalize: str) -> None:
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    cm = confusion_matrix(y_true, y_pred, 4)
    expected = skm.confusion_matrix(y_true, y_pred, labels=range(4), normalize=normalize)
    np.testing.assert_allclose(normalize_confusion_matrix(cm, normalize), expected)
    empty = normalize_confusion_matrix(np.array([[2, 0], [0, 0]]), "true")
    np.testing.assert_array_equal(empty[0], [1, 0])
    assert np.isnan(empty[1]).all()
    with pytest.raises(ValueError):
        normalize_confusion_matrix(cm, "rows")


def test_lecture_cifar10_matrix_is_rebuilt_from_labels() -> None:
    pairs = [(t, p) for t in range(10) for p in range(10) for _ in range(CIFAR_MATRIX[t, p])]
    pairs = np.random.default_rng(1).permutation(np.array(pairs))
    y_true, y_pred = pairs[:, 0], pairs[:, 1]
    cm = confusion_matrix(y_true, y_pred, 10)
    np.testing.assert_array_equal(cm, CIFAR_MATRIX)

    report = classification_report(cm)
    precision, recall, f1, support = skm.precision_recall_fscore_support(y_true, y_pred, labels=range(10))
    np.testing.assert_allclose(report["precision"], precision)
    np.testing.assert_allclose(report["recall"], recall)
    np.testing.assert_allclose(report["fbeta"], f1)
    np.testing.assert_array_equal(report["support"], support)
    cat, dog = CIFAR_CLASSES.index("cat"), CIFAR_CLASSES.index("dog")
    assert report["recall"][cat] == 826 / 1000
    assert report["precision"][cat] == 826 / (826 + 111 + 13 + 24 + 30 + 27 + 8 + 4 + 0 + 3)
    assert report["recall"][dog] == 801 / 1000
    assert report["accuracy"] == np.trace(CIFAR_MATRIX) / 10_000 == skm.accuracy_score(y_true, y_pred)
    # the lecture's most common confusion: dogs taken for cats
    assert len(cell_indices(y_true, y_pred, dog, cat)) == 111
