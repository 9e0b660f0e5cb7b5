"""Small images decoded on pool threads into a bounded cache: what the panes' lists of pictures share.

:class:`PooledPixmaps` is the loader behind the Analysis tab's thumbnails (``gui/metrics/analysis_samples.py``)
and the object grid's crops (``gui/browser/object_grid.py``): a view asks for a key on every paint; a miss
starts one decode on the loader's own thread pool and the view paints a placeholder until ``ready(key)`` says the
pixmap (or the key's error) is there. :meth:`PooledPixmaps.drop_pending` (a scroll) makes decodes still queued
no-ops, :meth:`PooledPixmaps.clear` (other rows) drops what an older set of rows sends back. The browser's own
ThumbnailLoader does more (masks composed on the tiles, predicted masks read beside) and is not one of these.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from gui.decoding import DecodeTask, DrainingPool, ResultRelay, make_thumbnail


def rgb(image: np.ndarray) -> np.ndarray:
    """An image as H x W x 3 uint8: a gray one as three equal channels, the alpha of RGBA dropped."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3].astype(np.uint8, copy=False))


def thumbnail_image(image: np.ndarray, box: int) -> QImage:
    """Any image (gray, RGB or RGBA, uint8) scaled into a ``box`` square as an RGB QImage that owns its pixels:
    nearest-neighbour up (an 8 x 8 digit stays sharp), area down."""
    return make_thumbnail(rgb(image), box)


class PooledPixmaps(QObject):
    """Pixmaps by int key, made on demand by a ``work()`` on a thread pool into an LRU cache of ``capacity``.

    ``work()`` returns a QImage (made on the pool thread: it must own its pixels); a subclass whose work returns
    more overrides :meth:`_keep`. A work that raises is that key's error (``errors``), never a crash."""

    ready = Signal(int)  # key now in the cache, or failed (``errors[key]`` says why)

    def __init__(self, parent: QObject | None = None, *, capacity: int = 600, threads: int = 2) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self.pool = DrainingPool(self)
        self.pool.setMaxThreadCount(threads)
        self.errors: dict[int, str] = {}
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._pending: set[int] = set()
        self._epoch = 0  # per set of rows: results for older rows are dropped
        self._generation = 0  # per scroll: queued decodes of rows scrolled away are skipped
        self._relay = ResultRelay(self)
        self._relay.done.connect(self._on_done)

    def pixmap(self, key: int, work: Callable[[], object]) -> QPixmap | None:
        """The cached pixmap of ``key``, or None after starting ``work`` for it (unless it failed or is queued)."""
        pixmap = self._cache.get(key)
        if pixmap is not None:
            self._cache.move_to_end(key)
            return pixmap
        if key not in self.errors and key not in self._pending:
            self._pending.add(key)
            generation = self._generation
            wanted = lambda: generation == self._generation  # noqa: E731  (read on a pool thread: an int, atomic)
            self.pool.submit(DecodeTask(self._relay, self._epoch, key, work, wanted))
        return None

    def clear(self) -> None:
        """Forget every pixmap and error (other rows): what is still being decoded is dropped when it lands."""
        self._epoch += 1
        self.drop_pending()
        self._cache.clear()
        self.errors.clear()

    def drop_pending(self) -> None:
        """Forget queued decodes (the list scrolled): keys still shown ask again when they repaint."""
        self._generation += 1
        self.pool.discard_queued()
        self._pending.clear()

    def shutdown(self) -> None:
        self.drop_pending()
        self.pool.waitForDone()

    def _keep(self, key: int, result) -> QImage:
        """The image of a work's result (a subclass keeps what else it returned)."""
        return result

    def _on_done(self, epoch: int, key: int, result, error: str) -> None:
        if epoch != self._epoch:
            return
        self._pending.discard(key)
        if error:
            self.errors[key] = error
        else:
            self._cache[key] = QPixmap.fromImage(self._keep(key, result))
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        self.ready.emit(key)
