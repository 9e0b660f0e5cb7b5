"""The evaluation of a detection run: its matching with the dataset's objects, and what the views of a detection
run select.

:func:`evaluate_detection` matches a run once (:class:`DetectionEvaluation`: per image the PR curves' matching at
IoU 0.5, the operating point's TIDE kinds and confusion cells, and the :class:`Selection` of any of them).
:mod:`core.evaluation.detection_files` turns it into the metrics.json of docs/detection-metrics.md (COCO's mAP
family from :func:`core.metrics.detection.detection_report`, PR curves, the confusion matrix with background,
TIDE's error kinds), detections.csv and per_image.csv.

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

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from core.datasets.base import Dataset
from core.evaluation.selection import PREDICTION, TRUTH, ObjectRefs, Selection
from core.metrics import detection_analysis as da
from core.metrics import detection_errors as de
from core.metrics.boxes import FN, FP, IGNORED, TP, ImageMatch

#: The score threshold when the best F1 is undefined (no detection is right).
FALLBACK_SCORE_THRESHOLD = 0.5
IOU_TYPES = ("bbox", "segm")


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
    errors: list[de.ImageErrors] = field(default_factory=list)
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
            self.matches_50 = [self._match(k, de.FOREGROUND_IOU) for k in range(len(self.truths))]
        for k, (truth, detections) in enumerate(zip(self.truths, self.detections)):
            keep = np.flatnonzero(np.asarray(detections[1]) >= self.score_threshold)
            kept = tuple(np.asarray(a)[keep] for a in detections)
            matched = self._match(k, self.iou_threshold, keep)
            self.kept.append(keep)
            self.errors.append(de.image_errors(truth, kept, foreground=self.iou_threshold, matched=matched))
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
        if iou_threshold == de.FOREGROUND_IOU and self.matches_50 is not None and len(self.matches_50) > k:
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
        for code, kind in enumerate(de.ERROR_KINDS):
            out[kind] = np.array(
                [int(e.missed.sum()) if code == de.MISSED else int((e.pred_error == code).sum()) for e in self.errors],
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
        return "TP" if status == TP else "ignored" if status == IGNORED else f"FP · {de.ERROR_KINDS[code]}"

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
        code, picks = de.ERROR_KINDS.index(kind), []
        for k, (truth, image) in enumerate(zip(self.truths, self.errors)):
            if code == de.MISSED:
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
        da.match(t, d, de.FOREGROUND_IOU, ious=None if ious is None else ious[k])
        for k, (t, d) in enumerate(zip(truths, detections))
    ]
    if score_threshold is None:
        score_threshold = da.best_f1_threshold(truths, detections, de.FOREGROUND_IOU, matches_50)["score"]
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
