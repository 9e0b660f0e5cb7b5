"""Boxes over images for the object tasks: an image's truth, a run's detections, and their TP / FP / FN.

:func:`truth_boxes` is the one place the browser reads an image's true objects (the object grid, the tiles and
the sample view all come through it), so edited boxes from the project store replace the dataset's here alone.
:func:`image_boxes` turns truth and detections into :class:`DrawnBox` es: with a run, the detections at or above
the score threshold are matched to the objects at IoU 0.5 by :func:`core.metrics.boxes.match_image` (COCOeval's
rule) and every box gets its kind. Kinds differ in colour AND line style (Okabe-Ito colours, safe for colour-blind
eyes): TP solid, FP dashed, FN dotted, ignored (crowd, difficult) grey dash-dot, plain truth solid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen

from core.datasets import Dataset
from core.evaluation.selection import PREDICTION, TRUTH
from core.inference.detections import DetectionPredictions
from core.metrics.boxes import FN, FP, IGNORED, TP, match_image

#: IoU at which the browser calls a detection right (the COCO / VOC convention, as the confusion matrix).
IOU_THRESHOLD = 0.5

#: The kinds of a drawn box.
TRUTH_KIND, PREDICTED_KIND, TP_KIND, FP_KIND, FN_KIND, IGNORED_KIND = "truth", "prediction", "TP", "FP", "FN", "ignored"

#: kind -> (colour, line style, the legend's words).
BOX_STYLES: dict[str, tuple[QColor, Qt.PenStyle, str]] = {
    TRUTH_KIND: (QColor(240, 228, 66), Qt.PenStyle.SolidLine, "object (truth)"),
    PREDICTED_KIND: (QColor(86, 180, 233), Qt.PenStyle.SolidLine, "detection"),
    TP_KIND: (QColor(0, 158, 115), Qt.PenStyle.SolidLine, "TP: detection that found an object"),
    FP_KIND: (QColor(213, 94, 0), Qt.PenStyle.DashLine, "FP: detection of nothing (or of the wrong class)"),
    FN_KIND: (QColor(204, 121, 167), Qt.PenStyle.DotLine, "FN: object no detection found"),
    IGNORED_KIND: (QColor(160, 160, 160), Qt.PenStyle.DashDotLine, "ignored: crowd region or difficult object"),
}
#: Drawn first to last: the detections over the objects they are about.
PAINT_ORDER = (IGNORED_KIND, TRUTH_KIND, FN_KIND, PREDICTED_KIND, FP_KIND, TP_KIND)

#: A label is written on a tile only over a box at least this wide there (a smaller one would hide the object).
TILE_LABEL_MIN_WIDTH = 44


@dataclass(frozen=True)
class ImageTruth:
    """One image's true objects, as every view of the browser reads them."""

    boxes: np.ndarray  # float32 N x 4 (x0, y0, x1, y1) pixels
    classes: np.ndarray  # int64 N
    iscrowd: np.ndarray  # bool N
    ignore: np.ndarray  # bool N: VOC's difficult (neither a miss nor a reason to punish a detection)

    @classmethod
    def empty(cls) -> ImageTruth:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, bool))


def truth_boxes(dataset: Dataset, index: int) -> ImageTruth:
    """The true objects of image ``index`` (may read files: call it on a worker for many images).

    The single accessor of the browser's truth boxes: when the project store keeps edited boxes, they are read
    here instead of the dataset's."""
    found = dataset.load_boxes(index)
    if found is None:
        return ImageTruth.empty()
    boxes, classes = found
    n = len(classes)
    extras = dataset.box_extras(index) if n else {}

    def flag(name: str) -> np.ndarray:
        value = extras.get(name)
        return np.zeros(n, bool) if value is None else np.asarray(value, dtype=bool).reshape(n)

    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return ImageTruth(boxes, np.asarray(classes, dtype=np.int64).reshape(-1), flag("iscrowd"), flag("difficult"))


def detection_run(dataset: Dataset | None, predictions) -> DetectionPredictions | None:
    """``predictions`` when they are a detection run over ``dataset``'s images, else None."""
    if dataset is None or not isinstance(predictions, DetectionPredictions):
        return None
    return predictions if len(predictions.sample_ids) == len(dataset) else None


