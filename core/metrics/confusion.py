"""Confusion matrices of class labels, and the way back from a cell to the samples in it.

Rows are the true class, columns the predicted class. A sample is counted when both of its labels
are class indices (``>= 0``) and its true label is not ``ignore_index``: ``-1`` means unlabeled in
``y_true`` and "no prediction" in ``y_pred``, and such samples are in no cell. A label ``>=
num_classes`` is an error, never silently dropped.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ._common import as_labels, check_same_length, safe_divide


def _counted(y_true: np.ndarray, y_pred: np.ndarray, ignore_index: int | None) -> np.ndarray | None:
    """Boolean mask of the samples that enter the matrix, or None when all do (the common, fast case)."""
    keep = None
    if np.issubdtype(y_true.dtype, np.signedinteger):
        keep = y_true >= 0
    if np.issubdtype(y_pred.dtype, np.signedinteger):
        keep = y_pred >= 0 if keep is None else keep & (y_pred >= 0)
    if ignore_index is not None:
        keep = y_true != ignore_index if keep is None else keep & (y_true != ignore_index)
    return None if keep is None or keep.all() else keep


def _format(y_true, y_pred, ignore_index: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Validated 1-D label arrays holding only the samples that are counted."""
    y_true, y_pred = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    check_same_length(y_true, y_pred, "y_true and y_pred")
    keep = _counted(y_true, y_pred, ignore_index)
    if keep is not None:
        y_true, y_pred = y_true[keep], y_pred[keep]
    return y_true, y_pred


def _check_range(y: np.ndarray, num_classes: int, name: str) -> None:
    if y.size and int(y.max()) >= num_classes:
        raise ValueError(f"{name} holds label {int(y.max())}, but num_classes is {num_classes}")


def _update(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Count (true, pred) pairs with one bincount over the flat cell index ``true * C + pred``."""
    cells = np.multiply(y_true, num_classes, dtype=np.int64)
    np.add(cells, y_pred, out=cells, casting="unsafe")  # labels are range-checked; uint64 + int64 would be float
    return np.bincount(cells, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def confusion_matrix(y_true, y_pred, num_classes: int, ignore_index: int | None = None) -> np.ndarray:
    """The ``num_classes x num_classes`` int64 matrix: cell ``[i, j]`` counts samples of true class i predicted j.

    Samples whose ``y_true`` equals ``ignore_index``, and samples with a negative label on either side
    (-1: unlabeled / not predicted), are dropped. Raises ValueError for a label ``>= num_classes``.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    y_true, y_pred = _format(y_true, y_pred, ignore_index)
    _check_range(y_true, num_classes, "y_true")
    _check_range(y_pred, num_classes, "y_pred")
    return _update(y_true, y_pred, num_classes)


def cell_indices(
    y_true,
    y_pred,
    true_class: int | None = None,
    pred_class: int | None = None,
    ignore_index: int | None = None,
) -> np.ndarray:
    """Indices (into the original arrays) of exactly the samples counted in one cell of ``confusion_matrix``.

    ``true_class=None`` selects a whole column (every sample predicted ``pred_class``), ``pred_class=None``
    a whole row (every sample of ``true_class``), both None every counted sample. The number of indices
    returned always equals the matching cell, row or column sum of the matrix.
    """
    y_true, y_pred = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    check_same_length(y_true, y_pred, "y_true and y_pred")
    keep = _counted(y_true, y_pred, ignore_index)
    keep = np.ones(len(y_true), dtype=bool) if keep is None else keep
    if true_class is not None:
        keep &= y_true == true_class
    if pred_class is not None:
        keep &= y_pred == pred_class
    return np.flatnonzero(keep)


def error_indices(y_true, y_pred, ignore_index: int | None = None) -> np.ndarray:
    """Indices of the counted samples off the diagonal (misclassified)."""
    y_true, y_pred = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    check_same_length(y_true, y_pred, "y_true and y_pred")
    keep = _counted(y_true, y_pred, ignore_index)
    wrong = y_true != y_pred
    return np.flatnonzero(wrong if keep is None else wrong & keep)


Normalize = Literal["true", "pred", "all"]


def normalize_confusion_matrix(cm: np.ndarray, normalize: Normalize = "true") -> np.ndarray:
    """Fractions of a count matrix: by true class (rows sum to 1), by predicted class (columns), or over all.

    A row (column) without samples becomes NaN, not 0: its fractions are 0/0.
    """
    cm = np.asarray(cm)
    axes = {"true": (-1,), "pred": (-2,), "all": (-2, -1)}
    if normalize not in axes:
        raise ValueError(f"normalize must be 'true', 'pred' or 'all', got {normalize!r}")
    # one multiplication by 1/sum (NaN for an empty row) instead of a division per cell: 5x faster for C = 1000
    return cm * safe_divide(1.0, cm.sum(axis=axes[normalize], keepdims=True))
