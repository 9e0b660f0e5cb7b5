"""The search index of the sample ids (:class:`IdSearch`), built on a worker thread when a dataset opens.

Lowercasing and laying out a million ids takes about a second: on the GUI thread that is a frozen
window at the first keystroke. Small datasets are indexed in place (a few ms), so a search right
after opening one answers at once; a large one answers as soon as its index lands (``ready``).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QThreadPool, Signal

from core.datasets import Dataset
from core.evaluation.selection import IdSearch
from gui.decoding import DecodeTask, ResultRelay

#: Datasets with at most this many samples are indexed on the GUI thread (under ~20 ms).
IN_PLACE = 50_000


class IdIndex(QObject):
    """The current dataset's :class:`IdSearch`: ``search`` is None until it is built."""

    ready = Signal()  # ``search`` is built for the current dataset

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.search: IdSearch | None = None
        self.error = ""  # why the last build failed ("" when it did not)
        self._epoch = 0  # bumped per dataset: an older dataset's index is dropped when it lands
        self._building = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = ResultRelay(self)
        self._relay.done.connect(self._on_done)

    @property
    def building(self) -> bool:
        """True while the current dataset's index is being built on the worker."""
        return self._building

    def set_dataset(self, dataset: Dataset | None) -> None:
        self._epoch += 1
        self.search, self.error, self._building = None, "", False
        if dataset is None:
            return
        ids = dataset.sample_ids
        if len(ids) <= IN_PLACE:
            self.search = IdSearch(ids)
            return
        self._building = True
        self._pool.start(DecodeTask(self._relay, self._epoch, 0, lambda: IdSearch(ids), lambda: True))

    def shutdown(self) -> None:
        """Wait for a build under way (before the pane goes away)."""
        self._epoch += 1
        self._pool.waitForDone()

    def _on_done(self, epoch: int, _key: int, search: IdSearch | None, error: str) -> None:
        if epoch != self._epoch:
            return
        self.search, self.error, self._building = search, error, False
        self.ready.emit()
