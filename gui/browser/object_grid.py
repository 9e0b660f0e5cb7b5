"""The object grid (FiftyOne's patches view): a crop of every object instead of whole images.

It lists the objects of a Selection that carries them (a confusion cell, all FP of "dog"), every true object of
the open dataset (by class), or every detection of the run at the score threshold (by class, TP or FP). Lists of
the whole dataset are collected on a worker (reading every image's truth may read files); each crop (the object's
box with a margin around it, the box drawn on it) is cut on a pool thread, as the thumbnails are. Double-click or
Enter opens the object's image in the sample view with the object highlighted (:attr:`ObjectGrid.object_opened`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from core.datasets import Dataset
from core.evaluation.selection import PREDICTION, TRUTH, ObjectRefs
from core.inference.detections import DetectionPredictions
from core.metrics.boxes import FP, IGNORED, TP, match_image
from gui.browser.boxes import (
    BOX_STYLES,
    FN_KIND,
    FP_KIND,
    IGNORED_KIND,
    PREDICTED_KIND,
    TP_KIND,
    TRUTH_KIND,
    object_pen,
    truth_boxes,
)
from gui.decoding import DecodeTask, ResultRelay, to_qimage
from gui.thumbnails import PooledPixmaps, rgb

CROP = 112  # the crops' square, in pixels
MARGIN = 0.25  # context around the box, a fraction of its longer side on each side
CACHE = 600
CROP_TILE = QSize(CROP + 12, CROP + 38)

#: What the grid lists: value -> the combo's words.
SELECTION, ALL_TRUTH, ALL_DETECTIONS = "selection", "truth", "detections"
SOURCES = {SELECTION: "The selection's objects", ALL_TRUTH: "Every object (truth)", ALL_DETECTIONS: "Every detection"}
#: The detections' filter: value -> words.
DETECTION_KINDS = {"": "TP and FP", TP_KIND: "TP only", FP_KIND: "FP only"}


@dataclass(frozen=True)
class ObjectRows:
    """Objects to list: the refs, and each one's class and score (NaN for truth) where known (-1: not yet)."""

    refs: ObjectRefs
    classes: np.ndarray  # int64 K
    scores: np.ndarray  # float32 K

    @classmethod
    def of(cls, refs: ObjectRefs, classes=None, scores=None) -> ObjectRows:
        k = len(refs)
        classes = np.full(k, -1, np.int64) if classes is None else np.asarray(classes, np.int64)
        scores = np.full(k, np.nan, np.float32) if scores is None else np.asarray(scores, np.float32)
        return cls(refs, classes, scores)


def collect_truth(dataset: Dataset, wanted: Callable[[], bool] = lambda: True) -> ObjectRows | None:
    """Every true object of the dataset (reads every image's truth: on a worker); None once ``wanted()`` says
    the list is no longer needed (checked every few hundred images)."""
    samples, objects, classes, kinds = [], [], [], []
    for i in range(len(dataset)):
        if i % 256 == 0 and not wanted():
            return None
        try:
            truth = truth_boxes(dataset, i)
        except Exception:  # an unreadable annotation: that image's tile says why
            continue
        for j, c in enumerate(truth.classes):
            samples.append(i)
            objects.append(j)
            classes.append(int(c))
            kinds.append(IGNORED_KIND if truth.iscrowd[j] or truth.ignore[j] else TRUTH_KIND)
    return ObjectRows.of(ObjectRefs.of(samples, TRUTH, objects, kinds), classes)


