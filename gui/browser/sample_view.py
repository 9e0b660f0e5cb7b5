"""One sample, large: a zoomable image (with its mask for segmentation), id, label, prediction, metadata.

The image, the true mask and the predicted mask (from the prediction source, when one is set)
are read on a worker thread; only the latest request's result is shown. With a segmentation run
the truth and the prediction can be compared side by side or by swiping, and a table under the
image gives this image's IoU and Dice per class. With saliency on (:mod:`gui.browser.saliency`), the
canvases show where the run's model looked instead of the masks.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.datasets import Dataset
from core.evaluation.selection import TRUTH
from core.inference import Predictions
from core.labels.marks import label_text
from core.masks.overlays import OverlayStyle
from core.tasks.outcomes import segmentation_run
from gui.browser.boxes import (
    TRUTH_KIND,
    DrawnBox,
    SampleObjects,
    detection_run,
    image_boxes,
    mask_overlay,
    read_objects,
)
from gui.browser.compare import OVERLAY, SIDE_BY_SIDE, CompareCanvases
from gui.browser.image_scores import ImageScores
from gui.browser.mask_panel import MaskPanel, PredictionSource, SampleMasks
from gui.browser.saliency import SaliencyPanel
from gui.browser.sample_info import classification_summary, meta_marks, meta_text, multilabel_summary, usable
from gui.browser.sample_parts import Details, make_label, read_sample
from gui.browser.score_bars import TagScores, TopKBars
from gui.browser.suspect_pixels import SuspectPixels
from gui.decoding import DecodeTask, ResultRelay, per_pixel
from gui.state import DEFAULT_SCORE_THRESHOLD


class SampleView(QWidget):
    """Shows the sample the user selected; decoding happens on a worker thread."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self.predictions: Predictions | None = None
        self.threshold = None
        self.index: int | None = None
        self.style = OverlayStyle()
        self._source: PredictionSource | None = None
        self._request = 0
        self._read_predicted = False  # the shown sample was read after the run predicted it
        # The object tasks: the score below which detections hide, how masks are drawn, the object to highlight
        # ((sample, (source, object)) until another sample is shown), and what the worker read of the objects.
        self.score_threshold = DEFAULT_SCORE_THRESHOLD
        self.mask_mode = "outlines"
        self._highlight: tuple[int, tuple[int, int]] | None = None
        self._objects: SampleObjects | None = None
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._relay = ResultRelay(self)
        self._relay.done.connect(self._on_loaded)
        # Not a debounce: a grace period. "loading…" shows only if the sample is still loading after 150 ms,
        # and the result stops it; a debouncer's pending call would need the same start/stop.
        self._loading_timer = QTimer(self, singleShot=True, interval=150)
        self._loading_timer.timeout.connect(lambda: self.canvases.show_image(None, "loading…"))

        self.canvases = CompareCanvases(self)
        self.canvas = self.canvases.canvas  # the one image, or the truth's side when comparing
        self.masks = MaskPanel(self)
        self.saliency = SaliencyPanel(self)
        self.scores = ImageScores(self)
        self.suspect = SuspectPixels(self, self)  # the "Suspect pixels" toggle (label quality), its own layer
        self.title = make_label(self, bold=True)
        self.path = make_label(self, small=True)
        self.label = make_label(self)
        self.prediction = make_label(self)
        self.topk = TopKBars(self)
        self.tags = TagScores(self)
        self.meta = make_label(self, small=True)
        self._lay_out()
        self.canvases.hovered.connect(self.masks.show_hover)
        self.masks.overlay_changed.connect(self._draw_overlay)
        self.saliency.maps_changed.connect(self._draw_overlay)
        self.saliency.opacity.valueChanged.connect(self._saliency_opacity)
        self.clear()

    def _lay_out(self) -> None:
        details = QWidget(self)
        details_layout = QVBoxLayout(details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.title, self.path, self.meta, self.label, self.prediction, self.topk, self.tags):
            details_layout.addWidget(widget)
        self.details = Details(details, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.canvases, 1)
        layout.addWidget(self.saliency)
        layout.addWidget(self.masks)
        layout.addWidget(self.suspect)
        layout.addWidget(self.scores)
        layout.addWidget(self.details)

    def resizeEvent(self, event) -> None:
        # The words never take more than ~40% of the height: 40 CelebA tags scroll, the image stays large.
        self.details.setMaximumHeight(max(80, int(self.height() * 0.4)))
        super().resizeEvent(event)

    # -- what the pane calls --------------------------------------------------------------
    def clear(self, text: str = "Click a thumbnail to see the sample here") -> None:
        self.index = None
        self._request += 1
        self._loading_timer.stop()
        self.canvases.show_image(None, text)
        self.saliency.leave()
        self.masks.set_masks(SampleMasks())
        self.scores.hide()
        for label in (self.title, self.path, self.label, self.prediction, self.meta):
            label.clear()
        self.meta.hide()
        self.topk.set_rows([])
        self.tags.set_rows([])
        self.details.refit()

    def set_dataset(self, dataset: Dataset | None) -> None:
        self.dataset, self.predictions, self.threshold = dataset, None, None
        self.masks.set_dataset(dataset)
        self.saliency.set_dataset(dataset)
        boxes = dataset is not None and dataset.has_boxes
        if boxes and self.saliency.active:
            self.saliency.action.setChecked(False)
        self.saliency.setVisible(not boxes)  # the maps explain classifiers and segmenters, not detectors
        self.saliency.action.setEnabled(not boxes)
        self._show_mask_panel()
        self.clear()

    def set_prediction_source(self, source: PredictionSource | None) -> None:
        """Where predicted masks come from: ``source(index) -> (mask, confidence or None) or None``.

        Called on the worker thread when a sample is shown; the current sample is read again now.
        """
        self._source = source
        if self.index is not None:
            self.show_sample(self.index)

    def set_run(self, predictions: Predictions | None, source: PredictionSource | None) -> None:
        """Another run and the prediction source that reads it, together: the shown sample is read once more."""
        self.predictions, self._source = predictions, source
        if self.index is not None:
            self.show_sample(self.index)

    def set_style(self, style: OverlayStyle) -> None:
        """How masks are drawn; an opacity change alone only fades the layer already drawn."""
        before, self.style = self.style, style
        if self.saliency.active:  # the maps are drawn, not the masks: the masks take the style for later
            self.masks.style = style
            return
        if replace(before, opacity=style.opacity) == style and self.canvases.has_overlay():
            self.canvases.set_opacity(style.opacity)
            self.masks.style = style
            return
        self.masks.set_style(style)

    def show_sample(self, index: int) -> None:
        dataset = self.dataset
        if dataset is None or not 0 <= index < len(dataset):
            return
        self.index = index
        self._request += 1
        self._objects = None
        if self._highlight is not None and self._highlight[0] != index:
            self._highlight = None
        # Say "loading" only if the decode is slow: tiny images would just flicker.
        self._loading_timer.start()
        self.saliency.leave()  # the maps of the sample before are not this one's
        request, source = self._request, self._source
        run = segmentation_run(dataset, self.predictions)
        self._read_predicted = run is not None and bool(run.done[index])
        # Arrowing through the grid queues decodes: only the latest one is worth running.
        wanted = lambda: request == self._request  # noqa: E731
        if dataset.has_boxes:
            boxes_run = detection_run(dataset, self.predictions)
            self._read_predicted = boxes_run is not None and bool(boxes_run.done[index])
            work = lambda: (*read_sample(dataset, index, source), read_objects(dataset, index, boxes_run))  # noqa: E731
        else:
            work = lambda: read_sample(dataset, index, source)  # noqa: E731
        self.pool.start(DecodeTask(self._relay, request, index, work, wanted))
        self.title.setText(dataset.sample_ids[index])
        path = dataset.sample_path(index)
        self.path.setText(str(path) if path is not None else "")
        text = meta_text(dataset.sample_meta(index), dataset.layout)
        self.meta.setText(text)
        self.meta.setVisible(bool(text))
        self.set_predictions(self.predictions)

    def set_predictions(self, predictions: Predictions | None) -> None:
        """Refresh the label and prediction lines (called per batch while a run fills them)."""
        self.predictions = predictions
        self.saliency.set_run(predictions, self.threshold)
        i, dataset = self.index, self.dataset
        if i is None or dataset is None:
            return
        if dataset.has_boxes:  # before tags: COCO's instances also tag each image with its categories
            self._show_objects(dataset, i)
            self._draw_objects()  # the run may have reached this image since it was drawn
            return
        if dataset.tags is not None:
            self._show_tags(dataset, i)
            return
        label = label_text(dataset, i)
        self.label.setText(f"Label: {label}" if label else "Label: none")
        pixels = per_pixel(dataset)
        self.label.setVisible(not pixels)  # the legend names the mask's classes
        text, color, rows = "", "", []
        if pixels:
            self._show_run(dataset, i)  # predicted masks come through the prediction source
        elif not usable(predictions, dataset):
            text = "Prediction: run a model to see one"
        else:
            text, color, rows = classification_summary(dataset, predictions, i, self.threshold)
        self._set_prediction(text, color)
        self.topk.set_rows(rows)

    def refresh_labels(self) -> None:
        """The shown sample's label was edited: say it again; an image's edited objects are read again (its boxes
        were drawn from the objects read before the save)."""
        if self.dataset is not None and self.dataset.has_boxes and self.index is not None:
            self.show_sample(self.index)
        else:
            self.set_predictions(self.predictions)

    def add_panel(self, widget: QWidget) -> None:
        """Put a panel (the labeling tools') under the sample's details, inside their scroll area."""
        self.details.widget().layout().addWidget(widget)
        self.details.refit()

    def set_score_threshold(self, threshold: float) -> None:
        """Hide detections scoring below ``threshold``; TP / FP / FN are matched again among those shown."""
        self.score_threshold = threshold
        if self.dataset is not None and self.dataset.has_boxes:
            self.set_predictions(self.predictions)  # the words and the boxes

    def set_mask_mode(self, mode: str) -> None:
        """Instance masks as "outlines", "fills" or "off"."""
        self.mask_mode = mode
        self._draw_objects()

    def set_highlight(self, index: int, source: int, object_index: int) -> None:
        """Highlight one object of sample ``index`` (ObjectRefs' terms) when that sample is shown next or now."""
        self._highlight = (index, (source, object_index))
        if self.index == index and self._objects is not None:
            self._draw_objects()

    def drawn_objects(self) -> list:
        """The boxes drawn over the shown image now (``gui.browser.boxes.DrawnBox``)."""
        return list(self.canvas.objects)

    def set_threshold(self, threshold) -> None:
        self.threshold = threshold
        self.set_predictions(self.predictions)

    def shutdown(self) -> None:
        self._request += 1
        self.pool.waitForDone()
        self.saliency.shutdown()
        self.suspect.shutdown()

    # -- internals ---------------------------------------------------------------------
    def _show_run(self, dataset: Dataset, i: int) -> None:
        """The image's scores; the sample is read again once the run predicted it (its mask is there now)."""
        run = segmentation_run(dataset, self.predictions)
        self.scores.setVisible(run is not None)
        if run is None:
            return
        palette = self.masks.palette
        colours = [None if c in self.masks.transparent else tuple(map(int, v)) for c, v in enumerate(palette)]
        self.scores.show_image(run, i, list(dataset.classes), colours)
        if run.done[i] and not self._read_predicted and self._source is not None:
            self.show_sample(i)

    def _boxes(self) -> list:
        """The shown image's boxes at the score threshold (its truth alone before the worker read it)."""
        if self._objects is None or self.index is None or self.dataset is None:
            return []
        run = detection_run(self.dataset, self.predictions)
        return image_boxes(self.dataset.classes, self._objects.truth, run, self.index, self.score_threshold)

    def _truth_box(self, highlight: tuple[int, int]):
        """The highlighted true object as a plain truth box (None-safe: nothing for a detection or a bad index)."""
        source, j = highlight
        truth = self._objects.truth
        if source != TRUTH or not 0 <= j < len(truth.classes):
            return None
        c = int(truth.classes[j])
        name = self.dataset.classes[c] if 0 <= c < len(self.dataset.classes) else str(c)
        return DrawnBox(tuple(float(v) for v in truth.boxes[j]), TRUTH_KIND, name, TRUTH, j, c)

    def _show_objects(self, dataset: Dataset, i: int) -> None:
        """The object tasks' lines: the objects by class, and the detections' TP / FP / FN at the threshold."""
        self.label.setVisible(True)
        self.topk.set_rows([])
        if self._objects is None:
            self.label.setText("Objects: reading…")
        else:
            classes = self._objects.truth.classes
            names = [dataset.classes[c] if 0 <= c < len(dataset.classes) else str(c) for c in classes]
            # "2× cat, 1× dog": a count beside a digit class's name ("3 8") read as two numbers
            counted = ", ".join(f"{names.count(n)}× {n}" for n in dict.fromkeys(names))
            self.label.setText(f"Objects: {len(classes)}" + (f" ({counted})" if counted else ""))
        run = detection_run(dataset, self.predictions)
        if run is None:
            self._set_prediction("Detections: run a model to see them", "")
        elif i in run.errors:
            self._set_prediction(f"Detections failed: {run.errors[i]}", "#da3633")
        elif not run.done[i]:
            self._set_prediction("Detections: not run yet", "")
        else:
            if self._read_predicted is False and self._objects is not None and run.masks is not None:
                self.show_sample(i)  # the run reached this image: its predicted masks are read now
                return
            drawn = self._boxes()
            kinds = [b.kind for b in drawn]
            words = " · ".join(f"{kinds.count(k)} {k}" for k in ("TP", "FP", "FN")) if self._objects else "…"
            shown = sum(1 for b in drawn if b.score is not None)
            self._set_prediction(
                f"Detections ≥ {self.score_threshold:.2f}: {shown} of {len(run.scores[i])} · {words}", ""
            )

    def _draw_objects(self) -> None:
        """The boxes (and instance masks) over the shown image, as the threshold and the mask mode say."""
        if self._objects is None or self.canvas.image is None or self.saliency.active:
            return
        drawn = self._boxes()
        highlight = self._highlight[1] if self._highlight is not None and self._highlight[0] == self.index else None
        if highlight is not None and highlight not in {(b.source, b.object) for b in drawn}:
            extra = self._truth_box(highlight)  # a found object is drawn as its detection: show it itself
            drawn += [extra] if extra is not None else []
        self.canvases.set_mode(OVERLAY)
        self.canvas.set_overlay(mask_overlay(self.canvas.image.shape[:2], drawn, self._objects, self.mask_mode))
        self.canvas.set_objects(drawn, highlight)

    def _show_tags(self, dataset: Dataset, i: int) -> None:
        count = int(dataset.tags[i].sum())
        self.label.setVisible(True)
        self.label.setText(f"Tags: {count} of {len(dataset.classes)}" if count else "Tags: none")
        text, color, rows = multilabel_summary(dataset, self.predictions, i, self.threshold)
        self._set_prediction(text, color)
        self.topk.set_rows([])
        self.tags.set_rows(rows)

    def _set_prediction(self, text: str, color: str) -> None:
        self.prediction.setText(text)
        self.prediction.setVisible(bool(text))
        self.prediction.setStyleSheet(f"color: {color}; font-weight: bold" if color else "")
        self.details.refit()

    def _on_loaded(self, request: int, index: int, result, error: str) -> None:
        if request != self._request:  # the user moved on to another sample meanwhile
            return
        self._loading_timer.stop()
        if result is None:
            self.canvases.show_image(None, f"⚠ {error}")
            self.canvas.setToolTip(error)
            self.masks.set_masks(SampleMasks())
            self.saliency.show_sample(index, None)
            return
        image, masks, *objects = result
        self.canvases.show_image(image)
        self.canvas.setToolTip(f"{image.shape[1]} × {image.shape[0]} pixels")
        boxes, points = meta_marks(self.dataset.sample_meta(index), self.dataset.layout)
        self.canvases.set_marks(boxes, points)
        self.masks.set_masks(masks)
        self.saliency.show_sample(index, image, masks)
        if objects:
            self._objects = objects[0]
            if self._objects.error:
                self.canvas.setToolTip(f"{self.canvas.toolTip()}\nmasks: {self._objects.error}")
            self._draw_objects()
            self.set_predictions(self.predictions)

    def _show_mask_panel(self) -> None:
        """The mask controls for segmentation, hidden while the maps take the canvases (they would act on nothing)."""
        pixels = self.dataset is not None and per_pixel(self.dataset)
        self.masks.setVisible(pixels and not self.saliency.active)

    def _draw_overlay(self) -> None:
        self._show_mask_panel()
        if self.saliency.active:
            self._draw_saliency()
            return
        self.canvases.set_captions(None)
        if self.dataset is not None and self.dataset.has_boxes:
            self._draw_objects()
            return
        mode = self.masks.compare_mode()
        self.canvases.set_mode(mode)
        if self.canvas.image is None:
            self.masks.overlay()  # keeps the legend in step (an error line, or nothing)
        elif mode == OVERLAY:
            self.canvases.set_overlay(self.masks.overlay(), self.style.opacity)
        else:
            self.canvases.set_pair(*self.masks.pair(), self.style.opacity)

    def _draw_saliency(self) -> None:
        """The maps in place of the masks: two side by side (zoom and pan move both), or one over the image."""
        layers = self.saliency.layers()
        opacity = self.saliency.opacity.value() / 100
        if len(layers) == 2:
            self.canvases.set_mode(SIDE_BY_SIDE)
            self.canvases.set_pair(layers[0][0], layers[1][0], opacity)
        else:
            self.canvases.set_mode(OVERLAY)
            self.canvases.set_overlay(layers[0][0] if layers else None, opacity)
        self.canvases.set_captions([caption for _, caption in layers] or None)

    def _saliency_opacity(self, value: int) -> None:
        if self.saliency.active:
            self.canvases.set_opacity(value / 100)
