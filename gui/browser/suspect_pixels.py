"""The sample view's "Suspect pixels" toggle: the pixels whose true class the run doubts, painted magenta.

For a segmentation sample with a run that kept its probabilities (the sample view reads them with the
masks), a pixel is suspect when the model's probability of its true class is under that class's confident
threshold while another class reaches its own (``core.analysis.pixel_issues.suspect_pixels``, at the
image's full resolution). The thresholds are those of the metrics pane's Label quality pass over the whole
run when it was made (``AppState.label_quality``); otherwise they come from this one image alone (the model's
mean confidence in each class it predicts there: ``image_thresholds``), and the line under the toggle says
which. Computed on a worker thread; drawn on a layer of its own above the mask.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWidget

from core.analysis.mask_quality import image_suspects, image_thresholds, truth_lookup
from core.masks.overlays import SUSPECT_FILL, suspect_colours
from gui.decoding import DecodeTask, ResultRelay, per_pixel

TIP = (
    "Paint the pixels whose true class looks wrong to the model: its probability of the true class is under\n"
    "that class's threshold (the class's mean over the run) while another class reaches its own.\n"
    "Thresholds: the Label quality pass of the metrics pane when it was made, else this image alone\n"
    "(the model's mean confidence in each class it predicts here)."
)
LAYER_Z = 1.5  # above the mask layer (1), under boxes and points


class SuspectPixels(QWidget):
    """The toggle and its layer on ``view``'s image (``view``: the SampleView: dataset, predictions, masks)."""

    def __init__(self, view, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.quality = None  # the run's label-quality pass (core.analysis.mask_quality.RunLabelQuality)
        self.found = None  # ImageSuspects of the shown sample, once computed
        self._masks = None  # the SampleMasks the layer is for
        self._request = 0
        self.check = QCheckBox("Suspect pixels", self, toolTip=TIP)
        self.check.toggled.connect(lambda _on: self.refresh())
        self.note = QLabel(self, wordWrap=True)
        self.note.setStyleSheet("color: gray")
        r, g, b, _ = SUSPECT_FILL
        self.check.setStyleSheet(f"QCheckBox {{ color: rgb({r}, {g}, {b}); font-weight: bold }}")
        layout = QVBoxLayout(self)  # the note under the toggle, as wide as the view: one line, not four
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.check)
        layout.addWidget(self.note)
        self.layer = None  # the canvas's view makes it (it is made with the first image)
        view.canvas.when_view_made(self._add_layer)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._relay = ResultRelay(self)
        self._relay.done.connect(self._on_done)
        view.masks.overlay_changed.connect(self._on_masks)
        self.hide()

    # -- inputs ------------------------------------------------------------------------------
    def _add_layer(self) -> None:
        from gui.browser.canvas_view import PixelImageItem  # with the canvas's view: pyqtgraph is imported

        self.layer = PixelImageItem(axisOrder="row-major", autoDownsample=True)
        self.layer.setZValue(LAYER_Z)
        self.layer.setVisible(False)
        self.view.canvas.box.addItem(self.layer)

    def set_quality(self, quality) -> None:
        """The run's label-quality pass (None: none made, or it was of another run)."""
        self.quality = quality
        if self.check.isChecked():
            self.refresh()

    def _on_masks(self) -> None:
        masks = self.view.masks.masks
        if masks is self._masks:
            return  # only the mode or the style changed
        self._masks = masks
        self._clear()
        dataset = self.view.dataset
        usable = dataset is not None and per_pixel(dataset) and self.view.predictions is not None
        self.setVisible(usable and masks.truth is not None and masks.probabilities is not None)
        if self.isVisible() and self.check.isChecked():
            self.refresh()

    def refresh(self) -> None:
        """Compute (on the worker) and draw the suspect pixels of the shown sample; or take them away."""
        self._request += 1
        masks = self._masks
        if not self.check.isChecked() or masks is None or masks.truth is None or masks.probabilities is None:
            self._clear()
            return
        self.note.setText("finding the suspect pixels…")
        request, quality = self._request, self.quality
        dataset, predictions = self.view.dataset, self.view.predictions
        work = lambda: _suspects(masks, dataset, predictions, quality)  # noqa: E731
        wanted = lambda: request == self._request  # noqa: E731
        self.pool.start(DecodeTask(self._relay, request, 0, work, wanted))

    def shutdown(self) -> None:
        self._request += 1
        self.pool.waitForDone()

    # -- internals -----------------------------------------------------------------------------
    def _clear(self) -> None:
        self.found = None
        if self.layer is not None:
            self.layer.clear()
            self.layer.setVisible(False)
        self.note.clear()

    def _on_done(self, request: int, _key: int, result, error: str) -> None:
        if request != self._request:
            return
        if result is None:
            self._clear()
            self.note.setText(f"⚠ {error}")
            return
        found, rgba, from_pass = result
        image = self.view.canvas.image
        if image is None or image.shape[:2] != rgba.shape[:2]:
            return
        self.found = found
        self.layer.setImage(rgba, autoLevels=False, levels=(0, 255))
        self.layer.setVisible(True)
        self.note.setText(self._describe(found, from_pass))

    def _describe(self, found, from_pass: bool) -> str:
        source = "thresholds: Label quality pass" if from_pass else "thresholds: this image alone"
        self.note.setToolTip(
            "The confident thresholds of the metrics pane's Label quality pass over the whole run"
            if from_pass
            else "No Label quality pass over this run yet (Metrics › Label quality): the thresholds are the\n"
            "model's mean confidence in each class it predicts in this image"
        )
        if not found.count:
            return f"no suspect pixel · {source}"
        classes = self.view.predictions.classes
        given, seen = classes[found.given], classes[found.suggested]
        return f"{found.count:,} pixels labeled {given}, the model sees {seen} · {source}"


def _suspects(masks, dataset, predictions, quality):
    """(ImageSuspects, RGBA layer, whether the pass's thresholds were used): runs on the worker thread."""
    lookup = truth_lookup(predictions, dataset)
    truth = np.asarray(masks.truth)
    if lookup is not None:
        truth = lookup[np.clip(truth, 0, 255).astype(np.uint8)]
    pixels = masks.probabilities
    from_pass = quality is not None and len(quality.thresholds) == pixels.probabilities.shape[0]
    thresholds = quality.thresholds if from_pass else image_thresholds(pixels.probabilities)
    found = image_suspects(truth, pixels, thresholds)
    return found, np.ascontiguousarray(suspect_colours(found.mask)), from_pass
