"""Which classes each image of a segmentation dataset contains: the "tags" of its masks.

The class chart, the class filter and the tiles' label lines need them. COCO lists them in
its annotations (``Dataset.tags``); for the others the masks are read by a background scan
(one thread, a chunk at a time, dropped when another dataset opens), and every mask a
thumbnail decode reads meanwhile is recorded too.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from core.datasets import Dataset
from core.evaluation.selection import scan_mask_classes
from gui.decoding import ResultRelay, per_pixel
from gui.throttle import throttled

CHUNK = 16


class ScanTask(QRunnable):
    def __init__(self, relay: ResultRelay, epoch: int, dataset: Dataset, index: MaskClassIndex) -> None:
        super().__init__()
        self._relay, self._epoch, self._dataset, self._index = relay, epoch, dataset, index

    def run(self) -> None:
        dataset = self._dataset
        for chunk in scan_mask_classes(dataset.load_mask, len(dataset), len(dataset.classes), CHUNK):
            if self._index.epoch != self._epoch:  # another dataset, or shutting down: stop between chunks
                return
            self._relay.done.emit(self._epoch, chunk[0], chunk[1:], "")


class MaskClassIndex(QObject):
    """N x K uint8 ``tags`` (1 = the image has pixels of that class), filled as masks are read."""

    changed = Signal()  # coalesced: at most every 250 ms, and once when the scan completes

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tags: np.ndarray | None = None
        self.known = np.zeros(0, dtype=bool)
        self.pixels = np.zeros(0, dtype=np.int64)  # pixels per class over the scanned masks
        self.errors: dict[int, str] = {}
        self._scanning = False
        self.epoch = 0
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._relay = ResultRelay(self)
        self._relay.done.connect(self._on_chunk)
        # Chunks arrive every few milliseconds: the chart and the filters hear of them at most every 250 ms.
        self._announce = throttled(self.changed.emit, timeout=250, leading=False, parent=self)

    def set_dataset(self, dataset: Dataset | None) -> None:
        self.epoch += 1
        self.errors = {}
        self._announce.cancel()
        if dataset is None or not per_pixel(dataset):
            self.tags, self.known, self.pixels = None, np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
            return
        n, k = len(dataset), len(dataset.classes)
        self.pixels = np.zeros(k, dtype=np.int64)
        self._scanning = dataset.tags is None
        if dataset.tags is not None:
            self.tags, self.known = dataset.tags, np.ones(n, dtype=bool)
            return
        self.tags, self.known = np.zeros((n, k), dtype=np.uint8), np.zeros(n, dtype=bool)
        if n:
            self.pool.start(ScanTask(self._relay, self.epoch, dataset, self))

    @property
    def scanned(self) -> int:
        return int(self.known.sum())

    @property
    def complete(self) -> bool:
        return bool(self.known.all())

    def record(self, index: int, presence: np.ndarray) -> None:
        """A mask read elsewhere (a thumbnail): remember its classes."""
        if self.tags is not None and not self.known[index]:
            self.tags[index] = presence
            self.known[index] = True
            self._changed()

    def forget(self, indices) -> None:
        """These masks changed: their classes are taken again from the next read (a thumbnail's).
        Classes a dataset lists itself (COCO's categories) are not the masks' to change."""
        if self.tags is not None and self._scanning:
            self.known[np.asarray(list(indices), dtype=np.int64)] = False

    def shutdown(self) -> None:
        self.epoch += 1
        self.pool.waitForDone()

    def _on_chunk(self, epoch: int, start: int, result: tuple, _error: str) -> None:
        if epoch != self.epoch or self.tags is None:
            return
        rows, pixels, errors = result
        self.tags[start : start + len(rows)] = rows
        self.known[start : start + len(rows)] = True
        self.pixels += pixels
        self.errors.update(errors)
        self._changed()

    def _changed(self) -> None:
        if self.complete:
            self._announce.cancel()
            self.changed.emit()
        else:
            self._announce()
