"""Decoding thumbnails off the GUI thread, into a bounded LRU cache.

The grid asks :meth:`ThumbnailLoader.thumbnail` for every tile it paints; a miss schedules
one decode on the loader's own QThreadPool and the tile shows a placeholder until the
``thumbnail_ready`` signal (queued to the GUI thread) says it is in the cache. Scrolling
calls :meth:`drop_pending`: requests queued before it become no-ops when a worker picks
them up, so a fast scroll through 100,000 samples decodes only what stays on screen.

For segmentation datasets the worker also reads the mask and shrinks it to the thumbnail's
size; the cache keeps both, and a tile is composed (mask over image, as :meth:`set_style`
says) when first painted, so toggling masks or moving the opacity re-blends without decoding.
With a segmentation run the tiles can show the predicted mask or the wrong pixels instead
(:meth:`set_show`): the predicted mask at thumbnail size is read on the pool too, once per tile.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap

from core.datasets import Dataset
from core.masks.overlays import OverlayStyle, background_classes, palette_for
from gui.browser.boxes import BoxThumb, ImageTruth, read_box_thumbnail
from gui.browser.tile_layers import TRUTH, Layers, compose_tile, make_layers
from gui.decoding import (  # noqa: F401  (re-exported: the browser's modules import them from here)
    THUMB_SIZE,
    DecodeTask,
    DrainingPool,
    ResultRelay,
    fit_size,
    make_thumbnail,
    per_pixel,
    read_error,
    thumbnail_array,
    to_qimage,
)

#: (index, width, height) -> the predicted mask at that size, None when the sample is not predicted (yet).
PredictedReader = Callable[[int, int, int], "np.ndarray | None"]

CACHE_SIZE = 2000
COMPOSED_SIZE = 400  # composed segmentation tiles kept as pixmaps: a few screens' worth


class ThumbnailLoader(QObject):
    """Thumbnails of one dataset's samples, decoded on demand in a thread pool."""

    thumbnail_ready = Signal(int)  # dataset index now in the cache
    failed = Signal(int, str)  # dataset index, message
    classes_found = Signal(int, object)  # dataset index, uint8 presence per class (segmentation)
    restyled = Signal()  # masks are drawn differently now: every tile must repaint

    def __init__(self, parent: QObject | None = None, *, capacity: int = CACHE_SIZE, box: int = THUMB_SIZE):
        super().__init__(parent)
        self.capacity = capacity
        self.box = box
        self.pool = DrainingPool(self)
        # A core left to the GUI thread: decode threads running Python make it wait for the GIL as it paints.
        self.pool.setMaxThreadCount(max(1, min(4, QThreadPool.globalInstance().maxThreadCount() - 1)))
        self.errors: dict[int, str] = {}
        self.style = OverlayStyle()
        self.show = TRUTH  # what segmentation tiles draw: tile_layers.TILE_SHOWS
        self._reader: PredictedReader | None = None
        self._predicted: dict[int, np.ndarray | None] = {}  # predicted masks at tile size, of cached tiles
        self._predicted_pending: set[int] = set()
        self._run_epoch = 0  # bumped per run (or dataset): predicted masks of an older one are dropped
        self._cache: OrderedDict[int, QPixmap | Layers] = OrderedDict()
        #: Box datasets: the true objects and the full image's (h, w) of each cached thumbnail.
        self._truth: dict[int, tuple[ImageTruth, tuple[int, int]]] = {}
        self._composed: OrderedDict[int, QPixmap] = OrderedDict()
        self._pending: set[int] = set()
        #: Requests made during a paint, submitted once it ends (_start_requested): a decode thread that wakes
        #: takes the GIL, and a paint should not wait on it.
        self._requested: list[int] = []
        self._start_soon = QTimer(self, singleShot=True, interval=0, timeout=self._start_requested)
        self._dataset: Dataset | None = None
        self._palette = np.zeros((0, 3), np.uint8)
        self._transparent: tuple[int, ...] = ()
        self._epoch = 0  # bumped per dataset: results of an older one are dropped
        self._generation = 0  # bumped per scroll: queued requests of an older one are dropped
        self._relay = ResultRelay(self)
        self._relay.done.connect(self._on_done)
        self._predicted_relay = ResultRelay(self)
        self._predicted_relay.done.connect(self._on_predicted)

    # -- what the grid calls --------------------------------------------------------
    def set_dataset(self, dataset: Dataset | None) -> None:
        self._dataset = dataset
        self._epoch += 1
        self.drop_pending()
        self._cache.clear()
        self._truth.clear()
        self._composed.clear()
        self._predicted.clear()
        self._predicted_pending.clear()
        self._run_epoch += 1
        self.errors.clear()
        if dataset is not None:
            self._palette = palette_for(dataset.palette, len(dataset.classes))
            self._transparent = background_classes(dataset.classes)

    def set_style(self, style: OverlayStyle) -> None:
        """Draw masks on the tiles this way (composed again on their next paint)."""
        if style != self.style:
            self.style = style
            self._composed.clear()
            self.restyled.emit()

    def set_show(self, show: str) -> None:
        """Segmentation tiles show the true mask, the predicted one or the wrong pixels (``TILE_SHOWS``)."""
        if show != self.show:
            self.show = show
            self._composed.clear()
            self.restyled.emit()

    def set_predicted_reader(self, reader: PredictedReader | None) -> None:
        """Where predicted masks come from (another run: every predicted tile is read again)."""
        self._reader = reader
        self._run_epoch += 1  # reads of the last run's masks are dropped when they land
        self._predicted.clear()
        self._predicted_pending.clear()
        self._composed.clear()
        self.restyled.emit()

    def predictions_updated(self) -> bool:
        """The run predicted more samples: tiles that had no prediction ask again. True when a shown tile
        has to be repainted for that."""
        missing = [i for i, mask in self._predicted.items() if mask is None]
        for index in missing:
            del self._predicted[index]
            self._composed.pop(index, None)
        return bool(missing) and self.show != TRUTH

    def thumbnail(self, index: int) -> QPixmap | None:
        """The cached thumbnail of sample ``index``, or None after scheduling its decode."""
        entry = self._cache.get(index)
        if entry is None:
            if index not in self.errors:
                self.request(index)
            return None
        self._cache.move_to_end(index)
        return entry if isinstance(entry, QPixmap) else self._compose(index, entry)

    def request(self, index: int) -> None:
        """Decode sample ``index`` (started when control returns to the event loop, with the others asked for)."""
        if index in self._pending or self._dataset is None:
            return
        self._pending.add(index)
        self._requested.append(index)
        self._start_soon.start()

    def _start_requested(self) -> None:
        requested, self._requested = self._requested, []
        for index in requested:
            if index in self._pending:  # not dropped by a scroll meanwhile
                self._start(index)

    def _start(self, index: int) -> None:
        dataset, box, generation = self._dataset, self.box, self._generation
        if per_pixel(dataset):
            work = lambda: make_layers(dataset, index, box)  # noqa: E731
        elif dataset.has_boxes:
            work = lambda: read_box_thumbnail(dataset, index, box)  # noqa: E731
        else:
            work = lambda: make_thumbnail(dataset.load_image(index), box)  # noqa: E731
        self.pool.submit(DecodeTask(self._relay, self._epoch, index, work, lambda: self._current(generation)))

    def forget(self, indices) -> None:
        """These samples changed on disk or in the store (a saved mask, an undo of one): their tiles are
        decoded again when next painted."""
        for index in (int(i) for i in indices):
            self._cache.pop(index, None)
            self._truth.pop(index, None)
            self._composed.pop(index, None)
            self._predicted.pop(index, None)
            self.errors.pop(index, None)
            self._pending.discard(index)
        self.restyled.emit()

    def drop_pending(self) -> None:
        """Forget queued requests: the tiles still on screen ask again when they repaint."""
        self._generation += 1
        self.pool.discard_queued()
        self._pending.clear()
        self._requested.clear()
        self._predicted_pending.clear()

    def truth(self, index: int) -> tuple[ImageTruth, tuple[int, int]] | None:
        """(true objects, full image (h, w)) of a cached box thumbnail; None before it is read."""
        return self._truth.get(index)

    def is_cached(self, index: int) -> bool:
        return index in self._cache

    def __len__(self) -> int:
        return len(self._cache)

    def wait(self, msecs: int = -1) -> bool:
        """Block until every requested decode finished (teardown; never on a user action)."""
        self._start_requested()
        return self.pool.waitForDone(msecs)

    def shutdown(self) -> None:
        self.drop_pending()
        self.pool.waitForDone()

    # -- composing and results, on the GUI thread -----------------------------------
    def _compose(self, index: int, layers: Layers) -> QPixmap:
        pixmap = self._composed.get(index)
        if pixmap is None:
            if self.show != TRUTH and self._reader is not None and index not in self._predicted:
                self._request_predicted(index, layers.image.shape[1], layers.image.shape[0])
                return QPixmap.fromImage(to_qimage(layers.image))  # bare until the prediction is read
            predicted = self._predicted.get(index)
            rgb = compose_tile(layers, predicted, self.show, self.style, self._palette, self._transparent)
            pixmap = QPixmap.fromImage(to_qimage(rgb))
            self._composed[index] = pixmap
            while len(self._composed) > COMPOSED_SIZE:
                self._composed.popitem(last=False)
        else:
            self._composed.move_to_end(index)
        return pixmap

    def _request_predicted(self, index: int, width: int, height: int) -> None:
        if index in self._predicted_pending:
            return
        self._predicted_pending.add(index)
        reader, generation = self._reader, self._generation
        work = lambda: reader(index, width, height)  # noqa: E731
        task = DecodeTask(self._predicted_relay, self._run_epoch, index, work, lambda: self._current(generation))
        self.pool.submit(task)

    def _on_predicted(self, epoch: int, index: int, mask: np.ndarray | None, _error: str) -> None:
        # An unreadable prediction shows as none: the sample view says why.
        if epoch != self._run_epoch:
            return
        self._predicted_pending.discard(index)
        if index in self._cache:
            self._predicted[index] = mask
            self._composed.pop(index, None)
            self.thumbnail_ready.emit(index)

    def _current(self, generation: int) -> bool:
        # Called from pool threads: reading one int is atomic under the GIL.
        return generation == self._generation

    def _on_done(self, epoch: int, index: int, result: QImage | tuple | None, error: str) -> None:
        if epoch != self._epoch:
            return
        self._pending.discard(index)
        if error:
            self.errors[index] = error
            self.failed.emit(index, error)
            return
        if isinstance(result, BoxThumb):
            self._cache[index] = QPixmap.fromImage(result.image)
            self._truth[index] = (result.truth, result.size)
        elif isinstance(result, tuple):
            layers, presence = result
            self._cache[index] = layers
            self.classes_found.emit(index, presence)
        else:
            self._cache[index] = QPixmap.fromImage(result)
        self._cache.move_to_end(index)
        while len(self._cache) > self.capacity:
            dropped, _ = self._cache.popitem(last=False)
            self._truth.pop(dropped, None)
            self._composed.pop(dropped, None)
            self._predicted.pop(dropped, None)
        self.thumbnail_ready.emit(index)
