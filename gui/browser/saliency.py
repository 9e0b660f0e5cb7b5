"""The sample view's saliency maps: where the run's model looked in the shown image (the Grad-CAM family).

One switch (the "Saliency" button, key G) and the maps follow the sample: for a classifier the predicted
and the true class side by side (one map when they agree), for a multilabel model the tag chosen (predicted
tags first), for a segmenter the region of the class chosen. The maps are drawn by ``core.explain`` on this
panel's own worker thread (the model is loaded there once, then cached); only the latest request is shown,
and a failure is a line of text here, never a crash.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QThreadPool, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget

from core.datasets import Dataset
from core.evaluation.decisions import predicted_classes, predicted_tags
from core.explain.heat import heat_rgba
from core.explain.runs import (
    METHOD_TITLES,
    NO_RUN,
    MapSpec,
    ModelCache,
    SampleMaps,
    card_for_run,
    classifier_specs,
    explain_sample,
    model_class,
    region_spec,
    tag_specs,
)
from core.masks.overlays import background_classes
from gui.browser.mask_info import SampleMasks
from gui.decoding import DecodeTask, ResultRelay, per_pixel
from gui.flow_layout import FlowLayout
from gui.workers import import_torch

ERROR_COLOR = "#da3633"
#: Methods that read the activations alone: their map is the same whatever the class asked.
CLASS_AGNOSTIC = {"eigencam", "kpcacam"}
#: The key that switches the maps on and off (listed in Help > Keyboard Shortcuts under "Sample view").
SALIENCY_KEY = "G"


class SaliencyPanel(QWidget):
    """The controls (switch, method, class or tag, opacity), the status line and the worker behind them."""

    maps_changed = Signal()  # what the canvases should show changed: maps came, went, or the switch moved

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self.predictions = None
        self.threshold = None
        self.index: int | None = None
        self.image: np.ndarray | None = None
        self.masks = SampleMasks()
        self.shown: SampleMaps | None = None  # the maps of the shown sample, once computed
        self.cache = ModelCache()
        self._cards: dict[str, object] = {}  # the cards of the runs seen, by name (checkpoints resolve nowhere else)
        self._request = 0
        self._asked: tuple | None = None  # what the latest request asked: the same question is not asked twice
        self._loaded: set[str] = set()  # the models whose maps came back once (loaded, in the cache)
        self._layers_of = ""  # the model whose layers the layer chooser lists
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._relay = ResultRelay(self)
        self._relay.done.connect(self._on_done)
        self._build()

    def _build(self) -> None:
        self.action = QAction("Saliency Maps", self, checkable=True)
        self.action.setToolTip(f"Where the model looked in this image: Grad-CAM and its family ({SALIENCY_KEY})")
        self.action.setIconText("Saliency")  # the button's text; Help lists the action's
        self.action.setShortcut(SALIENCY_KEY)
        self.action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.action.toggled.connect(self._on_toggled)
        self.action.setProperty("help_group", "Sample view")  # gui.labeling.actions.HELP_GROUP: its row in Help
        self.toggle = QToolButton(self)
        self.toggle.setDefaultAction(self.action)
        self.method = QComboBox(self)
        for name, (title, tip) in METHOD_TITLES.items():
            self.method.addItem(title, name)
            self.method.setItemData(self.method.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.method.setToolTip("How the map is computed (Grad-CAM: the class's gradients weight the last feature maps)")
        self.method.currentIndexChanged.connect(lambda _: self.refresh())
        self.layer = QComboBox(self)
        self.layer.setToolTip(
            "The layer whose feature maps the method weights: by default the last one that keeps a spatial layout; "
            "earlier layers give finer maps that carry less of the class"
        )
        self.layer.currentIndexChanged.connect(lambda _: self.refresh())
        self.target = QComboBox(self)
        self.target.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # "Tag cat: predicted, true"
        self.target.currentIndexChanged.connect(lambda _: self.refresh())
        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setRange(10, 100)
        self.opacity.setValue(80)
        self.opacity.setFixedWidth(80)
        self.opacity.setToolTip("Opacity of the maps over the image")
        self.opacity_label = QLabel("Opacity", self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        controls = QWidget(self)
        row = FlowLayout(controls, spacing=2)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.toggle, self.method, self.target, self.layer, self.opacity_label, self.opacity):
            row.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(controls)
        layout.addWidget(self.status)
        self._show_controls()

    # -- what the sample view calls ----------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.action.isChecked()

    def set_dataset(self, dataset: Dataset | None) -> None:
        self.dataset, self.predictions, self.threshold = dataset, None, None
        self.leave()

    def set_run(self, predictions, threshold=None) -> None:
        """The run (and the decision threshold) the maps explain; asked again only if the shown sample's maps
        change (a run fills its predictions batch by batch)."""
        self.predictions, self.threshold = predictions, threshold
        if self.active and [self.target.itemData(k) for k in range(self.target.count())] != self._target_specs():
            self._fill_targets()  # the run reached the shown sample: its predicted tags come first now
        self.refresh()

    def remember_card(self, card) -> None:
        """The card of a run the runner made: a checkpoint's card is found nowhere else."""
        if card is not None and self._cards.get(card.name) is not card:  # a run's start and end say the same
            self._cards[card.name] = card
            self._asked = None
            self.refresh()

    def show_sample(self, index: int, image: np.ndarray | None, masks: SampleMasks | None = None) -> None:
        """The sample shown (its decoded image and, for segmentation, its masks): its maps, if the switch is on."""
        self.index, self.image, self.masks = index, image, masks or SampleMasks()
        if self.active:
            self._fill_targets()
        self.refresh()

    def leave(self) -> None:
        """The shown sample goes (another is being read): its maps are dropped, a pending request goes stale."""
        self._request += 1
        self.index, self.image, self.masks, self.shown, self._asked = None, None, SampleMasks(), None, None
        self.status.clear()
        self.maps_changed.emit()

    def layers(self) -> list[tuple[np.ndarray | None, str]]:
        """(RGBA heat layer or None, caption) per map of the shown sample; empty while none is shown."""
        if not self.active or self.shown is None:
            return []
        return [
            (heat_rgba(cam) if cam is not None else None, spec.caption if not note else f"{spec.caption}: {note}")
            for spec, cam, note in zip(self.shown.specs, self.shown.maps, self.shown.notes)
        ]

    def shutdown(self) -> None:
        self._request += 1
        self.pool.waitForDone()

    # -- asking for maps ---------------------------------------------------------------------
    def refresh(self) -> None:
        """Ask for the shown sample's maps if the switch is on and the question changed."""
        self._show_controls()
        if not self.active or self.index is None or self.image is None or self.dataset is None:
            return
        model = getattr(self.predictions, "model", "") if self._usable() else ""
        specs, why = self._specs() if model else ([], NO_RUN)
        if not specs:
            self._drop()
            return self._say(why)
        if model != self._layers_of:  # another model: its own automatic layer
            self._fill_layers([], model)
        method, layer = self.method.currentData(), self.layer.currentData()
        question = (self.index, id(self.image), tuple(specs), method, layer, model)
        if question == self._asked:
            return
        self._asked, self.shown = question, None
        self._request += 1
        self.maps_changed.emit()
        self._start(model, specs, method, layer)

    def _start(self, model: str, specs: list[MapSpec], method: str, layer: str | None) -> None:
        request, image, cache, cards = self._request, self.image, self.cache, list(self._cards.values())

        def work() -> SampleMaps:
            import_torch()
            return explain_sample(cache, card_for_run(model, cards), image, specs, method, layer)

        loading = "" if model in self._loaded else " (the first map loads the model)"
        self._say(f"Computing {self.method.currentText()}…{loading}")
        wanted = lambda: request == self._request  # noqa: E731
        self.pool.start(DecodeTask(self._relay, request, self.index, work, wanted))

    def _on_done(self, request: int, _index: int, result, error: str) -> None:
        if request != self._request:  # the user moved on meanwhile: only the latest request is shown
            return
        if result is None:
            self._asked = None  # the same question may be asked again (after a fix, another method)
            self._say(error, error=True)
            return
        self.shown = result
        self._loaded.add(self._asked[-1])
        if self.layer.count() <= 1:
            self._fill_layers(result.layers, self._asked[-1], result.layer)
        notes = [note for note in result.notes if note]
        if result.method in CLASS_AGNOSTIC and len(result.specs) > 1:
            notes.append(f"{self.method.currentText()} gives the same map for every class")
        notes = "; ".join(notes)
        self._say(
            f"{self.method.currentText()} of {result.model} at layer “{result.layer}”: red is where it looked"
            + (f". {notes}" if notes else "")
        )
        self.maps_changed.emit()

    # -- what to explain ------------------------------------------------------------------------
    def _usable(self) -> bool:
        p, d = self.predictions, self.dataset
        # Detectors are not explained by these maps (they answer with boxes, not one score per class).
        return p is not None and d is not None and not d.has_boxes and len(p) == len(d)

    def _specs(self) -> tuple[list[MapSpec], str]:
        """The maps to ask for the shown sample, or none and why."""
        p, i = self.predictions, self.index
        if i in p.errors:
            return [], f"The model could not read this sample: {p.errors[i]}"
        if not p.done[i]:
            return [], "This sample has no prediction yet: its maps come once the run reached it"
        if per_pixel(self.dataset) or self.dataset.tags is not None:
            chosen = self.target.currentData()
            return ([chosen], "") if chosen is not None else ([], "Nothing to explain in this sample")
        predicted = int(predicted_classes(p, self.threshold)[i])
        true = None
        if self.dataset.targets is not None and int(self.dataset.targets[i]) >= 0:
            true = model_class(p.classes, self.dataset.classes[int(self.dataset.targets[i])])
        return classifier_specs(p.classes, predicted, true, p.scores[i]), ""

    def _target_specs(self) -> list[MapSpec]:
        """What the class (tag) chooser offers for the shown sample."""
        d, i, p = self.dataset, self.index, self.predictions
        if d is None or i is None:
            return []
        run = p if self._usable() and p.done[i] else None
        if d.tags is not None:
            scores = run.scores[i] if run is not None else None
            predicted = predicted_tags(run, self.threshold)[i] if run is not None else None
            return tag_specs(d.classes, predicted, d.tags[i], scores)
        if per_pixel(d):
            return self._region_specs()
        return []

    def _region_specs(self) -> list[MapSpec]:
        """The classes in the sample's predicted or true mask (the background last), each a region to explain."""
        classes, masks = self.dataset.classes, self.masks
        present = set()
        for mask in (masks.predicted, masks.truth):
            if mask is not None:
                present |= {int(c) for c in np.unique(mask) if 0 <= c < len(classes)}
        background = set(background_classes(classes))
        order = sorted(present - background) + sorted(present & background)
        return [region_spec(classes, c, masks.predicted) for c in order]

    def _fill_targets(self) -> None:
        """Refill the class (tag) chooser for the shown sample, keeping the class chosen when it is there."""
        specs = self._target_specs()
        before = self.target.currentData()
        self.target.blockSignals(True)
        self.target.clear()
        for spec in specs:
            self.target.addItem(spec.caption, spec)
        names = [spec.class_name for spec in specs]
        keep = names.index(before.class_name) if before is not None and before.class_name in names else 0
        self.target.setCurrentIndex(keep if specs else -1)
        self.target.blockSignals(False)
        pixels = self.dataset is not None and per_pixel(self.dataset)
        self.target.setToolTip(
            "The class whose region is explained: the pixels the model predicts as that class"
            if pixels
            else "The tag explained (the predicted tags first, then the true ones the model missed)"
        )

    def _fill_layers(self, layers: list[str], model: str, auto: str = "") -> None:
        """The layer chooser for ``model``: the automatic choice, then its layers (the outer ones: a block's
        inner convolutions would make the list hundreds long), the last first."""
        self._layers_of = model
        self.layer.blockSignals(True)
        self.layer.clear()
        self.layer.addItem(f"Layer: auto ({auto})" if auto else "Layer: auto", None)
        for name in layers:
            if name.count(".") <= 1:
                self.layer.addItem(f"Layer: {name}", name)
        self.layer.blockSignals(False)
        self._show_controls()

    # -- showing ---------------------------------------------------------------------------------
    def _on_toggled(self, on: bool) -> None:
        self._asked = None
        if on:
            self._fill_targets()
            self.refresh()
        else:
            self._request += 1
            self.shown = None
            self.status.clear()
            self._show_controls()
        self.maps_changed.emit()

    def _show_controls(self) -> None:
        on = self.active
        self.method.setVisible(on)
        self.opacity.setVisible(on)
        self.opacity_label.setVisible(on)
        self.layer.setVisible(on and self.layer.count() > 1)
        self.target.setVisible(on and self.target.count() > 0)
        self.status.setVisible(on and bool(self.status.text()))

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(f"⚠ {text}" if error else text)
        self.status.setStyleSheet(f"color: {ERROR_COLOR}" if error else "")
        self._show_controls()

    def _drop(self) -> None:
        """Nothing to ask for the shown sample: maps of an earlier question go, a pending one goes stale."""
        self._asked = None
        if self.shown is not None:
            self._request += 1
            self.shown = None
            self.maps_changed.emit()
