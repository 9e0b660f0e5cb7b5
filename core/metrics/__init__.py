"""Metrics of CV Lens: confusion matrices, and every metric derived from them.

Everything is a pure function of a confusion matrix (classes x classes for single-label data, 2 x 2 per
label for multilabel data, classes x classes of pixels for segmentation), which is cheap to recompute
for any subset of samples; ``cell_indices`` and friends map a cell back to the samples in it.
``SegmentationConfusion`` is the one stateful accumulator, for masks that arrive image by image.

THE convention for undefined values: a ratio whose numerator and denominator are both 0 (precision of
a class never predicted, recall of a class that never occurs, IoU of a class absent from truth and
prediction, accuracy of no samples, ...) is NaN, never 0 and never 1. NaN entries are left out of
macro and weighted averages (as scikit-learn's ``zero_division=np.nan``); an average with no defined
entry, or a weighted average whose defined entries have zero total weight, is NaN as well (scikit-learn
falls back to the unweighted mean in that last case). ``report_to_json`` turns NaN into ``null``.

Imports numpy only; no torch, no Qt.
"""

from .accumulator import SegmentationConfusion
from .calibration import calibration_bin, confidence_and_correct, expected_calibration_error, reliability_bins
from .classification import classification_report, top_k_accuracy
from .confusion import cell_indices, confusion_matrix, error_indices, normalize_confusion_matrix
from .curves import (
    ThresholdChoice,
    auc,
    average_precision,
    best_fbeta_threshold,
    one_vs_rest_report,
    precision_recall_curve,
    roc_auc,
    roc_curve,
)
from .multilabel import multilabel_cell_indices, multilabel_confusion_matrix, multilabel_report
from .segmentation import dice, iou, pixel_confusion_matrix, segmentation_report
from .serialize import report_to_json

__all__ = [
    "SegmentationConfusion",
    "ThresholdChoice",
    "auc",
    "average_precision",
    "best_fbeta_threshold",
    "calibration_bin",
    "cell_indices",
    "classification_report",
    "confidence_and_correct",
    "confusion_matrix",
    "dice",
    "error_indices",
    "expected_calibration_error",
    "iou",
    "multilabel_cell_indices",
    "multilabel_confusion_matrix",
    "multilabel_report",
    "normalize_confusion_matrix",
    "one_vs_rest_report",
    "pixel_confusion_matrix",
    "precision_recall_curve",
    "reliability_bins",
    "report_to_json",
    "roc_auc",
    "roc_curve",
    "segmentation_report",
    "top_k_accuracy",
]
