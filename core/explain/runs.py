"""Saliency maps of a run's model for one sample, as the sample view asks for them.

A run's predictions name their model (``Predictions.model``: the card's name). :func:`card_for_run` finds the
card again: among the cards the caller knows (the runner's, for a checkpoint the user opened: its name is the
file's stem, which nothing else resolves), else as a bundled or torchvision model's name.

What to explain is said in the run's words: a class name and why it is asked (:class:`MapSpec`: the predicted
class, the true class, a tag, a segmenter's class region). The run's classes can be the model's own or,
run through a class map, the dataset's; a spec is matched to the model's class of the same name, and a class
the model does not have gets no map and a note saying so.

:class:`ModelCache` keeps the last models prepared for saliency (per card, weights file and device), so moving
from sample to sample costs only the maps. Everything here is called on a worker thread.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.explain.layers import trace
from core.explain.maps import Explainable, explainable, saliency_maps
from core.models.cards import ModelCard, ModelError
from core.models.loading import resolve_model

#: What a view says when there is no run to explain.
NO_RUN = "Run a model to see what it looks at"

#: The methods of :data:`core.explain.METHODS` in the user's words: name -> (title, what it does).
METHOD_TITLES = {
    "gradcam": ("Grad-CAM", "The class's gradients, averaged per channel, weight the last feature maps"),
    "gradcam++": ("Grad-CAM++", "Like Grad-CAM with higher-order gradient weights: better with several objects"),
    "hirescam": ("HiResCAM", "Gradients times activations per pixel: follows exactly what raised the score"),
    "xgradcam": ("XGrad-CAM", "Grad-CAM with the gradients weighted by the activations"),
    "layercam": ("LayerCAM", "Per-pixel positive gradients: finer maps, follows a segmenter's region"),
    "eigencam": ("EigenCAM", "The first principal component of the feature maps: the same map for every class"),
    "eigengradcam": ("EigenGrad-CAM", "The first principal component of gradients times activations"),
    "gradcam-elementwise": ("Grad-CAM element-wise", "Gradients times activations, ReLU per element"),
    "scorecam": ("Score-CAM (slow)", "Each feature map masks the image; the score it keeps weights it (a pass each)"),
    "ablationcam": ("Ablation-CAM (slow)", "How much the score drops when a feature map is removed (a pass each)"),
    "kpcacam": ("KPCA-CAM", "Kernel PCA of the feature maps: the same map for every class"),
}

PREDICTED, TRUE, PREDICTED_AND_TRUE, TAG, REGION = "predicted", "true", "predicted and true", "tag", "region"


@dataclass(frozen=True)
class MapSpec:
    """One map to draw: the class (or tag) by its name in the run, why it is asked, what the run gave it.

    ``role``: PREDICTED, TRUE, PREDICTED_AND_TRUE, TAG or REGION. ``score``: the run's score of the class
    (a tag's sigmoid; for a region, the share of the image's pixels predicted as the class). ``note``: the
    tag's standing ("predicted, not true")."""

    class_name: str
    role: str
    score: float | None = None
    note: str = ""

    @property
    def caption(self) -> str:
        """The map's title in the view: "Predicted: 3 (91.2%)", "Tag cat: predicted, true (0.93)"."""
        score = "" if self.score is None else f" ({self.score:.1%})"
        if self.role == TAG:
            score = "" if self.score is None else f" ({self.score:.2f})"
            return f"Tag {self.class_name}: {self.note}{score}" if self.note else f"Tag {self.class_name}{score}"
        if self.role == REGION:
            share = "" if self.score is None else f", predicted on {self.score:.1%} of the image"
            return f"Region of {self.class_name}{share}"
        return f"{self.role.capitalize()}: {self.class_name}{score}"


def classifier_specs(classes: Sequence[str], predicted: int, true: int | None, scores: np.ndarray) -> list[MapSpec]:
    """The maps of a classified sample: the predicted and the true class side by side, one map when they agree
    or when the sample has no label (``true`` None or negative); none before it is predicted (``predicted`` < 0)."""
    if predicted < 0:
        return []

    def score(c: int) -> float | None:
        value = float(scores[c]) if c < len(scores) else float("nan")
        return None if np.isnan(value) else value

    if true is None or true < 0 or true >= len(classes):
        return [MapSpec(classes[predicted], PREDICTED, score(predicted))]
    if true == predicted:
        return [MapSpec(classes[predicted], PREDICTED_AND_TRUE, score(predicted))]
    return [MapSpec(classes[predicted], PREDICTED, score(predicted)), MapSpec(classes[true], TRUE, score(true))]


def tag_specs(
    classes: Sequence[str], predicted: np.ndarray | None, true: np.ndarray | None, scores: np.ndarray | None
) -> list[MapSpec]:
    """One map per tag that is predicted or true (any of the three may be None: no run, no labels), the
    predicted tags first, most confident first; the true ones the model missed after them."""
    n = len(classes)
    predicted = np.zeros(n, bool) if predicted is None else np.asarray(predicted) > 0
    true = np.zeros(n, bool) if true is None else np.asarray(true) > 0
    values = np.full(n, np.nan) if scores is None else np.asarray(scores, dtype=np.float64)
    order = sorted(np.flatnonzero(predicted | true), key=lambda c: (not predicted[c], -np.nan_to_num(values[c])))
    specs = []
    for c in order:
        standing = "predicted, true" if predicted[c] and true[c] else "predicted, not true" if predicted[c] else ""
        standing = standing or ("true, missed" if scores is not None else "true")
        score = None if np.isnan(values[c]) else float(values[c])
        specs.append(MapSpec(classes[c], TAG, score, standing))
    return specs


