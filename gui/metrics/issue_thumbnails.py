"""Small thumbnails for the metrics pane's sample tables, decoded on a thread pool into a bounded cache.

A table asks :meth:`IssueThumbnails.thumbnail` while painting a row: a miss queues one decode and returns
None; ``thumbnail_ready(index)`` (queued to the GUI thread) says when to repaint. A new filter calls
:meth:`drop_pending`, so queued decodes of rows no longer shown are skipped. (The browser's loader does the
same for its grid with masks and overlays; the panes share no code, so this one is the plain image part.)
"""

from __future__ import annotations

from collections import OrderedDict

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap


def thumbnail_image(image: np.ndarray, box: int) -> QImage:
    """``image`` (H x W, H x W x 3 or x 4, uint8) scaled into a ``box`` square, aspect kept, as an RGB QImage."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = np.ascontiguousarray(image[:, :, :3].astype(np.uint8, copy=False))
    h, w = image.shape[:2]
    scale = box / max(h, w, 1)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.ascontiguousarray(
        cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
    )
    return QImage(small.data, small.shape[1], small.shape[0], small.strides[0], QImage.Format.Format_RGB888).copy()


class _Relay(QObject):
    done = Signal(int, int, object, str)  # epoch, dataset index, QImage or None, error


class _Decode(QRunnable):
    def __init__(self, relay: _Relay, epoch: int, index: int, dataset, box: int, wanted) -> None:
        super().__init__()
        self.relay, self.epoch, self.index, self.dataset, self.box, self.wanted = (
            relay,
            epoch,
            index,
            dataset,
            box,
            wanted,
        )

    def run(self) -> None:
        if not self.wanted():
            return
        try:
            image, error = thumbnail_image(self.dataset.load_image(self.index), self.box), ""
        except Exception as exc:  # a sample that cannot be read shows without a thumbnail, and says why
            image, error = None, str(exc) or type(exc).__name__
        self.relay.done.emit(self.epoch, self.index, image, error)


class IssueThumbnails(QObject):
    thumbnail_ready = Signal(int)  # dataset index now in the cache

    def __init__(self, parent: QObject | None = None, *, box: int = 32, capacity: int = 600) -> None:
        super().__init__(parent)
        self.box, self.capacity = box, capacity
        self.errors: dict[int, str] = {}
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._pending: set[int] = set()
        self._dataset = None
        self._epoch = 0  # per dataset: decodes of an older one are dropped
        self._generation = 0  # per filter: queued decodes of an older one are skipped
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_done)

    def set_dataset(self, dataset) -> None:
        self._dataset = dataset
        self._epoch += 1
        self.drop_pending()
        self._cache.clear()
        self.errors.clear()

    def thumbnail(self, index: int) -> QPixmap | None:
        """The cached thumbnail of sample ``index``, or None after queueing its decode."""
        pixmap = self._cache.get(index)
        if pixmap is not None:
            self._cache.move_to_end(index)
            return pixmap
        if self._dataset is not None and index not in self._pending and index not in self.errors:
            self._pending.add(index)
            generation = self._generation
            wanted = lambda: generation == self._generation  # noqa: E731  (read on a pool thread: one int)
            self.pool.start(_Decode(self._relay, self._epoch, index, self._dataset, self.box, wanted))
        return None

    def drop_pending(self) -> None:
        self._generation += 1
        self._pending.clear()

    def shutdown(self) -> None:
        self.drop_pending()
        self.pool.waitForDone()

    def _on_done(self, epoch: int, index: int, image: QImage | None, error: str) -> None:
        if epoch != self._epoch:
            return
        self._pending.discard(index)
        if image is None:
            self.errors[index] = error
            return
        self._cache[index] = QPixmap.fromImage(image)
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        self.thumbnail_ready.emit(index)
