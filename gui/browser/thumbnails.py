"""Decoding thumbnails off the GUI thread, into a bounded LRU cache.

The grid asks :meth:`ThumbnailLoader.thumbnail` for every tile it paints; a miss schedules
one decode on the loader's own QThreadPool and the tile shows a placeholder until the
``thumbnail_ready`` signal (queued to the GUI thread) says it is in the cache. Scrolling
calls :meth:`drop_pending`: requests queued before it become no-ops when a worker picks
them up, so a fast scroll through 100,000 samples decodes only what stays on screen.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from core.datasets import Dataset, SampleError

THUMB_SIZE = 96
CACHE_SIZE = 2000


def fit_size(width: int, height: int, box: int) -> tuple[int, int]:
    """The size of a ``width`` x ``height`` image scaled to fit a ``box`` square, aspect kept."""
    scale = box / max(width, height, 1)
    return max(1, round(width * scale)), max(1, round(height * scale))


def make_thumbnail(image: np.ndarray, box: int = THUMB_SIZE) -> QImage:
    """An RGB array scaled into a ``box`` square: nearest-neighbour up (sharp pixels), area down."""
    h, w = image.shape[:2]
    tw, th = fit_size(w, h, box)
    interpolation = cv2.INTER_NEAREST if tw >= w else cv2.INTER_AREA
    return to_qimage(cv2.resize(image, (tw, th), interpolation=interpolation))


def to_qimage(image: np.ndarray) -> QImage:
    """An H x W x 3 uint8 RGB array as a QImage that owns its pixels (safe to pass between threads)."""
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    return QImage(image.data, w, h, image.strides[0], QImage.Format.Format_RGB888).copy()


def read_error(exc: BaseException) -> str:
    """The message shown for a sample that cannot be decoded."""
    return str(exc) if isinstance(exc, SampleError) else f"{type(exc).__name__}: {exc}"


class ResultRelay(QObject):
    """Carries a worker's result back to the GUI thread (QRunnable is no QObject)."""

    done = Signal(int, int, object, str)  # epoch, key, result or None, error message


class DecodeTask(QRunnable):
    """Runs ``work()`` on a pool thread unless ``wanted()`` says it went stale meanwhile."""

    def __init__(
        self, relay: ResultRelay, epoch: int, key: int, work: Callable[[], object], wanted: Callable[[], bool]
    ):
        super().__init__()
        self._relay, self._epoch, self._key, self._work, self._wanted = relay, epoch, key, work, wanted

    def run(self) -> None:
        if not self._wanted():
            return
        try:
            result, error = self._work(), ""
        except Exception as exc:  # a bad sample is shown on its tile, never a crash
            result, error = None, read_error(exc)
        self._relay.done.emit(self._epoch, self._key, result, error)


class ThumbnailLoader(QObject):
    """Thumbnails of one dataset's samples, decoded on demand in a thread pool."""

    thumbnail_ready = Signal(int)  # dataset index now in the cache
    failed = Signal(int, str)  # dataset index, message

    def __init__(self, parent: QObject | None = None, *, capacity: int = CACHE_SIZE, box: int = THUMB_SIZE):
        super().__init__(parent)
        self.capacity = capacity
        self.box = box
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, min(4, QThreadPool.globalInstance().maxThreadCount())))
        self.errors: dict[int, str] = {}
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._pending: set[int] = set()
        self._dataset: Dataset | None = None
        self._epoch = 0  # bumped per dataset: results of an older one are dropped
        self._generation = 0  # bumped per scroll: queued requests of an older one are dropped
        self._relay = ResultRelay(self)
        self._relay.done.connect(self._on_done)

    # -- what the grid calls --------------------------------------------------------
    def set_dataset(self, dataset: Dataset | None) -> None:
        self._dataset = dataset
        self._epoch += 1
        self.drop_pending()
        self._cache.clear()
        self.errors.clear()

    def thumbnail(self, index: int) -> QPixmap | None:
        """The cached thumbnail of sample ``index``, or None after scheduling its decode."""
        pixmap = self._cache.get(index)
        if pixmap is not None:
            self._cache.move_to_end(index)
            return pixmap
        if index not in self.errors:
            self.request(index)
        return None

    def request(self, index: int) -> None:
        if index in self._pending or self._dataset is None:
            return
        self._pending.add(index)
        dataset, box, generation = self._dataset, self.box, self._generation
        task = DecodeTask(
            self._relay,
            self._epoch,
            index,
            lambda: make_thumbnail(dataset.load_image(index), box),
            lambda: self._current(generation),
        )
        self.pool.start(task)

    def drop_pending(self) -> None:
        """Forget queued requests: the tiles still on screen ask again when they repaint."""
        self._generation += 1
        self._pending.clear()

    def is_cached(self, index: int) -> bool:
        return index in self._cache

    def __len__(self) -> int:
        return len(self._cache)

    def wait(self, msecs: int = -1) -> bool:
        """Block until every started decode finished (teardown; never on a user action)."""
        return self.pool.waitForDone(msecs)

    def shutdown(self) -> None:
        self.drop_pending()
        self.pool.waitForDone()

    # -- results, on the GUI thread -------------------------------------------------
    def _current(self, generation: int) -> bool:
        # Called from pool threads: reading one int is atomic under the GIL.
        return generation == self._generation

    def _on_done(self, epoch: int, index: int, image: QImage | None, error: str) -> None:
        if epoch != self._epoch:
            return
        self._pending.discard(index)
        if error:
            self.errors[index] = error
            self.failed.emit(index, error)
        else:
            self._cache[index] = QPixmap.fromImage(image)
            self._cache.move_to_end(index)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
            self.thumbnail_ready.emit(index)