@dataclass(frozen=True)
class DrawnBox:
    """A box to draw: where (image pixels), what kind, its label, and which object it is (ObjectRefs' terms)."""

    box: tuple[float, float, float, float]
    kind: str
    text: str
    source: int  # TRUTH or PREDICTION
    object: int  # index into the truth, or into the run's detections of the image (every score)
    class_index: int
    score: float | None = None


def image_boxes(
    classes: list[str],
    truth: ImageTruth | None,
    run: DetectionPredictions | None,
    index: int,
    min_score: float,
    *,
    iou_threshold: float = IOU_THRESHOLD,
) -> list[DrawnBox]:
    """The boxes of image ``index``: the truth alone, or (once the run did the image) its detections scoring at
    least ``min_score`` matched to the truth, with the objects none found (FN) and the ignored ones."""
    predicted = run is not None and bool(run.done[index])
    drawn: list[DrawnBox] = []
    truth = truth if truth is not None else ImageTruth.empty()
    if not predicted:
        for j, (box, c) in enumerate(zip(truth.boxes, truth.classes)):
            kind = IGNORED_KIND if truth.iscrowd[j] or truth.ignore[j] else TRUTH_KIND
            drawn.append(DrawnBox(_tuple(box), kind, _name(classes, c), TRUTH, j, int(c)))
        return drawn
    keep = np.flatnonzero(run.scores[index] >= min_score)
    boxes, scores, labels = run.boxes[index][keep], run.scores[index][keep], run.labels[index][keep]
    match = match_image(
        truth.boxes, truth.classes, boxes, scores, labels, iou_threshold, iscrowd=truth.iscrowd, ignore=truth.ignore
    )
    status_kind = {TP: TP_KIND, FP: FP_KIND, IGNORED: IGNORED_KIND}
    for j, (box, c) in enumerate(zip(truth.boxes, truth.classes)):
        status = match.truth_status[j]
        if status in (FN, IGNORED):
            kind = FN_KIND if status == FN else IGNORED_KIND
            drawn.append(DrawnBox(_tuple(box), kind, _name(classes, c), TRUTH, j, int(c)))
    for d, k in enumerate(keep):
        c, s = int(labels[d]), float(scores[d])
        kind = status_kind[int(match.pred_status[d])]
        drawn.append(DrawnBox(_tuple(boxes[d]), kind, f"{_name(classes, c)} {s:.2f}", PREDICTION, int(k), c, s))
    return drawn


def counts_text(drawn: list[DrawnBox]) -> str:
    """ "2 TP · 1 FP · 1 FN" (kinds that occur), or "" when nothing was matched."""
    kinds = [box.kind for box in drawn]
    parts = [f"{kinds.count(k)} {k}" for k in (TP_KIND, FP_KIND, FN_KIND) if k in kinds]
    return " · ".join(parts)


def object_pen(kind: str, width: float, *, cosmetic: bool = False) -> QPen:
    color, style, _words = BOX_STYLES[kind]
    pen = QPen(color, width, style)
    pen.setCosmetic(cosmetic)
    pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
    return pen


def paint_boxes(
    painter: QPainter,
    target: QRectF,
    image_size: tuple[int, int],
    drawn: list[DrawnBox],
    *,
    labels: bool,
    width: float = 2.0,
    highlight: tuple[int, int] | None = None,
) -> None:
    """Draw ``drawn`` over an image of ``image_size`` (h, w) shown in ``target``. ``labels``: write class and
    score over boxes wide enough for them; ``highlight`` (source, object): that box thicker, with a white halo."""
    h, w = image_size
    if h <= 0 or w <= 0 or not drawn:
        return
    sx, sy = target.width() / w, target.height() / h
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    font = QFont(painter.font())
    font.setPixelSize(10)
    painter.setFont(font)
    metrics = QFontMetricsF(font)
    for box in sorted(drawn, key=lambda b: PAINT_ORDER.index(b.kind)):
        x0, y0, x1, y1 = box.box
        rect = QRectF(target.left() + x0 * sx, target.top() + y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy)
        rect = rect.intersected(target)
        if rect.isEmpty():
            continue
        big = highlight is not None and (box.source, box.object) == highlight
        line = width * 2 if big else width
        # A dark (white when highlighted) halo under the line: visible on bright and dark images alike.
        halo = QPen(QColor(255, 255, 255) if big else QColor(0, 0, 0, 150), line + 2)
        halo.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(halo)
        painter.drawRect(rect)
        painter.setPen(object_pen(box.kind, line))
        painter.drawRect(rect)
        if labels and rect.width() >= TILE_LABEL_MIN_WIDTH:
            _label(painter, metrics, rect, box, target)
    painter.restore()


