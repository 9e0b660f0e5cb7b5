"""Decoding thumbnails off the GUI thread, into a bounded LRU cache.

The grid asks :meth:`ThumbnailLoader.thumbnail` for every tile it paints; a miss schedules
one decode on the loader's own QThreadPool and the tile shows a placeholder until the
``thumbnail_ready`` signal (queued to the GUI thread) says it is in the cache. Scrolling
calls :meth:`drop_pending`: requests queued before it become no-ops when a worker picks
them up, so a fast scroll through 100,000 samples decodes only what stays on screen.

For segmentation datasets the worker also reads the mask and shrinks it to the thumbnail's
size; the cache keeps both, and a tile is composed (mask over image, as :meth:`set_style`
says) when first painted, so toggling masks or moving the opacity re-blends without decoding.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from core.datasets import Dataset
from core.overlays import OverlayStyle, background_classes, class_presence, palette_for, render, resize_mask
from gui.browser.decoding import (  # noqa: F401  (re-exported: the browser's modules import them from here)
    THUMB_SIZE,
    DecodeTask,
    ResultRelay,
    fit_size,
    make_thumbnail,
    read_error,
    thumbnail_array,
    to_qimage,
)

CACHE_SIZE = 2000
COMPOSED_SIZE = 400  # composed segmentation tiles kept as pixmaps: a few screens' worth


class Layers:
    """A segmentation thumbnail before composing: the image and its mask at the same size."""

    __slots__ = ("image", "mask")

    def __init__(self, image: np.ndarray, mask: np.ndarray) -> None:
        self.image, self.mask = image, mask


def make_layers(dataset: Dataset, index: int, box: int = THUMB_SIZE) -> tuple[Layers, np.ndarray]:
    """(image and mask at thumbnail size, the classes of the full mask); SampleError when either is unreadable."""
    image = thumbnail_array(dataset.load_image(index), box)
    mask = dataset.load_mask(index)
    if mask is None:
        raise ValueError(f"{dataset.sample_ids[index]}: the dataset gave no mask")
    presence = class_presence(mask, len(dataset.classes))
    return Layers(image, resize_mask(mask, image.shape[1], image.shape[0])), presence


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
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, min(4, QThreadPool.globalInstance().maxThreadCount())))
        self.errors: dict[int, str] = {}
        self.style = OverlayStyle()
        self._cache: OrderedDict[int, QPixmap | Layers] = OrderedDict()
        self._composed: OrderedDict[int, QPixmap] = OrderedDict()
        self._pending: set[int] = set()
        self._dataset: Dataset | None = None
        self._palette = np.zeros((0, 3), np.uint8)
        self._transparent: tuple[int, ...] = ()
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
        self._composed.clear()
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
        if index in self._pending or self._dataset is None:
            return
        self._pending.add(index)
        dataset, box, generation = self._dataset, self.box, self._generation
        if dataset.task == "segmentation":
            work = lambda: make_layers(dataset, index, box)  # noqa: E731
        else:
            work = lambda: make_thumbnail(dataset.load_image(index), box)  # noqa: E731
        self.pool.start(DecodeTask(self._relay, self._epoch, index, work, lambda: self._current(generation)))

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

    # -- composing and results, on the GUI thread -----------------------------------
    def _compose(self, index: int, layers: Layers) -> QPixmap:
        pixmap = self._composed.get(index)
        if pixmap is None:
            rgb = render(layers.image, layers.mask, self._palette, self.style, self._transparent)
            pixmap = QPixmap.fromImage(to_qimage(rgb))
            self._composed[index] = pixmap
            while len(self._composed) > COMPOSED_SIZE:
                self._composed.popitem(last=False)
        else:
            self._composed.move_to_end(index)
        return pixmap

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
        if isinstance(result, tuple):
            layers, presence = result
            self._cache[index] = layers
            self.classes_found.emit(index, presence)
        else:
            self._cache[index] = QPixmap.fromImage(result)
        self._cache.move_to_end(index)
        while len(self._cache) > self.capacity:
            dropped, _ = self._cache.popitem(last=False)
            self._composed.pop(dropped, None)
        self.thumbnail_ready.emit(index)
