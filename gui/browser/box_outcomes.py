"""Right and wrong per image for the object tasks, computed on a worker: an image is wrong when, among the
detections at the score threshold matched at IoU 0.5, there is a false detection (FP) or a missed object (FN).

The grid frames tiles and "Wrong only" filters by it, as for classifiers. It reads every image's truth (files, for
some layouts), so it runs on its own thread and only the latest request's answer is kept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, Signal

from core.datasets import Dataset
from core.evaluation.selection import RIGHT, UNKNOWN, WRONG
from core.inference.detections import DetectionPredictions
from core.metrics.boxes import match_image
from gui.browser.boxes import IOU_THRESHOLD, truth_boxes
from gui.decoding import DecodeTask, ResultRelay


def image_outcomes(
    dataset: Dataset, run: DetectionPredictions, min_score: float, wanted: Callable[[], bool] = lambda: True
) -> np.ndarray | None:
    """N int8: RIGHT (no FP, no FN), WRONG, or UNKNOWN (not run, or unreadable); None once not ``wanted()``."""
    out = np.full(len(dataset), UNKNOWN, dtype=np.int8)
    for n, i in enumerate(np.flatnonzero(run.done)):
        if n % 256 == 0 and not wanted():
            return None
        try:
            truth = truth_boxes(dataset, int(i))
        except Exception:  # an unreadable annotation: the tile says why, the image is neither right nor wrong
            continue
        boxes, scores, labels = run.image(int(i), min_score)
        match = match_image(
            truth.boxes, truth.classes, boxes, scores, labels, IOU_THRESHOLD, iscrowd=truth.iscrowd, ignore=truth.ignore
        )
        out[i] = WRONG if match.fp or match.fn else RIGHT
    return out


class BoxOutcomes(QObject):
    """Computes :func:`image_outcomes` off the GUI thread; ``ready`` carries the latest answer (None: no run)."""

    ready = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._epoch = 0
        self._relay = ResultRelay(self)
        self._relay.done.connect(self._on_done)

    def compute(self, dataset: Dataset | None, run: DetectionPredictions | None, min_score: float) -> None:
        self._epoch += 1
        if dataset is None or run is None:
            self.ready.emit(None)
            return
        epoch = self._epoch
        wanted = lambda: epoch == self._epoch  # noqa: E731
        work = lambda: image_outcomes(dataset, run, min_score, wanted)  # noqa: E731
        self.pool.start(DecodeTask(self._relay, epoch, 0, work, wanted))

    def forget(self) -> None:
        """Another dataset: an answer still on its way is dropped."""
        self._epoch += 1

    def shutdown(self) -> None:
        self._epoch += 1
        self.pool.waitForDone()

    def _on_done(self, epoch: int, _key: int, outcome, error: str) -> None:
        if epoch == self._epoch and outcome is not None and not error:
            self.ready.emit(outcome)
