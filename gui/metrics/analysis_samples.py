"""What the Analysis tab's lists share: thumbnails of analysis rows, exclusion, a row's label and prediction.

A row of the analysis may be a sample of the open dataset or of another split (a leak's other side):
:class:`RowThumbnails` reads either through :class:`core.analysis.rows.AnalysisRows`, decoding on its own
thread pool into a small LRU cache (never on the GUI thread: ``gui/thumbnails.py``), and says ``ready(row)``
when a thumbnail can be painted. :func:`set_excluded` marks samples of the open split excluded (one undo step,
like the browser's X).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QPixmap

from core.analysis.rows import AnalysisRows
from core.labels.errors import StoreError
from core.labels.marks import label_text, tag_names
from core.labels.values import STATUSES
from gui.state import AppState
from gui.thumbnails import PooledPixmaps, thumbnail_image

#: The review mark that leaves a sample out of metrics and exports.
EXCLUDED = STATUSES.index("excluded")


class RowThumbnails(PooledPixmaps):
    """Thumbnails of analysis rows (``box`` pixels square at most), decoded on demand in a thread pool.

    ``set_rows`` takes anything whose ``load_image(row)`` reads a row's image: the analysis' AnalysisRows, or
    the open Dataset itself where rows are its samples (the Label issues table)."""

    def __init__(self, box: int, parent: QObject | None = None, *, capacity: int = 600) -> None:
        super().__init__(parent, capacity=capacity)
        self.box = box
        self.rows: AnalysisRows | None = None

    def set_rows(self, rows: AnalysisRows | None) -> None:
        self.rows = rows
        self.clear()

    def thumbnail(self, row: int) -> QPixmap | None:
        """The cached thumbnail of ``row``, or None after scheduling its decode."""
        if self.rows is None:
            return None
        rows, box = self.rows, self.box
        return self.pixmap(row, lambda: thumbnail_image(rows.load_image(row), box))

    def error(self, row: int) -> str | None:
        return self.errors.get(row)


def excluded_marks(state: AppState) -> np.ndarray | None:
    """True per sample of the open dataset marked excluded; None without a project store."""
    project = state.project
    return None if project is None else project.status() == EXCLUDED


def set_excluded(state: AppState, indices, excluded: bool, what: str) -> bool:
    """Mark samples of the open dataset excluded (or clear the mark): one undo step, described by ``what``."""
    project, indices = state.project, np.asarray(indices, dtype=np.int64)
    if project is None:
        state.message.emit("Open a dataset with its project store to exclude samples.")
        return False
    if not len(indices):
        return False
    try:
        project.set_status(indices, "excluded" if excluded else None, what)
    except (StoreError, ValueError) as exc:
        state.error.emit("The samples were not excluded" if excluded else "The mark was not cleared", str(exc))
        return False
    return True


def label_of(state: AppState, rows: AnalysisRows, row: int) -> str:
    """The row's label in words: as edited now for the open split, as analysed for other splits."""
    index = rows.open_index(row)
    if index >= 0 and state.dataset is not None:
        return label_text(state.dataset, index)
    labels, classes = rows.input.labels, rows.input.classes
    if labels is None:
        return ""
    if np.ndim(labels) == 2:
        return ", ".join(tag_names(classes, labels[row]))
    label = int(labels[row])
    return classes[label] if 0 <= label < len(classes) else ""


def prediction_of(rows: AnalysisRows, row: int) -> str:
    """The model's answer for the row in words: its top class, or its tags scored 0.5 and over (multilabel)."""
    inp = rows.input
    if not inp.predicted[row]:
        return ""
    scores = np.asarray(inp.probabilities[row], dtype=np.float32)
    if inp.multilabel:
        return ", ".join(tag_names(inp.classes, scores >= 0.5))
    return inp.classes[int(np.argmax(scores))]