def collect_detections(
    dataset: Dataset, run: DetectionPredictions, min_score: float, wanted: Callable[[], bool] = lambda: True
) -> ObjectRows | None:
    """Every detection of the run scoring at least ``min_score``, TP / FP / ignored as matched at IoU 0.5;
    None once ``wanted()`` says the list is no longer needed."""
    samples, objects, classes, scores, kinds = [], [], [], [], []
    words = {TP: TP_KIND, FP: FP_KIND, IGNORED: IGNORED_KIND}
    for n, i in enumerate(np.flatnonzero(run.done)):
        if n % 256 == 0 and not wanted():
            return None
        keep = np.flatnonzero(run.scores[i] >= min_score)
        if not len(keep):
            continue
        try:
            truth = truth_boxes(dataset, int(i))
        except Exception:
            continue
        boxes, found, labels = run.boxes[i][keep], run.scores[i][keep], run.labels[i][keep]
        match = match_image(
            truth.boxes, truth.classes, boxes, found, labels, iscrowd=truth.iscrowd, ignore=truth.ignore
        )
        for d, k in enumerate(keep):
            samples.append(int(i))
            objects.append(int(k))
            classes.append(int(labels[d]))
            scores.append(float(found[d]))
            kinds.append(words[int(match.pred_status[d])])
    return ObjectRows.of(ObjectRefs.of(samples, PREDICTION, objects, kinds), classes, scores)


def cut_crop(
    dataset: Dataset, run: DetectionPredictions | None, sample: int, source: int, obj: int, kind: str
) -> tuple[QImage, str]:
    """The crop of one object with its box drawn on it, and its words ("FP · dog 0.83"); on a pool thread."""
    image = dataset.load_image(sample)
    classes = dataset.classes
    if source == TRUTH:
        truth = truth_boxes(dataset, sample)
        box, c, score = truth.boxes[obj], int(truth.classes[obj]), None
    else:
        if run is None:
            raise ValueError("no run to cut a detection from")
        box, c, score = run.boxes[sample][obj], int(run.labels[sample][obj]), float(run.scores[sample][obj])
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    margin = max(MARGIN * max(x1 - x0, y1 - y0), 4.0)
    left, top = max(int(x0 - margin), 0), max(int(y0 - margin), 0)
    right, bottom = min(int(np.ceil(x1 + margin)), w), min(int(np.ceil(y1 + margin)), h)
    crop = image[top : max(bottom, top + 1), left : max(right, left + 1)]
    scale = CROP / max(crop.shape[0], crop.shape[1])
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = to_qimage(rgb(crop))
    style = style_of(kind, source)
    painter = QPainter(out)
    rect = QRectF((x0 - left) * scale, (y0 - top) * scale, (x1 - x0) * scale, (y1 - y0) * scale)
    painter.setPen(QPen(QColor(0, 0, 0, 150), 4))
    painter.drawRect(rect)
    painter.setPen(object_pen(style, 2))
    painter.drawRect(rect)
    painter.end()
    name = classes[c] if 0 <= c < len(classes) else str(c)
    words = f"{kind} · {name}" if kind else name
    return out, words + (f" {score:.2f}" if score is not None else "")


def style_of(kind: str, source: int) -> str:
    """The box style (a key of BOX_STYLES) of an object's kind in words: "FP · localization" is drawn as FP."""
    head = kind.split(" ", 1)[0] if kind else ""
    if head in BOX_STYLES:
        return head
    return TRUTH_KIND if source == TRUTH else PREDICTED_KIND


class CropLoader(PooledPixmaps):
    """Crops of the listed objects, cut on demand on a thread pool into a bounded cache (``gui/thumbnails.py``);
    ``ready(key)``: the crop of object ``key`` (its position in the object list) is there, or ``errors[key]``."""

    def __init__(self, parent: QObject | None = None) -> None:
        threads = max(1, min(4, QThreadPool.globalInstance().maxThreadCount()))
        super().__init__(parent, capacity=CACHE, threads=threads)
        self.texts: dict[int, str] = {}
        self._dataset: Dataset | None = None
        self._run: DetectionPredictions | None = None
        self._rows: ObjectRows | None = None

    def set_rows(self, dataset: Dataset | None, run: DetectionPredictions | None, rows: ObjectRows | None) -> None:
        self._dataset, self._run, self._rows = dataset, run, rows
        self.clear()
        self.texts.clear()

    def crop(self, key: int) -> QPixmap | None:
        """The cached crop of object ``key``, or None after scheduling its cut."""
        if self._rows is None:
            return None
        refs, dataset, run = self._rows.refs, self._dataset, self._run
        sample, source, obj = int(refs.samples[key]), int(refs.sources[key]), int(refs.objects[key])
        kind = refs.kinds[key] if refs.kinds else ""
        return self.pixmap(key, lambda: cut_crop(dataset, run, sample, source, obj, kind))

    def _keep(self, key: int, result) -> QImage:
        image, self.texts[key] = result
        return image


