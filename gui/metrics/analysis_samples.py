"""What the Analysis tab's lists share: thumbnails of analysis rows, exclusion, a row's label and prediction.

A row of the analysis may be a sample of the open dataset or of another split (a leak's other side):
:class:`RowThumbnails` reads either through :class:`core.analysis.rows.AnalysisRows`, decoding on its own
thread pool into a small LRU cache (never on the GUI thread), and says ``ready(row)`` when a thumbnail can
be painted. :func:`set_excluded` marks samples of the open split excluded (one undo step, like the
browser's X).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from core.analysis.rows import AnalysisRows
from core.labels.errors import StoreError
from core.labels.marks import label_text, tag_names
from core.labels.values import STATUSES
from gui.state import AppState

#: The review mark that leaves a sample out of metrics and exports.
EXCLUDED = STATUSES.index("excluded")


def thumbnail_image(image: np.ndarray, box: int) -> QImage:
    """An image (H x W, or H x W x 3 or 4, uint8) scaled into a ``box`` square as an RGB QImage that owns its
    pixels: nearest-neighbour up (an 8 x 8 digit stays sharp), area down."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = np.ascontiguousarray(image[:, :, :3].astype(np.uint8, copy=False))
    h, w = image.shape[:2]
    scale = box / max(h, w, 1)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.ascontiguousarray(
        cv2.resize(image, size, interpolation=cv2.INTER_NEAREST if scale >= 1 else cv2.INTER_AREA)
    )
    return QImage(small.data, size[0], size[1], small.strides[0], QImage.Format.Format_RGB888).copy()


class _Relay(QObject):
    """Carries a pool thread's thumbnail to the GUI thread (a QRunnable is no QObject)."""

    done = Signal(int, int, object, str)  # epoch, row, QImage or None, error


class _ThumbnailTask(QRunnable):
    """Reads and shrinks one row's image on a pool thread, unless ``wanted()`` says it went stale."""

    def __init__(self, relay: _Relay, epoch: int, row: int, read: Callable[[], QImage], wanted: Callable[[], bool]):
        super().__init__()
        self._relay, self._epoch, self._row, self._read, self._wanted = relay, epoch, row, read, wanted

    def run(self) -> None:
        if not self._wanted():
            return
        try:
            image, error = self._read(), ""
        except Exception as exc:  # a bad sample says so on its thumbnail, never a crash
            image, error = None, str(exc) or type(exc).__name__
        self._relay.done.emit(self._epoch, self._row, image, error)


class RowThumbnails(QObject):
    """Thumbnails of analysis rows (``box`` pixels square at most), decoded on demand in a thread pool.

    ``set_rows`` takes anything whose ``load_image(row)`` reads a row's image: the analysis' AnalysisRows, or
    the open Dataset itself where rows are its samples (the Label issues table)."""

    ready = Signal(int)  # row now in the cache (or failed: ``error(row)`` says why)

    def __init__(self, box: int, parent: QObject | None = None, *, capacity: int = 600) -> None:
        super().__init__(parent)
        self.box, self.capacity = box, capacity
        self.rows: AnalysisRows | None = None
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._errors: dict[int, str] = {}
        self._pending: set[int] = set()
        self._epoch = 0  # per set of rows: results for an older analysis are dropped
        self._generation = 0  # per scroll: queued decodes of rows scrolled away are skipped
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_done)

    def set_rows(self, rows: AnalysisRows | None) -> None:
        self.rows = rows
        self._epoch += 1
        self.drop_pending()
        self._cache.clear()
        self._errors.clear()

    def thumbnail(self, row: int) -> QPixmap | None:
        """The cached thumbnail of ``row``, or None after scheduling its decode."""
        pixmap = self._cache.get(row)
        if pixmap is not None:
            self._cache.move_to_end(row)
            return pixmap
        if row not in self._errors and row not in self._pending and self.rows is not None:
            self._pending.add(row)
            rows, box, generation = self.rows, self.box, self._generation
            read = lambda: thumbnail_image(rows.load_image(row), box)  # noqa: E731
            wanted = lambda: generation == self._generation  # noqa: E731  (read on a pool thread: an int, atomic)
            self.pool.start(_ThumbnailTask(self._relay, self._epoch, row, read, wanted))
        return None

    def error(self, row: int) -> str | None:
        return self._errors.get(row)

    def drop_pending(self) -> None:
        """Forget queued decodes (the list scrolled): rows still shown ask again when they repaint."""
        self._generation += 1
        self._pending.clear()

    def shutdown(self) -> None:
        self.drop_pending()
        self.pool.waitForDone()

    def _on_done(self, epoch: int, row: int, image, error: str) -> None:
        if epoch != self._epoch:
            return
        self._pending.discard(row)
        if error:
            self._errors[row] = error
        else:
            self._cache[row] = QPixmap.fromImage(image)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        self.ready.emit(row)


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