def _label(painter: QPainter, metrics: QFontMetricsF, rect: QRectF, box: DrawnBox, bounds: QRectF) -> None:
    """The box's words on a filled tag of its colour: a detection's above its top edge, an object's under its
    bottom edge (so the two do not cover each other); inside the box where the image ends."""
    text = metrics.elidedText(box.text, Qt.TextElideMode.ElideRight, max(rect.width(), 24))
    size = QRectF(0, 0, metrics.horizontalAdvance(text) + 4, metrics.height())
    if box.source == TRUTH:
        top = rect.bottom() if rect.bottom() + size.height() <= bounds.bottom() else rect.bottom() - size.height()
    else:
        top = rect.top() - size.height() if rect.top() - size.height() >= bounds.top() else rect.top()
    tag = size.translated(QPointF(rect.left(), top))
    color = BOX_STYLES[box.kind][0]
    painter.fillRect(tag, color)
    painter.setPen(QColor(0, 0, 0) if color.lightness() > 110 else QColor(255, 255, 255))
    painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)


def _tuple(box) -> tuple[float, float, float, float]:
    return tuple(float(v) for v in box)  # type: ignore[return-value]


def _name(classes: list[str], c) -> str:
    c = int(c)
    return classes[c] if 0 <= c < len(classes) else str(c)


@dataclass(frozen=True)
class BoxThumb:
    """A box dataset's thumbnail as the worker reads it: the small image, the truth and the image's size."""

    image: object  # QImage of the thumbnail
    truth: ImageTruth
    size: tuple[int, int]  # (height, width) of the full image: the truth's frame


def read_box_thumbnail(dataset: Dataset, index: int, box: int) -> BoxThumb:
    """The thumbnail and the true objects of image ``index`` (on a pool thread)."""
    from gui.decoding import make_thumbnail

    image = dataset.load_image(index)
    return BoxThumb(make_thumbnail(image, box), truth_boxes(dataset, index), image.shape[:2])


@dataclass(frozen=True)
class SampleObjects:
    """What the sample view's worker read of one image's objects."""

    truth: ImageTruth
    instances: np.ndarray | None  # G x H x W bool true masks (instance segmentation), or None
    predicted_masks: np.ndarray | None  # M x H x W bool masks of every detection of the run (every score), or None
    error: str = ""  # why the masks could not be read (the boxes are still shown)


def read_objects(dataset: Dataset, index: int, run: DetectionPredictions | None) -> SampleObjects:
    """The truth of image ``index`` and, for instance segmentation, the true and predicted masks (pool thread)."""
    from gui.decoding import read_error

    truth = truth_boxes(dataset, index)
    instances = predicted = None
    error = ""
    try:
        instances = dataset.load_instances(index)
        if run is not None and run.done[index]:
            predicted = run.image_masks(index, 0.0)
    except Exception as exc:  # a bad mask is that image's error: its boxes are still drawn
        error = read_error(exc)
    return SampleObjects(truth, instances, predicted, error)


def mask_overlay(shape: tuple[int, int], drawn: list[DrawnBox], objects: SampleObjects, mode: str) -> np.ndarray | None:
    """H x W x 4 RGBA of the drawn boxes' masks in their kinds' colours: "fills" (translucent) or "outlines";
    None when there is nothing to draw ("off", or no masks)."""
    if mode == "off":
        return None
    h, w = shape
    rgba = np.zeros((h, w, 4), np.uint8)
    found = False
    for box in sorted(drawn, key=lambda b: PAINT_ORDER.index(b.kind)):
        masks = objects.instances if box.source == TRUTH else objects.predicted_masks
        if masks is None or box.object >= len(masks) or masks[box.object].shape != (h, w):
            continue
        mask = masks[box.object]
        if mode == "outlines":
            inner = mask.copy()
            inner[1:-1, 1:-1] = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
            mask = mask & ~inner
        color = BOX_STYLES[box.kind][0]
        rgba[mask] = (color.red(), color.green(), color.blue(), 255 if mode == "outlines" else 110)
        found = found or bool(mask.any())
    return rgba if found else None
