"""Running decodes on pool threads and carrying the results back to the GUI thread."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from core import tasks
from core.datasets import SampleError

THUMB_SIZE = 96


def per_pixel(dataset) -> bool:
    """Whether ``dataset`` (or predictions) is of a per-pixel task; False for a task this build does not know."""
    task = tasks.known(dataset)
    return task is not None and task.per_pixel


def fit_size(width: int, height: int, box: int) -> tuple[int, int]:
    """The size of a ``width`` x ``height`` image scaled to fit a ``box`` square, aspect kept."""
    scale = box / max(width, height, 1)
    return max(1, round(width * scale)), max(1, round(height * scale))


def thumbnail_array(image: np.ndarray, box: int = THUMB_SIZE) -> np.ndarray:
    """An RGB array scaled into a ``box`` square: nearest-neighbour up (sharp pixels), area down."""
    h, w = image.shape[:2]
    tw, th = fit_size(w, h, box)
    interpolation = cv2.INTER_NEAREST_EXACT if tw >= w else cv2.INTER_AREA
    return cv2.resize(image, (tw, th), interpolation=interpolation)


def make_thumbnail(image: np.ndarray, box: int = THUMB_SIZE) -> QImage:
    """:func:`thumbnail_array` as a QImage."""
    return to_qimage(thumbnail_array(image, box))


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


class DrainingPool(QThreadPool):
    """A thread pool fed through one queue: :meth:`submit` appends, and at most ``maxThreadCount()`` draining
    tasks run, each taking the queue's next task until it is empty.

    ``QThreadPool.start`` on an idle pool wakes a thread that takes the GIL from the caller at once: a scroll step
    that started 50 decodes one by one gave the GIL away 50 times while the GUI thread painted (~0.8 ms each, the
    first drag's longest stall). Here a batch of submits wakes one thread per core. ``waitForDone`` and
    ``activeThreadCount`` keep their meaning.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: deque[QRunnable] = deque()
        self._lock = threading.Lock()  # the queue and the count of draining tasks change together
        self._draining = 0

    def submit(self, task: QRunnable) -> None:
        """Run ``task`` on a pool thread, after the tasks submitted before it."""
        with self._lock:
            self._queue.append(task)
            wake = self._draining < self.maxThreadCount()
            self._draining += wake
        if wake:
            self.start(_Drain(self))

    def discard_queued(self) -> None:
        """Drop the tasks not started yet (a scroll made them stale)."""
        with self._lock:
            self._queue.clear()

    def _next(self) -> QRunnable | None:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            self._draining -= 1
            return None


class _Drain(QRunnable):
    """Runs a :class:`DrainingPool`'s queued tasks until there are none."""

    def __init__(self, pool: DrainingPool) -> None:
        super().__init__()
        self._pool = pool

    def run(self) -> None:
        while (task := self._pool._next()) is not None:
            task.run()
