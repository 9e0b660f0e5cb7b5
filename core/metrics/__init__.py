"""Metrics of CV Lens: confusion matrices, and every metric derived from them.

Everything is a pure function of a confusion matrix (classes x classes for single-label data, 2 x 2 per
label for multilabel data, classes x classes of pixels for segmentation), which is cheap to recompute
for any subset of samples; ``cell_indices`` and friends map a cell back to the samples in it.
``SegmentationConfusion`` is the one stateful accumulator, for masks that arrive image by image.

Undefined values and averages (docs/metrics-conventions.md has the comparison with other libraries).
A ratio whose numerator and denominator are both 0 (precision of a class never predicted, recall of a
class that never occurs, IoU of a class absent from truth and prediction, accuracy of no samples, ...)
is undefined. What the precision / recall / F-beta averages make of it is the ``zero_division``
parameter of ``classification_report`` and ``multilabel_report``, named and valued as scikit-learn's:

- ``0`` (the default): scikit-learn's convention, which its ``classification_report`` and
  ``precision_recall_fscore_support`` apply with their defaults, and torchmetrics' too. The undefined
  value counts as 0 in the per-class arrays and in the macro, weighted, micro and samples averages.
  Single-label: the averaged classes are those in the truth or the predictions (scikit-learn's default
  ``labels``; torchmetrics' multiclass macro leaves out the classes with TP + FP + FN = 0 the same way);
  a class in neither stays NaN and is named by the report's "averaged" mask. Multilabel: every label is
  averaged, as scikit-learn and torchmetrics do on indicator arrays, even one in neither truth nor
  predictions (its precision, recall and F-beta all count as 0).
- ``nan``: the undefined value stays NaN and is left out of the averages (scikit-learn's
  ``zero_division=np.nan``). An average with no defined entry is NaN.
- ``1``: the undefined value counts as 1 (scikit-learn's ``zero_division=1``).

In every case F-beta is computed from counts, (1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP), so it is 0,
not undefined, when TP = 0 but something was expected or predicted. A weighted average whose
averaged, defined entries all have zero support is their unweighted mean (as scikit-learn's).
Segmentation has no such choice: a class in neither truth nor prediction has NaN IoU and Dice and is
left out of the means (as mmseg and torchmetrics' ``multiclass_jaccard_index``); a class predicted but
absent from the truth has IoU 0 and counts. ``report_to_json`` turns NaN into ``null``.

Object detection (``detection_report``) follows pycocotools' COCOeval exactly instead; its conventions are in
docs/metrics-conventions.md too.

Imports numpy only (pycocotools for masks); no torch, no Qt.
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
from .detection import CocoCurves, coco_curves, detection_report
from .multilabel import multilabel_cell_indices, multilabel_confusion_matrix, multilabel_report
from .segmentation import dice, iou, pixel_confusion_matrix, segmentation_report
from .serialize import report_to_json

__all__ = [
    "CocoCurves",
    "SegmentationConfusion",
    "ThresholdChoice",
    "auc",
    "average_precision",
    "best_fbeta_threshold",
    "calibration_bin",
    "cell_indices",
    "classification_report",
    "coco_curves",
    "confidence_and_correct",
    "confusion_matrix",
    "detection_report",
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
