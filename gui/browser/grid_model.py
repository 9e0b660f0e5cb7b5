"""The thumbnail grid's model: one row per shown sample, backed by a numpy index array.

Nothing is built per sample up front: ``data()`` reads the dataset's label arrays and the
predictions' arrays at the row's index when the view asks, and thumbnails come from the
:class:`ThumbnailLoader` cache (a miss shows a placeholder until the decode lands).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QPixmap

from core.datasets import Dataset
from core.evaluation.selection import UNKNOWN, tag_differences
from core.inference import Predictions
from core.labels.marks import LabelMarks, label_text, tag_names
from core.tasks.outcomes import Marks, differences_text, marks_for
from gui.browser.boxes import DrawnBox, counts_text, detection_run, image_boxes
from gui.browser.thumbnails import ThumbnailLoader
from gui.state import DEFAULT_SCORE_THRESHOLD

IndexRole = Qt.ItemDataRole.UserRole + 1  # dataset index of the row
LabelRole = Qt.ItemDataRole.UserRole + 2  # label text ("" when unlabeled)
PredictionRole = Qt.ItemDataRole.UserRole + 3  # predicted class name, or None
ConfidenceRole = Qt.ItemDataRole.UserRole + 4  # score of the predicted class, or None
OutcomeRole = Qt.ItemDataRole.UserRole + 5  # core.evaluation.selection RIGHT / WRONG / UNKNOWN
ErrorRole = Qt.ItemDataRole.UserRole + 6  # why the sample cannot be read, or None
LoadingRole = Qt.ItemDataRole.UserRole + 7  # True while the thumbnail is being decoded
TagsRole = Qt.ItemDataRole.UserRole + 8  # the sample's tag (or mask class) names, None without tags
PredictedTagsRole = Qt.ItemDataRole.UserRole + 9  # predicted tag names (multilabel), or None
EditedRole = Qt.ItemDataRole.UserRole + 10  # True when the user changed the label or tags
StatusRole = Qt.ItemDataRole.UserRole + 11  # review mark: "", "reviewed", "flagged" or "excluded"
NoteRole = Qt.ItemDataRole.UserRole + 12  # the user's note ("" when none)
OriginalLabelRole = Qt.ItemDataRole.UserRole + 13  # the dataset's own label in words (edited samples)
#: Box datasets: ((h, w) of the full image, [DrawnBox]) once the tile's truth is read, else None.
BoxesRole = Qt.ItemDataRole.UserRole + 14
#: Everything a tile paints, as one :class:`Tile` (the delegate's one call per tile).
TileRole = Qt.ItemDataRole.UserRole + 15

DRAWN_CACHE = 2000  # tiles whose boxes are kept matched (a few screens' worth)

_LABEL_ROLES = [
    Qt.ItemDataRole.DisplayRole,
    LabelRole,
    TagsRole,
    EditedRole,
    StatusRole,
    NoteRole,
    OriginalLabelRole,
    OutcomeRole,
    Qt.ItemDataRole.ToolTipRole,
]

_PREDICTION_ROLES = [
    PredictionRole,
    ConfidenceRole,
    OutcomeRole,
    ErrorRole,
    PredictedTagsRole,
    Qt.ItemDataRole.ToolTipRole,
]

_placeholder: QPixmap | None = None


class Tile(NamedTuple):
    """What one tile paints, read in one call: a role each cost the delegate 11 trips from C++ into Python per
    tile, a third of a scroll step's paint (the roles stay, for tooltips, tests and other views)."""

    pixmap: QPixmap | None  # None for an unreadable sample
    error: str | None
    loading: bool
    label: str
    tags: list[str] | None
    prediction: str | None
    predicted_tags: list[str] | None
    outcome: int
    edited: bool
    status: str
    note: str
    boxes: object  # BoxesRole's value


def placeholder() -> QPixmap:
    """The tile shown while a thumbnail decodes (one shared pixmap)."""
    global _placeholder
    if _placeholder is None:
        _placeholder = QPixmap(8, 8)
        _placeholder.fill(QColor(128, 128, 128, 40))
    return _placeholder


