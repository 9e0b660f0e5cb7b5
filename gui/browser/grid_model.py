"""The thumbnail grid's model: one row per shown sample, backed by a numpy index array.

Nothing is built per sample up front: ``data()`` reads the dataset's label arrays and the
predictions' arrays at the row's index when the view asks, and thumbnails come from the
:class:`ThumbnailLoader` cache (a miss shows a placeholder until the decode lands).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QPixmap

from core.datasets import Dataset
from core.inference import Predictions
from core.selection import UNKNOWN, outcomes
from gui.browser.thumbnails import ThumbnailLoader

IndexRole = Qt.ItemDataRole.UserRole + 1  # dataset index of the row
LabelRole = Qt.ItemDataRole.UserRole + 2  # label text ("" when unlabeled)
PredictionRole = Qt.ItemDataRole.UserRole + 3  # predicted class name, or None
ConfidenceRole = Qt.ItemDataRole.UserRole + 4  # score of the predicted class, or None
OutcomeRole = Qt.ItemDataRole.UserRole + 5  # core.selection RIGHT / WRONG / UNKNOWN
ErrorRole = Qt.ItemDataRole.UserRole + 6  # why the sample cannot be read, or None
LoadingRole = Qt.ItemDataRole.UserRole + 7  # True while the thumbnail is being decoded

_PREDICTION_ROLES = [PredictionRole, ConfidenceRole, OutcomeRole, ErrorRole, Qt.ItemDataRole.ToolTipRole]

_placeholder: QPixmap | None = None


def placeholder() -> QPixmap:
    """The tile shown while a thumbnail decodes (one shared pixmap)."""
    global _placeholder
    if _placeholder is None:
        _placeholder = QPixmap(8, 8)
        _placeholder.fill(QColor(128, 128, 128, 40))
    return _placeholder


def label_text(dataset: Dataset, index: int) -> str:
    """The sample's label in words: its class, its tags joined, or "" when it has none."""
    if dataset.tags is not None:
        return ", ".join(dataset.classes[c] for c in np.flatnonzero(dataset.tags[index]))
    if dataset.targets is None or not dataset.classes:
        return ""
    label = int(dataset.targets[index])
    return dataset.classes[label] if 0 <= label < len(dataset.classes) else ""


class SampleGridModel(QAbstractListModel):
    def __init__(self, loader: ThumbnailLoader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.dataset: Dataset | None = None
        self.predictions: Predictions | None = None
        self._rows = np.zeros(0, dtype=np.int64)
        self._row_of = np.zeros(0, dtype=np.int64)  # dataset index -> row, -1 when not shown
        self._predicted: np.ndarray | None = None
        self._confidence: np.ndarray | None = None
        self._outcome: np.ndarray | None = None
        loader.thumbnail_ready.connect(self._on_thumbnail)
        loader.failed.connect(self._on_failed)

    # -- what the pane sets ---------------------------------------------------------
    def set_dataset(self, dataset: Dataset | None) -> None:
        self.beginResetModel()
        self.dataset = dataset
        self.loader.set_dataset(dataset)
        self._clear_predictions()
        self._rows = np.zeros(0, dtype=np.int64)
        self._row_of = np.full(len(dataset) if dataset is not None else 0, -1, dtype=np.int64)
        self.endResetModel()

    def set_rows(self, rows: np.ndarray) -> None:
        """Show these dataset indices, in this order."""
        rows = np.asarray(rows, dtype=np.int64)
        if np.array_equal(rows, self._rows):
            return
        self.beginResetModel()
        self._row_of[self._rows] = -1
        self._rows = rows
        self._row_of[rows] = np.arange(len(rows))
        self.loader.drop_pending()
        self.endResetModel()

    def set_predictions(self, predictions: Predictions | None) -> None:
        """Take new or updated predictions; repaints the tiles, decodes nothing."""
        dataset = self.dataset
        if predictions is None and self.predictions is None:
            return
        if predictions is None or dataset is None or len(predictions) != len(dataset) or dataset.tags is not None:
            self._clear_predictions()
        else:
            self.predictions = predictions
            self._predicted = predictions.predicted
            self._confidence = predictions.confidence
            targets = dataset.targets if dataset.targets is not None else np.full(len(dataset), -1)
            self._outcome = outcomes(targets, self._predicted)
        if len(self._rows):
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1), _PREDICTION_ROLES)

    def _clear_predictions(self) -> None:
        self.predictions = None
        self._predicted = self._confidence = self._outcome = None

    # -- reading --------------------------------------------------------------------
    @property
    def rows(self) -> np.ndarray:
        return self._rows

    @property
    def outcome(self) -> np.ndarray | None:
        """Per dataset sample RIGHT / WRONG / UNKNOWN, None before any prediction."""
        return self._outcome

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
        if role == IndexRole:
            return i
        if role in (Qt.ItemDataRole.DisplayRole, LabelRole):
            return label_text(self.dataset, i)
        if role == Qt.ItemDataRole.DecorationRole:
            if self.error(i) is not None:
                return None
            return self.loader.thumbnail(i) or placeholder()
        if role == LoadingRole:
            return self.error(i) is None and not self.loader.is_cached(i)
        if role == ErrorRole:
            return self.error(i)
        if role == PredictionRole:
            p = self._predicted[i] if self._predicted is not None else -1
            return self.dataset.classes[p] if 0 <= p < len(self.dataset.classes) else None
        if role == ConfidenceRole:
            c = self._confidence[i] if self._confidence is not None else np.nan
            return None if np.isnan(c) else float(c)
        if role == OutcomeRole:
            return int(self._outcome[i]) if self._outcome is not None else UNKNOWN
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(index, i)
        return None

    def _tooltip(self, index: QModelIndex | QPersistentModelIndex, i: int) -> str:
        lines = [self.dataset.sample_ids[i]]
        label = self.data(index, LabelRole)
        if label:
            lines.append(f"label: {label}")
        prediction = self.data(index, PredictionRole)
        if prediction is not None:
            lines.append(f"predicted: {prediction} ({self.data(index, ConfidenceRole):.1%})")
        error = self.error(i)
        if error:
            lines.append(f"cannot be read: {error}")
        return "\n".join(lines)

    def _on_failed(self, index: int, _message: str) -> None:
        self._on_thumbnail(index)

    def _on_thumbnail(self, index: int) -> None:
        row = self.row_of(index)
        if row >= 0:
            model_index = self.index(row)
            self.dataChanged.emit(model_index, model_index, [Qt.ItemDataRole.DecorationRole, LoadingRole, ErrorRole])
