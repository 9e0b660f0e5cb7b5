"""The label-quality pass of the metrics pane's Label quality view, in a worker thread.

:func:`find_suspect_masks` (on the worker) scores every predicted image of a segmentation run
(``core.analysis.mask_quality.run_label_quality``: one image in memory at a time), then, for the worst
``listed`` images, finds their suspect pixels at full resolution and makes a thumbnail with them painted.
:class:`PixelIssuesModel` runs it for the shown run, relays progress, and hands the result to the AppState
(``set_label_quality``), so that the browser's "Suspect pixels" overlay uses the thresholds of the pass.
Only the latest request counts: another run, another dataset or Cancel stops the running pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from core import tasks
from core.analysis.mask_quality import NoProbabilities, RunLabelQuality, RunMasks, run_label_quality
from core.analysis.progress import step
from core.masks.overlays import blend, suspect_colours
from gui.metrics.jobs import StoppableRun
from gui.state import AppState

#: The worst images listed with their suspect pixels and a thumbnail (the ranking itself covers every image).
LISTED = 200
THUMB = 56
SCORING, FINDING = "scoring the masks", "finding the suspect pixels"


@dataclass(frozen=True)
class SuspectImage:
    """One listed image: its rank, label quality and suspect pixels."""

    index: int
    score: float
    count: int  # suspect pixels (at the image's resolution)
    given: int  # the true class with the most suspect pixels (-1: none)
    suggested: int  # the class the model gives those pixels (-1: none)
    thumbnail: QImage | None
    error: str = ""


@dataclass(frozen=True)
class SuspectMasks:
    """A finished pass: the ranking of every image and the worst ones listed."""

    quality: RunLabelQuality
    listed: list[SuspectImage]


def _thumbnail(image: np.ndarray, suspect: np.ndarray) -> QImage:
    """The image with its suspect pixels painted, scaled into a THUMB square (a QImage owning its pixels)."""
    image = np.ascontiguousarray(image[..., :3]) if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    painted = blend(image, suspect_colours(suspect, ring=False), 1.0)  # a ring blurs at this size
    h, w = painted.shape[:2]
    scale = THUMB / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST  # shrunk smoothly, enlarged sharp
    small = np.ascontiguousarray(cv2.resize(painted, size, interpolation=interpolation))
    return QImage(small.data, size[0], size[1], small.strides[0], QImage.Format.Format_RGB888).copy()


def _listed_image(masks: RunMasks, index: int, score: float, thresholds: np.ndarray) -> SuspectImage:
    try:
        found = masks.suspects(index, thresholds)
        image = masks.dataset.load_image(index)
        thumbnail = _thumbnail(image, found.mask) if image.shape[:2] == found.mask.shape else None
        return SuspectImage(index, score, found.count, found.given, found.suggested, thumbnail)
    except Exception as exc:  # that image's error, shown in its row
        return SuspectImage(index, score, 0, -1, -1, None, str(exc) or type(exc).__name__)


def find_suspect_masks(predictions, dataset, listed: int = LISTED, progress=None, stop=None) -> SuspectMasks:
    """Rank every predicted image of the run by label quality, then list the worst ``listed`` with their
    suspect pixels. ``progress(stage, done, total)``; ``stop()`` cancels between images."""

    def report(stage: str):
        return None if progress is None else lambda done, total: progress(stage, done, total)

    quality = run_label_quality(predictions, dataset, progress=report(SCORING), stop=stop)
    score = np.full(len(predictions), np.nan)
    score[quality.images] = quality.score
    worst = [int(i) for i in quality.worst(listed)]
    masks = RunMasks(predictions, dataset)
    rows = []
    for k, index in enumerate(worst):
        step(k, len(worst), report(FINDING), stop)
        rows.append(_listed_image(masks, index, float(score[index]), quality.thresholds))
    return SuspectMasks(quality, rows)


class _Relay(QObject):
    progress = Signal(int, str, int, int)  # generation, stage, done, total


class PixelIssuesModel(StoppableRun):
    """Runs the label-quality pass of the shown segmentation run; the result is ``findings`` (``reset``: a pass
    started, or the findings were dropped; ``failed``: why it could not be made, no probabilities: what to do)."""

    progress = Signal(str, int, int)  # stage, done, total
    availability_changed = Signal()

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.findings: SuspectMasks | None = None
        self.listed = LISTED
        self._predictions = None  # the run the findings (or the running pass) are of
        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_progress)
        state.dataset_changed.connect(lambda _d: self._drop())
        state.predictions_changed.connect(self._on_predictions)

    @property
    def predictions(self):
        """The run of the findings or of the running pass (None: neither)."""
        return self._predictions

    def unavailable_reason(self) -> str:
        """Why no pass can start now ("" when one can)."""
        state, preds = self.state, self.state.predictions
        if state.dataset is None:
            return "Open a segmentation dataset and run a segmenter on it."
        if preds is None or not tasks.of(preds).per_pixel:
            return "Run a segmenter on this dataset: its probabilities say which true masks look wrong."
        status = state.run_status
        if not preds.complete and status is not None and status.outcome == "running":
            return "The run is still going: its masks are scored once it ends."
        if not preds.done.any():
            return "The run has predicted no image: resume it in the runner to score its masks."
        return ""

    def start(self) -> bool:
        """Score the shown run's masks in the background; False (and ``failed``) when it cannot be done."""
        reason = self.unavailable_reason()
        if reason:
            self.failed.emit(reason)
            return False
        preds, dataset = self.state.predictions, self.state.dataset
        generation, stop = self._begin()
        self._predictions = preds
        self.reset.emit()
        relay, listed = self._relay, self.listed

        def work() -> SuspectMasks:
            return find_suspect_masks(
                preds, dataset, listed, lambda *p: relay.progress.emit(generation, *p), stop.is_set
            )

        self._launch(work, generation)
        return True

    # -- the worker's news ----------------------------------------------------------------------
    def _on_progress(self, generation: int, stage: str, done: int, total: int) -> None:
        if self._current(generation):
            self.progress.emit(stage, done, total)

    def _finish(self, result: SuspectMasks) -> None:
        self.findings = result
        if self.state.predictions is self._predictions:
            self.state.set_label_quality(result.quality)

    def _failure_text(self, exc: Exception) -> str:
        return str(exc) if isinstance(exc, NoProbabilities) else f"{type(exc).__name__}: {exc}"

    def _on_predictions(self, predictions) -> None:
        if predictions is not self._predictions and (self.findings is not None or self._running):
            self._drop()
        self.availability_changed.emit()

    def _found_anything(self) -> bool:
        return self.findings is not None

    def _forget(self) -> None:
        self.findings, self._predictions = None, None