class SampleGridModel(QAbstractListModel):
    #: A row whose tile must be painted again (-1: every tile on screen); see _repaint.
    repaint_requested = Signal(int)

    def __init__(self, loader: ThumbnailLoader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.dataset: Dataset | None = None
        self.predictions: Predictions | None = None
        self.threshold = None
        #: Box datasets: the detection run shown (None without one) and the score below which detections hide.
        self.run = None
        self.score_threshold = DEFAULT_SCORE_THRESHOLD
        self._drawn: dict[int, list[DrawnBox]] = {}  # boxes of tiles already painted, until a change
        self.marks: Marks | None = None
        #: The user's edits, review marks and notes (None without a project store).
        self.label_marks: LabelMarks | None = None
        #: N x K "tags" shown on the tiles: the dataset's, or the classes in each mask (segmentation).
        self.tags: np.ndarray | None = None
        self._skip_tags: tuple[int, ...] = ()  # classes not worth naming on a tile (background)
        self._rows = np.zeros(0, dtype=np.int64)
        self._row_of = np.zeros(0, dtype=np.int64)  # dataset index -> row, -1 when not shown
        loader.thumbnail_ready.connect(self._on_thumbnail)
        loader.failed.connect(self._on_failed)
        loader.restyled.connect(lambda: self._repaint([Qt.ItemDataRole.DecorationRole]))

    # -- what the pane sets ---------------------------------------------------------
    def set_dataset(self, dataset: Dataset | None) -> None:
        self.beginResetModel()
        self.dataset = dataset
        self.loader.set_dataset(dataset)
        self.predictions, self.marks, self.threshold = None, None, None
        self.run = None
        self._drawn.clear()
        self.label_marks = None
        self.tags = dataset.tags if dataset is not None else None
        self._rows = np.zeros(0, dtype=np.int64)
        self._row_of = np.full(len(dataset) if dataset is not None else 0, -1, dtype=np.int64)
        self.endResetModel()

    def set_class_tags(self, tags: np.ndarray | None, skip: tuple[int, ...] = ()) -> None:
        """The classes present in each sample's mask, named on the tiles (``skip``: never named)."""
        self.tags, self._skip_tags = tags, skip
        self._repaint([LabelRole, TagsRole, Qt.ItemDataRole.ToolTipRole])

    def set_rows(self, rows: np.ndarray) -> None:
        """Show these dataset indices, in this order."""
        rows = np.asarray(rows, dtype=np.int64)
        if np.array_equal(rows, self._rows):
            return
        self.beginResetModel()
        self._row_of.fill(-1)  # a fill, not a scatter of a million old rows
        self._rows = rows
        self._row_of[rows] = np.arange(len(rows))
        self.loader.drop_pending()
        self.endResetModel()

    def set_predictions(self, predictions: Predictions | None) -> None:
        """Take new or updated predictions; repaints the tiles, decodes nothing."""
        if predictions is None and self.predictions is None:
            return
        if self.dataset is not None and self.dataset.has_boxes:
            run = detection_run(self.dataset, predictions)
            if run is not self.run:
                self.marks = None  # right / wrong per image come from BoxOutcomes (set_box_outcomes)
            self.run = self.predictions = run
            self._drawn.clear()
            self._repaint(_PREDICTION_ROLES)
            return
        self.marks = marks_for(self.dataset, predictions, self.threshold, previous=self.marks)
        self.predictions = predictions if self.marks is not None else None
        self._repaint(_PREDICTION_ROLES)

    def set_threshold(self, threshold) -> None:
        """Decide binary and multilabel predictions at this threshold (None: the default)."""
        self.threshold = threshold
        if self.predictions is not None:
            self.set_predictions(self.predictions)

    def set_box_outcomes(self, outcome: np.ndarray | None) -> None:
        """Right / wrong per image of a box dataset (no FP and no FN at the score threshold), None: unknown."""
        self.marks = Marks(outcome) if outcome is not None and self.run is not None else None
        self._repaint(_PREDICTION_ROLES)

    def set_score_threshold(self, threshold: float) -> None:
        """Hide detections scoring below ``threshold`` on the tiles (box datasets)."""
        self.score_threshold = threshold
        self._drawn.clear()
        self._repaint(_PREDICTION_ROLES)

    def boxes(self, i: int) -> tuple[tuple[int, int], list[DrawnBox]] | None:
        """((h, w), boxes) of sample ``i``'s tile, None before its truth is read or for other datasets."""
        found = self.loader.truth(i)
        if found is None:
            return None
        truth, size = found
        drawn = self._drawn.get(i)
        if drawn is None:
            drawn = image_boxes(self.dataset.classes, truth, self.run, i, self.score_threshold)
            self._drawn[i] = drawn
            if len(self._drawn) > DRAWN_CACHE:  # bounded: a few screens of tiles
                self._drawn.clear()
                self._drawn[i] = drawn
        return size, drawn

    def set_label_marks(self, marks: LabelMarks | None) -> None:
        self.label_marks = marks
        self._repaint(_LABEL_ROLES)

    def labels_changed(self, marks: LabelMarks | None) -> None:
        """Labels or marks changed: new marks and outcomes. ``data()`` reads them live, so the view only
        has to repaint; no dataChanged, which makes QListView lay out every row again (O(N) per key)."""
        self.label_marks = marks
        if self.dataset is not None and self.dataset.has_boxes:
            self._drawn.clear()  # edited boxes are matched again as the tiles repaint
        elif self.predictions is not None:
            self.marks = marks_for(self.dataset, self.predictions, self.threshold, previous=self.marks)

    def _repaint(self, roles: list[int]) -> None:
        # data() reads everything live: the view repaints what is on screen (repaint_requested), and no
        # dataChanged is sent, on which an icon-mode QListView would measure every row again (O(N)).
        if len(self._rows):
            self.repaint_requested.emit(-1)

    # -- reading --------------------------------------------------------------------
    @property
    def rows(self) -> np.ndarray:
        return self._rows

    @property
    def outcome(self) -> np.ndarray | None:
        """Per dataset sample RIGHT / WRONG / UNKNOWN, None before any prediction."""
        return self.marks.outcome if self.marks is not None else None

    def row_of(self, index: int) -> int:
        """The row showing dataset sample ``index``, -1 when it is filtered out."""
        return int(self._row_of[index]) if 0 <= index < len(self._row_of) else -1

    def error(self, index: int) -> str | None:
        message = self.loader.errors.get(index)
        if message is None and self.predictions is not None:
            message = self.predictions.errors.get(index)
        return message

    def failed_indices(self) -> set[int]:
        """Samples known to be unreadable: seen by the thumbnail loader or by the model run."""
        failed = set(self.loader.errors)
        if self.predictions is not None:
            failed.update(self.predictions.errors)
        return failed

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.dataset is None:
            return None
        i = int(self._rows[index.row()])
        if role == TileRole:
            return self._tile(i)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(index, i)
        return self._value(i, role)

    def _value(self, i: int, role: int):
        """Role ``role`` of dataset sample ``i`` (the dataset is set)."""
        if role == IndexRole:
            return i
        if self.dataset.has_boxes and role in (Qt.ItemDataRole.DisplayRole, LabelRole, PredictionRole, BoxesRole):
            return self._box_data(i, role)
        if role in (Qt.ItemDataRole.DisplayRole, LabelRole):
            return self._label(i, self._value(i, TagsRole))
        if role == TagsRole:
            return tag_names(self.dataset.classes, self.tags[i], self._skip_tags) if self.tags is not None else None
        if role == Qt.ItemDataRole.DecorationRole:
            if self.error(i) is not None:
                return None
            return self.loader.thumbnail(i) or placeholder()
        if role == LoadingRole:
            return self.error(i) is None and not self.loader.is_cached(i)
        if role == ErrorRole:
            return self.error(i)
        if role in (PredictionRole, ConfidenceRole, OutcomeRole, PredictedTagsRole):
            return self._prediction_data(i, role)
        if role in (EditedRole, StatusRole, NoteRole, OriginalLabelRole):
            return self._mark_data(i, role)
        return None

    def _label(self, i: int, tags: list[str] | None) -> str:
        return ", ".join(tags) if tags is not None else label_text(self.dataset, i)

    def _tile(self, i: int) -> Tile:
        # The roles' values without a trip through data() for each (a scroll step paints ~50 new tiles, and
        # 12 calls of data() per tile were a third of its paint). The thumbnail first: a miss schedules its decode.
        error = self.error(i)
        thumb = self.loader.thumbnail(i) if error is None else None
        tags = self._value(i, TagsRole)
        if self.dataset.has_boxes:
            label, prediction, boxes = (self._box_data(i, role) for role in (LabelRole, PredictionRole, BoxesRole))
        else:
            label, prediction, boxes = self._label(i, tags), self._prediction_data(i, PredictionRole), None
        return Tile(
            (thumb or placeholder()) if error is None else None,
            error,
            error is None and thumb is None,
            label or "",
            tags,
            prediction,
            self._prediction_data(i, PredictedTagsRole),
            self._prediction_data(i, OutcomeRole),
            *(self._mark_data(i, role) for role in (EditedRole, StatusRole, NoteRole)),
            boxes,
        )

    def _box_data(self, i: int, role: int):
        """A box dataset's tile: "3 objects", "2 TP · 1 FN" once the run did the image, and the boxes."""
        found = self.boxes(i)
        if role == BoxesRole:
            return found
        if found is None:
            return "" if role != PredictionRole else None
        _size, drawn = found
        if role == PredictionRole:
            if self.run is None or not self.run.done[i]:
                return None
            return counts_text(drawn) or "nothing found"
        objects = len(self.loader.truth(i)[0].classes)
        return f"{objects} object{'s' if objects != 1 else ''}"

    def _mark_data(self, i: int, role: int):
        marks = self.label_marks
        if marks is None:
            return {EditedRole: False, StatusRole: "", NoteRole: "", OriginalLabelRole: None}[role]
        if role == EditedRole:
            return bool(marks.edited[i])
        if role == StatusRole:
            return marks.status_name(i)
        if role == NoteRole:
            return marks.notes.get(i, "")
        return marks.original_text(self.dataset.classes, i) if marks.edited[i] else None

    def _prediction_data(self, i: int, role: int):
        marks = self.marks
        if role == OutcomeRole:
            return int(marks.outcome[i]) if marks is not None else UNKNOWN
        if marks is None or marks.outcome[i] == UNKNOWN:
            return None
        if role == PredictedTagsRole:
            return tag_names(self.dataset.classes, marks.tags[i]) if marks.tags is not None else None
        if marks.predicted is None:
            return None
        if role == PredictionRole:
            p = marks.predicted[i]
            return self.dataset.classes[p] if 0 <= p < len(self.dataset.classes) else None
        c = marks.confidence[i]
        return None if np.isnan(c) else float(c)

    def _tooltip(self, index: QModelIndex | QPersistentModelIndex, i: int) -> str:
        lines = [self.dataset.sample_ids[i]]
        label = self.data(index, LabelRole)
        if label:
            lines.append(f"{'tags' if self.tags is not None else 'label'}: {label}")
        prediction = self.data(index, PredictionRole)
        if prediction is not None and self.dataset.has_boxes:
            lines.append(f"detections at score ≥ {self.score_threshold:.2f}: {prediction}")
        elif prediction is not None:
            lines.append(f"predicted: {prediction} ({self.data(index, ConfidenceRole):.1%})")
        predicted_tags = self.data(index, PredictedTagsRole)
        if predicted_tags is not None:
            lines.append(f"predicted: {', '.join(predicted_tags) or '(no tags)'}")
            missed, extra = tag_differences(self.dataset.tags[i], self.marks.tags[i])
            lines.append(differences_text(self.dataset.classes, missed, extra))
        if self.label_marks is not None:
            lines += self.label_marks.tooltip_lines(self.dataset.classes, i, self.dataset.tags)
        error = self.error(i)
        if error:
            lines.append(f"cannot be read: {error}")
        return "\n".join(lines)

    def _on_failed(self, index: int, _message: str) -> None:
        self._on_thumbnail(index)

    def _on_thumbnail(self, index: int) -> None:
        row = self.row_of(index)
        if row >= 0:
            self.repaint_requested.emit(row)