ObjectKeyRole = Qt.ItemDataRole.UserRole + 1  # the object's position in the list (the loader's key)
KindRole = Qt.ItemDataRole.UserRole + 2


class ObjectGridModel(QAbstractListModel):
    """One row per listed object that passes the filters. A crop that lands asks the view to repaint its tile
    (``repaint_requested``) rather than sending dataChanged, on which an icon-mode list lays out every row again."""

    repaint_requested = Signal(int)  # a row whose tile must be painted again

    def __init__(self, loader: CropLoader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.dataset: Dataset | None = None
        self.objects: ObjectRows | None = None
        self._keys = np.zeros(0, np.int64)
        loader.ready.connect(self._on_crop)

    def set_objects(self, dataset, run, objects: ObjectRows | None, keys: np.ndarray) -> None:
        self.beginResetModel()
        self.dataset, self.objects, self._keys = dataset, objects, np.asarray(keys, np.int64)
        self.loader.set_rows(dataset, run, objects)
        self.endResetModel()

    def key(self, row: int) -> int:
        return int(self._keys[row])

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._keys)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.objects is None:
            return None
        key = int(self._keys[index.row()])
        refs = self.objects.refs
        if role == ObjectKeyRole:
            return key
        if role == KindRole:
            return style_of(refs.kinds[key] if refs.kinds else "", int(refs.sources[key]))
        if role == Qt.ItemDataRole.DecorationRole:
            return self.loader.crop(key)
        if role == Qt.ItemDataRole.DisplayRole:
            if key in self.loader.errors:
                return "⚠ cannot be read"
            return self.loader.texts.get(key, refs.kinds[key] if refs.kinds else "")
        if role == Qt.ItemDataRole.ToolTipRole:
            sample = int(refs.samples[key])
            lines = [self.dataset.sample_ids[sample], self.data(index)]
            if key in self.loader.errors:
                lines.append(self.loader.errors[key])
            return "\n".join(line for line in lines if line) + "\n(double-click: open the image)"
        return None

    def _on_crop(self, key: int) -> None:
        row = int(np.searchsorted(self._keys, key))  # the keys are sorted positions in the list
        if row < len(self._keys) and self._keys[row] == key:
            self.repaint_requested.emit(row)


