"""The outputs of a detection evaluation: what `python main.py evaluate` writes for a detector, and what the views
of a detection run select.

:func:`evaluate_detection` matches a run once (:class:`DetectionEvaluation`); :func:`summarize_detection` turns it
into the metrics.json of docs/detection-metrics.md (COCO's mAP family from
:func:`core.metrics.detection.detection_report`, PR curves, the confusion matrix with background, TIDE's error
kinds); :func:`write_detection_evaluation` writes metrics.json, detections.csv and per_image.csv, each atomically.

``iou_type="segm"`` (instance segmentation: a run with masks on a dataset open for instance segmentation) scores
every number with COCO's mask IoU: the mAP family (``detection_report(..., iou_type="segm")``), and the matching
behind the PR curves, the confusion matrix, TIDE's kinds, the per-image counts and detections.csv. Masks stay
run-length encoded (COCO RLE): the truth's are decoded one image at a time and encoded again.

Two operating points: the AP numbers and the PR curves sweep every score; the confusion matrix, the error counts,
the TP / FP / FN per image and detections.csv are at one score threshold (``score_threshold``; by default the
score of the best F1 over all classes pooled at IoU 0.5, 0.5 when no detection is right) and one IoU
(``iou_threshold``). Only images the run has done and that have truth are evaluated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import Dataset
from core.evaluation.classification import json_text, text_bytes
from core.evaluation.selection import PREDICTION, TRUTH, ObjectRefs, Selection
from core.metrics import detection_analysis as da
from core.metrics import report_to_json
from core.metrics.boxes import FN, FP, IGNORED, TP, ImageMatch
from core.metrics.detection import detection_report
from core.system.files import write_atomic

#: The score threshold when the best F1 is undefined (no detection is right).
FALLBACK_SCORE_THRESHOLD = 0.5
CONVENTION = (
    "Boxes x0,y0,x1,y1 in pixels; COCOeval's greedy matching (crowd regions and VOC's difficult objects ignored). "
    "mAP family: COCO (101-point interpolation, IoU 0.5:0.95, 100 detections per image). pr_curves: IoU 0.5, every "
    "score. confusion: rows truth, columns predicted; same-class matches first, then leftovers paired by IoU whatever "
    "the class; last row = false detections on background, last column = missed objects. errors: TIDE (Bolya et al. "
    "2020), t_f = iou_threshold, t_b = 0.1, counts at score_threshold; delta_map = mAP@0.5 gained with TIDE's oracle "
    "fix, over every detection."
)
IOU_TYPES = ("bbox", "segm")
SEGM_CONVENTION = (
    " iou_type segm: every IoU (mAP family, matching, PR curves, confusion, errors, per image) is COCO's mask IoU "
    "on run-length encodings (a crowd region's union is the detection's own area); object areas are the masks' "
    "pixel counts unless the reader gives COCO's annotation area; boxes in detections.csv are the detections' "
    "and the objects' boxes."
)
_REPORT_KEYS = (
    "map", "map_50", "map_75", "map_small", "map_medium", "map_large", "mar_1", "mar_10", "mar_100",
    "mar_small", "mar_medium", "mar_large",
)  # fmt: skip


def dataset_truth(dataset: Dataset, index: int, iou_type: str = "bbox") -> da.Truth | None:
    """(boxes, classes, {"iscrowd", "ignore"}) of one image as the dataset gives it (VOC's difficult -> ignore);
    for ``iou_type="segm"`` also ``"masks"``: the instance masks as COCO RLEs, in the order of the boxes."""
    loaded = dataset.load_boxes(index)
    if loaded is None:
        return None
    extras = dataset.box_extras(index)
    out = {"iscrowd": extras.get("iscrowd"), "ignore": extras.get("difficult")}
    if extras.get("area") is not None:  # COCO's annotation area: what COCOeval sorts into small / medium / large
        out["area"] = extras["area"]
    if iou_type == "segm":
        out["masks"] = instance_rles(dataset, index, len(loaded[1]))
    return loaded[0], loaded[1], out


def instance_rles(dataset: Dataset, index: int, count: int) -> list[dict]:
    """One image's true instance masks as COCO RLE dicts (decoded by the reader, encoded here: a few hundred bytes
    an object instead of H x W). A ValueError (that image's failure) when they cannot be read or do not match the
    boxes."""
    instances = dataset.load_instances(index)
    if instances is None:
        raise ValueError(f"{dataset.sample_ids[index]}: no instance masks (open the dataset for instance segmentation)")
    instances = np.asarray(instances, dtype=bool)
    if instances.ndim != 3 or len(instances) != count:
        raise ValueError(f"{dataset.sample_ids[index]}: {len(instances)} instance masks for {count} boxes")
    return _encode(instances)


def _encode(masks: np.ndarray) -> list[dict]:
    """N x H x W bool -> COCO RLE dicts (pycocotools, Fortran order)."""
    if not len(masks):
        return []
    from pycocotools import mask as mask_utils

    return list(mask_utils.encode(np.asfortranarray(np.moveaxis(masks.astype(np.uint8), 0, -1))))


def detection_rles(predictions, index: int) -> list[dict]:
    """The RLE dicts of one image's detections in the order of ``predictions.image(index)`` (every score)."""
    if predictions.masks is None:
        raise ValueError("the run has no masks: a segm evaluation needs an instance segmentation run")
    height, width = (int(v) for v in predictions.image_sizes[index])
    keep = np.flatnonzero(predictions.scores[index] >= 0.0)  # as image(index) keeps them
    return [{"size": [height, width], "counts": predictions.masks[index][k]} for k in keep]


def mask_ious(truth: da.Truth, masks: list[dict]) -> np.ndarray:
    """M x G mask IoU of detections (RLEs) with the objects of ``truth`` (its extras' "masks"), crowd-aware as
    COCOeval: a crowd region's union is the detection's own area."""
    _, classes, crowd, _ = da.truth_arrays(truth)
    objects = truth[2].get("masks") if len(truth) > 2 and truth[2] else None
    if objects is None or len(objects) != len(classes):
        raise ValueError("a segm evaluation needs every object's mask (edited boxes have none)")
    if not masks or not objects:
        return np.zeros((len(masks), len(objects)), dtype=np.float64)
    sizes = {tuple(int(v) for v in m["size"]) for m in [*masks, *objects]}
    if len(sizes) > 1:
        raise ValueError(f"the masks of the run and of the truth differ in size: {sorted(sizes)}")
    from pycocotools import mask as mask_utils

    ious = mask_utils.iou(list(masks), list(objects), crowd.astype(np.uint8).tolist())
    return np.asarray(ious, dtype=np.float64).reshape(len(masks), len(objects))


def _truth_of(dataset: Dataset, index: int, truth, iou_type: str = "bbox") -> da.Truth | None:
    """The override's truth of an image (``truth``: a mapping {index: truth} of the edited images, or a sequence
    over the dataset with None for the images left as they are), else the dataset's."""
    given = truth.get(index) if isinstance(truth, Mapping) else None if truth is None else truth[index]
    return dataset_truth(dataset, index, iou_type) if given is None else given


@dataclass
class DetectionEvaluation:
    """A run matched against the truth at one operating point (every array per evaluated image)."""

    classes: list[str]
    sample_ids: list[str]
    #: Dataset indices of the evaluated images.
    images: np.ndarray
    truths: list[da.Truth]
    #: Every detection of each image (score order, as ``DetectionPredictions.image(i)`` gives them).
    detections: list[da.Detections]
    iou_threshold: float
    score_threshold: float
    #: Per image: the indices (into ``detections``) of the detections scoring at least the threshold.
    kept: list[np.ndarray] = field(default_factory=list)
    #: TIDE's kinds of the kept detections at ``iou_threshold`` (their ``match`` gives TP / FP / FN).
    errors: list[da.ImageErrors] = field(default_factory=list)
    confusion: list[da.ImageConfusion] = field(default_factory=list)
    failures: dict[int, str] = field(default_factory=dict)
    #: Every detection matched at IoU 0.5 (the PR curves, the default threshold, TIDE's delta mAP).
    matches_50: list[ImageMatch] | None = None
    #: "bbox" or "segm": which IoU every match and number uses.
    iou_type: str = "bbox"
    #: segm: per evaluated image the RLE dicts of every detection (in the order of ``detections``).
    masks: list[list[dict]] | None = None
    #: segm: per evaluated image the M x G mask IoU of every detection with every object (None: box IoU).
    ious: list[np.ndarray] | None = None

    def __post_init__(self) -> None:
        if self.matches_50 is None:
            self.matches_50 = [self._match(k, da.FOREGROUND_IOU) for k in range(len(self.truths))]
        for k, (truth, detections) in enumerate(zip(self.truths, self.detections)):
            keep = np.flatnonzero(np.asarray(detections[1]) >= self.score_threshold)
            kept = tuple(np.asarray(a)[keep] for a in detections)
            matched = self._match(k, self.iou_threshold, keep)
            self.kept.append(keep)
            self.errors.append(da.image_errors(truth, kept, foreground=self.iou_threshold, matched=matched))
            self.confusion.append(da.image_confusion(truth, kept, self.num_classes, self.iou_threshold, matched))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def _match(self, k: int, iou_threshold: float, keep: np.ndarray | None = None) -> ImageMatch:
        """Image ``k``'s detections (those at ``keep``, default all) matched at ``iou_threshold`` with the
        evaluation's IoU (the mask IoU of a segm evaluation).

        The kept detections are the best scoring ones, and a detection's match depends only on the better ones:
        at IoU 0.5 they keep their match of every detection (``matches_50``), only the objects' status changes."""
        detections = self.detections[k]
        if keep is None:
            keep = np.arange(len(np.asarray(detections[1])))
        if iou_threshold == da.FOREGROUND_IOU and self.matches_50 is not None and len(self.matches_50) > k:
            return _restricted(self.matches_50[k], keep)
        kept = tuple(np.asarray(a)[keep] for a in detections)
        ious = None if self.ious is None else self.ious[k][keep]
        return da.match(self.truths[k], kept, iou_threshold, ious=ious)

    def operating(self, k: int) -> da.Detections:
        """The kept detections of evaluated image ``k``."""
        return tuple(np.asarray(a)[self.kept[k]] for a in self.detections[k])

    def counts(self) -> dict[str, np.ndarray]:
        """Per evaluated image: tp, fp, fn at the operating point, and each error kind."""
        out = {
            key: np.array([getattr(e.match, key) for e in self.errors], dtype=np.int64) for key in ("tp", "fp", "fn")
        }
        for code, kind in enumerate(da.ERROR_KINDS):
            out[kind] = np.array(
                [int(e.missed.sum()) if code == da.MISSED else int((e.pred_error == code).sum()) for e in self.errors],
                dtype=np.int64,
            )
        return out

    def worst_order(self) -> np.ndarray:
        """Positions of the evaluated images, most FP + FN first, then most FN."""
        counts = self.counts()
        return da.worst_first(counts["tp"], counts["fp"], counts["fn"])

    def confusion_matrix(self) -> np.ndarray:
        return da.confusion_matrix(
            self.truths, [self.operating(k) for k in range(len(self.images))], self.confusion, self.num_classes
        )

    # -- the objects behind a number ---------------------------------------------------------------------------
    def detection_kind(self, k: int, d: int) -> str:
        """In words, what kept detection ``d`` of image ``k`` is: "TP", "FP · duplicate", "ignored"."""
        status, code = self.errors[k].match.pred_status[d], self.errors[k].pred_error[d]
        return "TP" if status == TP else "ignored" if status == IGNORED else f"FP · {da.ERROR_KINDS[code]}"

    def object_kind(self, k: int, j: int) -> str:
        status = self.errors[k].match.truth_status[j]
        return "TP" if status == TP else "ignored" if status == IGNORED else "FN"

    def _refs(self, picks: list[tuple[int, int, int]]) -> ObjectRefs:
        """ObjectRefs of (image position, source, object index) triples; detections as indices into every score."""
        samples = [int(self.images[k]) for k, _, _ in picks]
        objects = [int(self.kept[k][i]) if source == PREDICTION else i for k, source, i in picks]
        kinds = [self.detection_kind(k, i) if s == PREDICTION else self.object_kind(k, i) for k, s, i in picks]
        return ObjectRefs.of(samples, [s for _, s, _ in picks], objects, kinds)

    def cell_selection(self, row: int, column: int) -> Selection:
        """The objects of a confusion cell: the objects of class ``row`` in ``column`` with the detection each is
        paired with, or (background row) the false detections of class ``column``."""
        picks = []
        for k, (truth, conf) in enumerate(zip(self.truths, self.confusion)):
            if row == self.num_classes:
                classes = np.asarray(self.detections[k][2])[self.kept[k]]
                picks += [(k, PREDICTION, d) for d in np.flatnonzero((conf.pred_row == row) & (classes == column))]
                continue
            classes = da.truth_arrays(truth)[1]
            for j in np.flatnonzero((conf.truth_column == column) & (classes == row)):
                picks.append((k, TRUTH, j))
                if conf.truth_pair[j] >= 0:
                    picks.append((k, PREDICTION, conf.truth_pair[j]))
        names = [*self.classes, "background"]
        return Selection.of_objects(f"truth {names[row]} · predicted {names[column]}", self._refs(picks))

    def error_selection(self, kind: str, class_index: int | None = None) -> Selection:
        """The detections of one TIDE kind (the objects, for "missed"), of one predicted (true) class or all."""
        code, picks = da.ERROR_KINDS.index(kind), []
        for k, (truth, image) in enumerate(zip(self.truths, self.errors)):
            if code == da.MISSED:
                mine = image.missed & self._of_class(da.truth_arrays(truth)[1], class_index)
                picks += [(k, TRUTH, j) for j in np.flatnonzero(mine)]
            else:
                classes = np.asarray(self.detections[k][2])[self.kept[k]]
                mine = (image.pred_error == code) & self._of_class(classes, class_index)
                picks += [(k, PREDICTION, d) for d in np.flatnonzero(mine)]
        return Selection.of_objects(self._named(kind, class_index), self._refs(picks))

    def outcome_selection(self, outcome: str, class_index: int | None = None) -> Selection:
        """The TP or FP detections, or the FN objects, of one class (or all) at the operating point."""
        picks = []
        for k, (truth, image) in enumerate(zip(self.truths, self.errors)):
            if outcome == "FN":
                mine = (image.match.truth_status == FN) & self._of_class(da.truth_arrays(truth)[1], class_index)
                picks += [(k, TRUTH, j) for j in np.flatnonzero(mine)]
                continue
            status = {"TP": TP, "FP": FP}[outcome]
            classes = np.asarray(self.detections[k][2])[self.kept[k]]
            mine = (image.match.pred_status == status) & self._of_class(classes, class_index)
            picks += [(k, PREDICTION, d) for d in np.flatnonzero(mine)]
        return Selection.of_objects(self._named(outcome, class_index), self._refs(picks))

    def image_selection(self, sample: int) -> Selection:
        """One image's objects (TP / FN / ignored) and kept detections (TP / FP · kind / ignored)."""
        positions = np.flatnonzero(self.images == sample)
        picks = []
        for k in positions:
            picks += [(k, TRUTH, j) for j in range(len(self.errors[k].match.truth_status))]
            picks += [(k, PREDICTION, d) for d in range(len(self.kept[k]))]
        return Selection.of_objects(f"objects of {self.sample_ids[sample]}", self._refs(picks))

    def worst_images(self) -> Selection:
        """Every evaluated image, most FP + FN first (then most FN), in that order."""
        return Selection.of("images, most errors first", self.images[self.worst_order()], ordered=True)

    def _of_class(self, classes: np.ndarray, class_index: int | None) -> np.ndarray:
        return np.ones(len(classes), bool) if class_index is None else np.asarray(classes) == class_index

    def _named(self, what: str, class_index: int | None) -> str:
        return what if class_index is None else f"{what} · {self.classes[class_index]}"


def _restricted(matched: ImageMatch, keep: np.ndarray) -> ImageMatch:
    """The match of the best scoring detections ``keep`` out of ``matched`` (made at the same IoU over every
    detection): their statuses stay, an object is found only if one of them took it."""
    pred_status, pred_match = matched.pred_status[keep], matched.pred_match[keep]
    truth_status = np.where(matched.truth_status == IGNORED, IGNORED, FN).astype(np.int8)
    truth_status[pred_match[pred_status == TP]] = TP
    return ImageMatch(pred_status, pred_match, matched.pred_iou[keep], truth_status, matched.ious[keep])


def evaluate_detection(
    dataset: Dataset,
    predictions,
    *,
    iou_threshold: float = 0.5,
    score_threshold: float | None = None,
    truth=None,
    iou_type: str = "bbox",
) -> DetectionEvaluation:
    """Match a :class:`DetectionPredictions` run with the dataset's boxes (or ``truth``'s: per image (boxes, classes,
    extras), a mapping of the edited images or a sequence over the dataset, None where not edited).
    ``score_threshold`` None: the score of the best F1 of every class pooled at IoU 0.5
    (:func:`da.best_f1_threshold`), 0.5 when undefined. ``iou_type="segm"``: every match with the mask IoU of the
    run's masks and the dataset's instance masks (``dataset.load_instances``); an image whose masks cannot be read
    is a failure of that image."""
    if iou_type not in IOU_TYPES:
        raise ValueError(f"iou_type must be one of {IOU_TYPES}, not {iou_type!r}")
    if len(predictions.classes) != len(dataset.classes):
        raise ValueError(
            f"the run has {len(predictions.classes)} classes, the dataset {len(dataset.classes)}: map the detector's "
            "classes onto the dataset's first"
        )
    segm = iou_type == "segm"
    if segm and predictions.masks is None:
        raise ValueError("a segm evaluation needs a run with masks (an instance segmentation run)")
    predictions = predictions.aligned(list(dataset.sample_ids))
    images, truths, detections, failures = [], [], [], {}
    masks, ious = ([], []) if segm else (None, None)
    for i in np.flatnonzero(predictions.done):
        try:
            image_truth = _truth_of(dataset, int(i), truth, iou_type)
            if image_truth is not None and segm:
                image_masks = detection_rles(predictions, int(i))
                image_ious = mask_ious(image_truth, image_masks)
        except Exception as exc:  # an unreadable annotation is that image's failure, the evaluation goes on
            failures[int(i)] = str(exc)
            continue
        if image_truth is None:
            continue
        images.append(int(i))
        truths.append(image_truth)
        detections.append(predictions.image(int(i)))
        if segm:
            masks.append(image_masks)
            ious.append(image_ious)
    matches_50 = [
        da.match(t, d, da.FOREGROUND_IOU, ious=None if ious is None else ious[k])
        for k, (t, d) in enumerate(zip(truths, detections))
    ]
    if score_threshold is None:
        score_threshold = da.best_f1_threshold(truths, detections, da.FOREGROUND_IOU, matches_50)["score"]
        if not np.isfinite(score_threshold):
            score_threshold = FALLBACK_SCORE_THRESHOLD
    return DetectionEvaluation(
        classes=list(dataset.classes),
        sample_ids=list(dataset.sample_ids),
        images=np.asarray(images, dtype=np.int64),
        truths=truths,
        detections=detections,
        iou_threshold=float(iou_threshold),
        score_threshold=float(score_threshold),
        failures=failures,
        matches_50=matches_50,
        iou_type=iou_type,
        masks=masks,
        ious=ious,
    )


# -- metrics.json -----------------------------------------------------------------------------------------------
def _per_class(values, classes: list[str]) -> dict[str, float]:
    """A per-class value of the report as {class: value} (a report may give a sequence or a dict)."""
    if isinstance(values, Mapping):
        return {str(classes[k]) if isinstance(k, (int, np.integer)) else str(k): v for k, v in values.items()}
    return dict(zip(classes, np.asarray(values, dtype=np.float64).tolist()))


def _class_numbers(classes: list[str], matrix: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per class at the operating point (from the confusion ``matrix``): objects, detections, TP, FP, FN,
    precision, recall, F1."""
    out = {}
    for c, name in enumerate(classes):
        tp, objects, detections = int(matrix[c, c]), int(matrix[c].sum()), int(matrix[:, c].sum())
        precision = tp / detections if detections else float("nan")
        recall = tp / objects if objects else float("nan")
        f1 = 2 * tp / (objects + detections) if objects + detections else float("nan")
        out[name] = {"objects": objects, "detections": detections, "tp": tp, "fp": detections - tp}
        out[name].update({"fn": objects - tp, "precision": precision, "recall": recall, "f1": f1})
    return out


def _error_numbers(evaluation: DetectionEvaluation, base_map_50: float) -> dict[str, Any]:
    counts = evaluation.counts()
    all_scores = [
        da.image_errors(t, d, matched=m)
        for t, d, m in zip(evaluation.truths, evaluation.detections, evaluation.matches_50)
    ]
    deltas = da.error_delta_map(
        evaluation.truths, evaluation.detections, all_scores, evaluation.num_classes, base=base_map_50
    )
    return {
        "iou_threshold": evaluation.iou_threshold,
        "background_iou": da.BACKGROUND_IOU,
        "score_threshold": evaluation.score_threshold,
        "counts": {kind: int(counts[kind].sum()) for kind in da.ERROR_KINDS},
        "delta_map_iou": da.FOREGROUND_IOU,
        "delta_map": deltas,
    }


def _run_facts(dataset: Dataset, predictions, evaluation: DetectionEvaluation) -> dict[str, Any]:
    failures = {**predictions.aligned(list(dataset.sample_ids)).errors, **evaluation.failures}
    return {
        "dataset": str(dataset.root),
        "layout": dataset.layout,
        "split": dataset.split,
        "model": predictions.model,
        "device": predictions.device,
        "samples": len(dataset),
        "predicted": int(np.sum(predictions.done)),
        "evaluated": len(evaluation.images),
        "failed": len(failures),
        "failures": [{"sample_id": dataset.sample_ids[i], "error": e} for i, e in sorted(failures.items())],
    }


def summary_of(dataset: Dataset, predictions, evaluation: DetectionEvaluation) -> dict[str, Any]:
    """metrics.json of an evaluated run (see docs/detection-metrics.md), JSON-ready (NaN -> null)."""
    classes = evaluation.classes
    report = detection_report(
        evaluation.truths, _report_detections(evaluation), evaluation.num_classes, iou_type=evaluation.iou_type
    )
    curves = da.class_pr_curves(
        evaluation.truths, evaluation.detections, evaluation.num_classes, da.FOREGROUND_IOU, evaluation.matches_50
    )
    counted = sum(int(da.counted(t).sum()) for t in evaluation.truths)
    matrix = evaluation.confusion_matrix()
    summary: dict[str, Any] = {
        "task": "detection",
        "classes": classes,
        "iou_type": evaluation.iou_type,
        **_run_facts(dataset, predictions, evaluation),
        "num_images": len(evaluation.images),
        "num_objects": counted,
        "num_detections": int(sum(len(d[1]) for d in evaluation.detections)),
        **{key: report[key] for key in _REPORT_KEYS if key in report},
        "ap": _per_class(report["ap"], classes),
        "ap_50": _per_class(report["ap_50"], classes),
        "pr_curves": {name: da.thin_curve(curve) for name, curve in zip(classes, curves)},
        "iou_threshold": evaluation.iou_threshold,
        "score_threshold": evaluation.score_threshold,
        "per_class": _class_numbers(classes, matrix),
        "confusion": {
            "iou_threshold": evaluation.iou_threshold,
            "score_threshold": evaluation.score_threshold,
            "labels": [*classes, "background"],
            "matrix": matrix,
        },
        "errors": _error_numbers(evaluation, float(report["map_50"])),
        "convention": CONVENTION + (SEGM_CONVENTION if evaluation.iou_type == "segm" else ""),
    }
    return report_to_json(summary)


def _report_detections(evaluation: DetectionEvaluation) -> list[tuple]:
    """detection_report's predictions: (boxes, scores, classes), and the masks' RLEs for segm."""
    if evaluation.masks is None:
        return evaluation.detections
    return [(*detections, masks) for detections, masks in zip(evaluation.detections, evaluation.masks)]


def summarize_detection(
    dataset: Dataset,
    predictions,
    *,
    iou_threshold: float = 0.5,
    score_threshold: float | None = None,
    truth=None,
    iou_type: str = "bbox",
) -> dict[str, Any]:
    """Everything the metrics views show for a detection run: the metrics.json dict (docs/detection-metrics.md).

    ``score_threshold`` None takes the best-F1 score (every class pooled, IoU 0.5); ``truth`` overrides the
    dataset's boxes (edited ones); ``iou_type="segm"`` scores masks: see :func:`evaluate_detection`."""
    evaluation = evaluate_detection(
        dataset, predictions, iou_threshold=iou_threshold, score_threshold=score_threshold, truth=truth,
        iou_type=iou_type,
    )  # fmt: skip
    return summary_of(dataset, predictions, evaluation)


# -- the CSV files ------------------------------------------------------------------------------------------------
DETECTIONS_HEADER = ["sample_id", "x0", "y0", "x1", "y1", "score", "class", "match"]
PER_IMAGE_HEADER = ["sample_id", "tp", "fp", "fn", "objects", "detections", *da.ERROR_KINDS]


def _number(value: float) -> str:
    """Nine significant digits: a float32 reads back exactly."""
    return f"{float(value):.9g}"


def detection_rows(evaluation: DetectionEvaluation) -> list[list[str]]:
    """detections.csv: per evaluated image (dataset order) its detections at the operating point (match TP,
    FP:<kind> or IGNORED: matched to a crowd region or an ignored object), then its missed objects (FN, the
    object's box and class, no score)."""
    rows = [DETECTIONS_HEADER]
    for k, sample in enumerate(evaluation.images):
        sid, image = evaluation.sample_ids[sample], evaluation.errors[k]
        boxes, scores, classes = evaluation.operating(k)
        for d in range(len(scores)):
            status = image.match.pred_status[d]
            match = (
                "TP"
                if status == TP
                else "IGNORED"
                if status == IGNORED
                else f"FP:{da.ERROR_KINDS[image.pred_error[d]]}"
            )
            rows.append([sid, *map(_number, boxes[d]), _number(scores[d]), evaluation.classes[classes[d]], match])
        truth_boxes, truth_classes = da.truth_arrays(evaluation.truths[k])[:2]
        for j in np.flatnonzero(image.match.truth_status == FN):
            rows.append([sid, *map(_number, truth_boxes[j]), "", evaluation.classes[truth_classes[j]], "FN"])
    return rows


def per_image(evaluation: DetectionEvaluation) -> list[list[Any]]:
    """per_image.csv: one row per evaluated image, most FP + FN first, then most FN: TP, FP, FN, the counted
    objects and detections at the operating point, and each TIDE kind."""
    counts = evaluation.counts()
    rows: list[list[Any]] = [PER_IMAGE_HEADER]
    for k in evaluation.worst_order():
        tp, fp, fn = (int(counts[key][k]) for key in ("tp", "fp", "fn"))
        kinds = [int(counts[kind][k]) for kind in da.ERROR_KINDS]
        rows.append([evaluation.sample_ids[evaluation.images[k]], tp, fp, fn, tp + fn, tp + fp, *kinds])
    return rows


def _csv_bytes(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return text_bytes(buffer.getvalue())


def write_evaluation_files(out_dir: str | Path, summary: dict, evaluation: DetectionEvaluation) -> None:
    """metrics.json, detections.csv and per_image.csv into ``out_dir``, each atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "detections.csv", _csv_bytes(detection_rows(evaluation)))
    write_atomic(out / "per_image.csv", _csv_bytes(per_image(evaluation)))
    # Last: a folder with this metrics.json holds the CSV files of the same evaluation.
    write_atomic(out / "metrics.json", text_bytes(json_text(summary, allow_nan=False)))


def write_detection_evaluation(
    dataset: Dataset,
    predictions,
    out_dir: str | Path,
    *,
    iou_threshold: float = 0.5,
    score_threshold: float | None = None,
    truth=None,
    iou_type: str = "bbox",
) -> dict[str, Any]:
    """Write metrics.json, detections.csv and per_image.csv into ``out_dir`` (each atomically); the summary.
    ``iou_type="segm"``: every number with the mask IoU (see :func:`evaluate_detection`)."""
    evaluation = evaluate_detection(
        dataset, predictions, iou_threshold=iou_threshold, score_threshold=score_threshold, truth=truth,
        iou_type=iou_type,
    )  # fmt: skip
    summary = summary_of(dataset, predictions, evaluation)
    write_evaluation_files(out_dir, summary, evaluation)
    return summary