def region_spec(classes: Sequence[str], class_index: int, predicted_mask: np.ndarray | None = None) -> MapSpec:
    """The map of a segmenter's region of one class; with the run's predicted mask, the region's share of it."""
    share = None
    if predicted_mask is not None and predicted_mask.size:
        share = float((np.asarray(predicted_mask) == class_index).mean())
    return MapSpec(classes[class_index], REGION, share)


# -- which model ------------------------------------------------------------------------------------------
def card_for_run(model: str, candidates: Iterable[ModelCard] = ()) -> ModelCard:
    """The card of the model a run names (``Predictions.model``): one of ``candidates`` of that name (a model
    the user opened), else a bundled or torchvision model of that name. ModelError saying what to do when
    there is no run (``model`` empty) or the model cannot be found again."""
    if not model:
        raise ModelError(NO_RUN)
    for card in candidates:
        if card is not None and card.name == model:
            return card
    try:
        return resolve_model(model)
    except ModelError as exc:
        raise ModelError(
            f"the model {model!r} of this run is not known any more ({exc}). Open it in the runner and run it "
            "again to see what it looks at"
        ) from None


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name)).strip().casefold()


def model_class(model_classes: Sequence[str], name: str) -> int | None:
    """The index of the model's class called ``name`` (spaces, dashes, underscores and case aside); None when
    the model has none of that name."""
    if name in model_classes:
        return list(model_classes).index(name)
    wanted = _norm(name)
    return next((k for k, c in enumerate(model_classes) if _norm(c) == wanted), None)


class ModelCache:
    """The last ``size`` models made ready for saliency maps, by card, weights file and device.

    Safe to share between threads: a model is built under the lock, so two requests never build it twice."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self._models: OrderedDict[tuple, tuple[Explainable, list[str]]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(card: ModelCard) -> tuple:
        """What makes a loaded model the same: the card's name and architecture, its weights file as it is now,
        the device (the CPU: a map is one image, and the GPU stays free for runs)."""
        path = card.weights_path
        stamp = None
        if path is not None and path.is_file():
            stat = path.stat()
            stamp = (str(path), stat.st_mtime_ns, stat.st_size)
        return card.name, card.architecture, tuple(card.classes), stamp, "cpu"

    def get(self, card: ModelCard) -> Explainable:
        """The model of ``card``, ready for :func:`core.explain.saliency_maps` (built once; ModelError for
        TorchScript and ONNX before anything is loaded)."""
        return self._entry(card)[0]

    def layers(self, card: ModelCard) -> list[str]:
        """The layers of the model of ``card`` a map can be read from (:func:`spatial_layers`, found once)."""
        return self._entry(card)[1]

    def _entry(self, card: ModelCard) -> tuple[Explainable, list[str]]:
        key = self.key(card)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            prepared = explainable(card)
            self._models[key] = prepared, spatial_layers(prepared)
            while len(self._models) > self.size:
                self._models.popitem(last=False)
            return self._models[key]

    def __contains__(self, card: ModelCard) -> bool:
        return self.key(card) in self._models


def spatial_layers(prepared: Explainable) -> list[str]:
    """The layers a map can be read from: those whose output keeps a spatial layout (N x C x h x w, h and w > 1),
    the last first (the automatic choice is near the top; the first layers give fine maps with little class
    information)."""
    import torch

    height, width = prepared.card.input_size
    parameter = next(prepared.module.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    finished, _ = trace(prepared.module, torch.zeros(1, prepared.card.channels, height, width, device=device))
    return list(dict.fromkeys(t.name for t in reversed(finished) if t.spatial))  # a module run twice: once


@dataclass
class SampleMaps:
    """The maps of one sample: per spec a map (float32 H x W in [0, 1]) or None with the reason in ``notes``."""

    specs: list[MapSpec]
    maps: list[np.ndarray | None]
    notes: list[str]
    model: str  # the card's name as the user knows it
    layer: str  # the layer the maps weight
    method: str
    layers: list[str] = field(default_factory=list)  # the layers the maps could be read from (spatial_layers)


def explain_sample(
    cache: ModelCache,
    card: ModelCard,
    image: np.ndarray,
    specs: Sequence[MapSpec],
    method: str = "gradcam",
    layer: str | None = None,
) -> SampleMaps:
    """The maps of ``specs`` on ``image`` by the model of ``card`` (from ``cache``), in one batched pass, read
    from ``layer`` (a name of :func:`spatial_layers`; None: the last spatial one).

    A spec whose class the model does not have gets None and a note; ModelError for a model without hooks or
    gradients (TorchScript, ONNX), without a spatial layer or without ``layer``, ValueError for an unknown
    method."""
    prepared = explainable(cache.get(card), layer=layer)
    classes = card.classes
    targets = [model_class(classes, spec.class_name) for spec in specs]
    asked = [k for k, target in enumerate(targets) if target is not None]
    maps: list[np.ndarray | None] = [None] * len(specs)
    if asked:
        drawn = saliency_maps(prepared, image, [targets[k] for k in asked], method)
        for k, cam in zip(asked, drawn):
            maps[k] = cam
    notes = [
        "" if t is not None else f"the model {card.display_name} has no class {s.class_name!r}"
        for s, t in zip(specs, targets)
    ]
    layers = cache.layers(card)
    return SampleMaps(list(specs), maps, notes, card.display_name, prepared.layer_name, method, layers)