class CropDelegate(QStyledItemDelegate):
    """A crop, and its kind, class and score under it (the kind in its colour)."""

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        return CROP_TILE

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        painter.save()
        tile = option.rect.adjusted(2, 2, -2, -2)
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(tile, option.palette.highlight().color().lighter(160))
            painter.setPen(QPen(option.palette.highlight().color(), 2))
            painter.drawRect(tile.adjusted(1, 1, -1, -1))
        box = QRect(tile.center().x() - CROP // 2, tile.top() + 4, CROP, CROP)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap):
            target = QRect(0, 0, pixmap.width(), pixmap.height())
            target.moveCenter(box.center())
            painter.drawPixmap(target, pixmap)
        else:
            painter.fillRect(box, QColor(128, 128, 128, 40))
        kind = index.data(KindRole)
        color = BOX_STYLES[kind][0].darker(130) if kind in BOX_STYLES else option.palette.text().color()
        text = QRect(tile.left() + 2, box.bottom() + 3, tile.width() - 4, CROP_TILE.height() - CROP - 8)
        painter.setPen(color if kind in (TP_KIND, FP_KIND, FN_KIND) else option.palette.text().color())
        # Two lines at most: "FP · background" over "dog 0.83" (the tooltip has the rest).
        kind_words, _, what = (index.data() or "").rpartition(" · ")
        words = f"{kind_words}\n{what}" if kind_words else what
        metrics = painter.fontMetrics()
        lines = [metrics.elidedText(line, Qt.TextElideMode.ElideRight, text.width()) for line in words.split("\n")]
        painter.drawText(text, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, "\n".join(lines[:2]))
        painter.restore()


class ObjectGrid(QWidget):
    """The object grid with what it lists (selection, every object, every detection) and its filters."""

    #: The user opened an object: (sample, source, object) in ObjectRefs' terms.
    object_opened = Signal(int, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self.run: DetectionPredictions | None = None
        self.score_threshold = 0.5
        self.selection_objects: ObjectRefs | None = None
        self.rows: ObjectRows | None = None  # the list of the chosen source, before the filters
        self.active = False  # shown: only then are whole-dataset lists collected
        self._epoch = 0
        self._collected: tuple | None = None  # (source, dataset, run, threshold) the rows were collected for
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._relay = ResultRelay(self)
        self._relay.done.connect(self._on_collected)

        self.source = QComboBox(self)
        self.source.setToolTip("Which objects to show")
        self.classes = QComboBox(self)
        self.classes.setToolTip("Only the objects of one class")
        self.kinds = QComboBox(self)
        for key, words in DETECTION_KINDS.items():
            self.kinds.addItem(words, key)
        self.kinds.setToolTip("Detections that found an object (TP) or none (FP), matched at IoU 0.5")
        self.count = QLabel(self)
        self.loader = CropLoader(self)
        self.model = ObjectGridModel(self.loader, self)
        self.view = QListView(self)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setUniformItemSizes(True)
        self.view.setGridSize(CROP_TILE)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setItemDelegate(CropDelegate(self.view))
        self.view.setModel(self.model)
        self.model.repaint_requested.connect(self._repaint_row)
        self.view.activated.connect(self._on_activated)
        self.view.verticalScrollBar().valueChanged.connect(lambda _: self.loader.drop_pending())
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 0)
        for widget in (self.source, self.classes, self.kinds):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.source.currentIndexChanged.connect(lambda _i: self._refresh())
        self.classes.currentIndexChanged.connect(lambda _i: self._apply_filters())
        self.kinds.currentIndexChanged.connect(lambda _i: self._apply_filters())
        self._fill_sources()

    # -- what the pane sets ------------------------------------------------------------
    def set_dataset(self, dataset: Dataset | None) -> None:
        self.dataset, self.run, self.selection_objects = dataset, None, None
        self.classes.blockSignals(True)
        self.classes.clear()
        self.classes.addItem("All classes", -1)
        for c, name in enumerate(dataset.classes if dataset is not None else []):
            self.classes.addItem(name, c)
        self.classes.blockSignals(False)
        self._fill_sources()
        self._refresh()

    def set_run(self, run: DetectionPredictions | None) -> None:
        if run is self.run:  # a run filling in: its list is collected again on the next threshold or source change
            return
        self.run = run
        self._fill_sources()
        if self.source_key != ALL_TRUTH:
            self._refresh()

    def set_selection_objects(self, objects: ObjectRefs | None) -> None:
        """A selection carrying objects (None: a selection of whole images, or none): listed first."""
        self.selection_objects = objects
        self._fill_sources(prefer=SELECTION if objects is not None else None)
        self._refresh()

    def set_score_threshold(self, threshold: float) -> None:
        self.score_threshold = threshold
        if self.source_key != ALL_TRUTH:
            self._refresh()

    def set_active(self, active: bool) -> None:
        """Shown or hidden: the whole dataset's objects are collected only for a grid the user looks at."""
        self.active = active
        if active:
            self._refresh()

    def shutdown(self) -> None:
        self._epoch += 1
        self.loader.shutdown()
        self.pool.waitForDone()

    @property
    def source_key(self) -> str | None:
        return self.source.currentData()

    def shown_count(self) -> int:
        return self.model.rowCount()

    # -- internals ------------------------------------------------------------------
    def _fill_sources(self, prefer: str | None = None) -> None:
        keep = prefer or self.source_key
        available = [SELECTION] if self.selection_objects is not None else []
        available.append(ALL_TRUTH)
        if self.run is not None:
            available.append(ALL_DETECTIONS)
        self.source.blockSignals(True)
        self.source.clear()
        for key in available:
            self.source.addItem(SOURCES[key], key)
        position = available.index(keep) if keep in available else 0
        self.source.setCurrentIndex(position)
        self.source.blockSignals(False)

    def _refresh(self) -> None:
        """The list of the chosen source: at once for a selection, collected on the worker otherwise."""
        source, dataset = self.source_key, self.dataset
        self.kinds.setVisible(source == ALL_DETECTIONS)
        self.classes.setVisible(source != SELECTION)
        if dataset is None:
            self._show(None)
            return
        if source == SELECTION and self.selection_objects is not None:
            self._show(ObjectRows.of(self.selection_objects))
            return
        if not self.active:
            return
        wanted = (source, dataset, self.run, self.score_threshold if source == ALL_DETECTIONS else None)
        if self._collected == wanted:
            return
        self._collected = wanted
        self._epoch += 1
        run, threshold, epoch = self.run, self.score_threshold, self._epoch
        wanted = lambda: epoch == self._epoch  # noqa: E731  (another list was asked for, or the grid closes)
        if source == ALL_DETECTIONS and run is not None:
            work = lambda: collect_detections(dataset, run, threshold, wanted)  # noqa: E731
        else:
            work = lambda: collect_truth(dataset, wanted)  # noqa: E731
        self.count.setText("collecting objects…")
        self.pool.start(DecodeTask(self._relay, epoch, 0, work, wanted))

    def _on_collected(self, epoch: int, _key: int, rows, error: str) -> None:
        if epoch != self._epoch or (rows is None and not error):
            return
        if error:
            self.count.setText(f"⚠ {error}")
            return
        self._show(rows)

    def _show(self, rows: ObjectRows | None) -> None:
        self.rows = rows
        self._apply_filters()

    def _apply_filters(self) -> None:
        rows, run = self.rows, self.run
        if rows is None:
            self.model.set_objects(self.dataset, run, None, np.zeros(0, np.int64))
            self.count.setText("")
            return
        keep = np.ones(len(rows.refs), bool)
        refs = rows.refs
        if self.source_key == SELECTION:
            keep &= self._above_threshold(refs)
        else:
            chosen = self.classes.currentData()
            if chosen is not None and chosen >= 0:
                keep &= rows.classes == chosen
            kind = self.kinds.currentData() if self.source_key == ALL_DETECTIONS else ""
            if kind:
                keep &= np.asarray([k == kind for k in refs.kinds], bool) if refs.kinds else False
        keys = np.flatnonzero(keep)
        self.model.set_objects(self.dataset, run, rows, keys)
        self.count.setText(f"{len(keys):,} object{'s' if len(keys) != 1 else ''}")

    def _above_threshold(self, refs: ObjectRefs) -> np.ndarray:
        """Detections of a selection scoring below the threshold are hidden, as everywhere."""
        keep = np.ones(len(refs), bool)
        run = self.run
        if run is None:
            return keep
        for k in np.flatnonzero(refs.sources == PREDICTION):
            sample, obj = int(refs.samples[k]), int(refs.objects[k])
            scores = run.scores[sample] if 0 <= sample < len(run.scores) else ()
            keep[k] = obj < len(scores) and scores[obj] >= self.score_threshold
        return keep

    def _repaint_row(self, row: int) -> None:
        rect = self.view.visualRect(self.model.index(row))
        if rect.intersects(self.view.viewport().rect()):
            self.view.viewport().update(rect)

    def _on_activated(self, index: QModelIndex) -> None:
        if not index.isValid() or self.rows is None:
            return
        key = index.data(ObjectKeyRole)
        refs = self.rows.refs
        self.object_opened.emit(int(refs.samples[key]), int(refs.sources[key]), int(refs.objects[key]))

    def open_row(self, row: int) -> None:
        """Open the object of grid row ``row`` (what a double-click does)."""
        self._on_activated(self.model.index(row))
