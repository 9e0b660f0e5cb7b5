"""Saliency maps: where in an image a network looked for a class, with the Grad-CAM family.

The maps come from the grad-cam package (pytorch-grad-cam): a method weights the activations of one layer
(:mod:`core.explain.layers` finds it) by how much they raise the target's score. Grad-CAM (Selvaraju et al.,
2017) weights channel k by the spatial mean of the gradient, ``L = ReLU(sum_k a_k A^k)`` with
``a_k = mean_ij dy/dA^k_ij``; Grad-CAM++ and XGradCAM weight the gradients differently, LayerCAM keeps them
per pixel, ScoreCAM and AblationCAM use forward passes instead of gradients, EigenCAM takes the first
principal component of the activations (the same map whatever the target).

The target is a class index: the logit of that class for a classifier (a tag's logit for a multilabel model),
or for a segmenter the sum of that class's logits over a region: the pixels the model predicts as the class,
or a mask given at the image's resolution (pytorch-grad-cam's SemanticSegmentationTarget).

The map is computed at the model's input size, normalised to [0, 1] and brought back to the image's own
height and width; where the model sees only a centre crop, the rest of the image is 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.explain.layers import named_layer, pick_target_layer, trace
from core.inference.outputs import as_logits
from core.models.cards import ModelCard, ModelError
from core.models.loading import build_model, resolve_model
from core.models.preprocess import resize_image

#: Method names -> pytorch-grad-cam classes.
METHODS = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "hirescam": "HiResCAM",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "eigencam": "EigenCAM",
    "eigengradcam": "EigenGradCAM",
    "gradcam-elementwise": "GradCAMElementWise",
    "scorecam": "ScoreCAM",
    "ablationcam": "AblationCAM",
    "kpcacam": "KPCA_CAM",
}
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
#: A model given without its card sees the image with its shorter side scaled to this (bounded work).
DEFAULT_SIDE = 224


@dataclass
class Explainable:
    """A model ready for saliency maps: how images are prepared (``card``), the torch module, the layer read.

    Build one with :func:`explainable` to draw several maps of one model (predicted and true class, every tag)
    without loading it again.
    """

    card: ModelCard
    module: object  # torch.nn.Module
    layer_name: str
    layer: object  # the torch.nn.Module whose output the maps weight
    segmenter: bool
    num_outputs: int  # classes (channels of a segmenter's output)
    card_given: bool = True  # False: the image is prepared with defaults (see _default_card)


def explainable(model, *, card: ModelCard | None = None, layer: str | None = None) -> Explainable:
    """``model`` ready for :func:`saliency`: a bundled or torchvision model's name, a checkpoint or card path,
    a :class:`ModelCard`, a loaded torch module (``build_model``'s; pass its ``card`` so images are prepared
    as in training) or an :class:`Explainable`. ``layer`` names the layer to read ("layer4"); default: the
    last layer with a spatial output. TorchScript and ONNX models raise ModelError: they give no hooks or
    gradients."""
    if isinstance(model, Explainable):
        return model if layer is None else _with_layer(model, layer)
    card, module = _load(model, card)
    card_given = card is not None
    card = card or _default_card(module)
    x = _blank_input(card, module)
    finished, output = trace(module, x)
    output_shape = tuple(_logits(output).shape)
    if layer is None:
        chosen = pick_target_layer(finished, output_shape)
        name, target_layer = chosen.name, chosen.module
    else:
        name, target_layer = layer, named_layer(module, layer)
    segmenter = len(output_shape) == 4
    return Explainable(card, module, name, target_layer, segmenter, output_shape[1], card_given)


def _with_layer(prepared: Explainable, layer: str) -> Explainable:
    from dataclasses import replace

    return replace(prepared, layer_name=layer, layer=named_layer(prepared.module, layer))


def _load(model, card: ModelCard | None) -> tuple[ModelCard | None, object]:
    """(card, torch module) of what the caller gave; ModelError for models without hooks or gradients."""
    import torch
    from torch import nn

    if isinstance(model, (str, Path)):
        card = resolve_model(model)
    elif isinstance(model, ModelCard):
        card = model
    if card is not None and card.architecture in ("torchscript", "onnx"):
        raise _no_gradients(card.architecture)
    module = build_model(card) if isinstance(model, (str, Path, ModelCard)) else model
    if isinstance(module, torch.jit.ScriptModule):
        raise _no_gradients("torchscript")
    if not isinstance(module, nn.Module):
        raise _no_gradients("onnx" if type(module).__name__ == "OnnxModel" else type(module).__name__)
    return card, module.eval()


def _no_gradients(kind: str) -> ModelError:
    return ModelError(
        f"saliency maps need a PyTorch model whose layers can be hooked and differentiated; a {kind} model gives "
        "neither. Use the model's weights (state_dict) with its architecture instead"
    )


def _default_card(module) -> ModelCard:
    """How to prepare images for a model given without its card: the channels its first convolution takes,
    torchvision's ImageNet normalisation for colour (0.5 / 0.5 for grayscale); the size is set per image."""
    from torch import nn

    first = next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)
    channels = 1 if first is not None and first.in_channels == 1 else 3
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if channels == 3 else ([0.5], [0.5])
    side = (DEFAULT_SIDE, DEFAULT_SIDE)
    return ModelCard("model", "loaded", "multiclass", ["?"], side, channels=channels, mean=mean, std=std)


def _device(module):
    import torch

    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _blank_input(card: ModelCard, module):
    import torch

    height, width = card.input_size
    return torch.zeros(1, card.channels, height, width, device=_device(module))


def _logits(output):

    return as_logits(output)


# -- preparing the image ------------------------------------------------------------------------------
def _rgb(image: np.ndarray) -> np.ndarray:
    """H x W gray, H x W x 1, H x W x 3 or H x W x 4 uint8 -> H x W x 3 uint8."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"an image is H x W or H x W x 3, not an array of shape {image.shape}")
    return np.ascontiguousarray(image[:, :, :3]).astype(np.uint8, copy=False)


def _card_for_image(prepared: Explainable, image: np.ndarray) -> ModelCard:
    """The card, or without one the defaults at the image's aspect (shorter side DEFAULT_SIDE)."""
    if prepared.card_given:
        return prepared.card
    from dataclasses import replace

    height, width = image.shape[:2]
    scale = DEFAULT_SIDE / min(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return replace(prepared.card, input_size=size)


def _region(card: ModelCard, mask: np.ndarray) -> np.ndarray:
    """A mask at the image's resolution -> a float32 mask at the model's input (resized and cropped alike)."""

    mask = np.asarray(mask).astype(bool)
    image = np.repeat(mask[:, :, None].astype(np.uint8) * 255, 3, axis=2)
    return (resize_image(card, image)[:, :, 0] > 127).astype(np.float32)


# -- back to the image ----------------------------------------------------------------------------------
def _crop_box(card: ModelCard, height: int, width: int) -> tuple[int, int, int, int]:
    """(resized height, resized width, top, left) of the crop the model sees, as torchvision computes them."""
    if card.resize_size is None:
        return card.input_size[0], card.input_size[1], 0, 0
    short, long = sorted((height, width))
    long_side = int(card.resize_size * long / short)
    resized = (card.resize_size, long_side) if height <= width else (long_side, card.resize_size)
    crop_h, crop_w = card.input_size
    return resized[0], resized[1], round((resized[0] - crop_h) / 2.0), round((resized[1] - crop_w) / 2.0)


def to_image(card: ModelCard, cam: np.ndarray, height: int, width: int) -> np.ndarray:
    """A map at the model's input size -> float32 H x W at the image's size, in [0, 1]; 0 outside the crop."""
    import cv2

    resized_h, resized_w, top, left = _crop_box(card, height, width)
    canvas = np.zeros((resized_h, resized_w), np.float32)
    src_top, src_left = max(0, -top), max(0, -left)  # a crop larger than the image: torchvision pads
    dst_top, dst_left = max(0, top), max(0, left)
    rows = min(cam.shape[0] - src_top, resized_h - dst_top)
    cols = min(cam.shape[1] - src_left, resized_w - dst_left)
    seen = cam[src_top : src_top + rows, src_left : src_left + cols]
    canvas[dst_top : dst_top + rows, dst_left : dst_left + cols] = seen
    out = np.clip(cv2.resize(canvas, (width, height), interpolation=cv2.INTER_LINEAR), 0.0, None)
    peak = float(out.max())
    if peak > 0:  # shrinking blurs the peak below 1: the most salient pixel of the image is 1 again
        out /= peak
    return out.astype(np.float32, copy=False)


# -- the maps ------------------------------------------------------------------------------------------------
def _cam_class(method: str):
    if method not in METHODS:
        raise ValueError(f"unknown saliency method {method!r}; known: {', '.join(METHODS)}")
    import pytorch_grad_cam

    _quiet(pytorch_grad_cam)
    return getattr(pytorch_grad_cam, METHODS[method])


def _quiet(package) -> None:
    """ScoreCAM and AblationCAM draw a tqdm bar on stderr for every map: a library prints nothing here."""
    from types import SimpleNamespace

    silent = SimpleNamespace(tqdm=lambda iterable, *args, **kwargs: iterable)
    for name in ("score_cam", "ablation_cam"):
        module = getattr(package, name, None)
        if module is not None and hasattr(module, "tqdm"):
            module.tqdm = silent


def _scores_module(module):
    """``module`` wrapped to return its class scores (a torchvision segmenter's "out", Inception's first output):
    what pytorch-grad-cam's targets read."""
    from torch import nn

    class Scores(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return _logits(self.inner(x))

    return Scores(module)


class _PredictedClass:
    """The score of the class the model predicts for the image, read from the same forward pass."""

    def __call__(self, output):
        if output.shape[0] == 1:  # one-logit binary head: the logit, or its negative for class 0
            return output[0] if output[0] > 0 else -output[0]
        return output[output.argmax()]


class _PredictedRegion:
    """A segmenter's scores of ``category`` summed over the pixels it predicts as that class (read from the same
    forward pass); over the whole image when it predicts none."""

    def __init__(self, category: int) -> None:
        self.category = category

    def __call__(self, output):
        region = (output.argmax(dim=0) == self.category).to(output.dtype)
        if not bool(region.any()):
            region = region.new_ones(region.shape)
        return (output[self.category] * region).sum()


def _targets(prepared: Explainable, targets: list[int | None], masks: list[np.ndarray | None], card: ModelCard):
    """pytorch-grad-cam target objects, one per map."""
    from pytorch_grad_cam.utils.model_targets import (
        BinaryClassifierOutputTarget,
        ClassifierOutputTarget,
        SemanticSegmentationTarget,
    )

    if not prepared.segmenter:
        if prepared.num_outputs == 1:  # one-logit binary head: class 1 is the logit, class 0 its negative
            return [_PredictedClass() if t is None else BinaryClassifierOutputTarget(t) for t in targets]
        return [_PredictedClass() if t is None else ClassifierOutputTarget(t) for t in targets]
    out = []
    for target, mask in zip(targets, masks):
        region = _region(card, mask) if mask is not None else None
        if region is not None and region.any():
            out.append(SemanticSegmentationTarget(target, region))
        else:  # a given mask that the model's crop leaves empty counts as no mask
            out.append(_PredictedRegion(target))
    return out


def _check_targets(prepared: Explainable, targets: list[int | None]) -> None:
    limit = 2 if prepared.num_outputs == 1 else prepared.num_outputs
    for target in targets:
        if target is None and prepared.segmenter:
            raise ValueError("a segmentation model explains one class's region: give the class index")
        if target is not None and not (isinstance(target, (int, np.integer)) and 0 <= int(target) < limit):
            raise ValueError(f"target must be a class index from 0 to {limit - 1}, not {target!r}")


def saliency_maps(
    model,
    image: np.ndarray,
    targets: list[int | None],
    method: str = "gradcam",
    *,
    card: ModelCard | None = None,
    layer: str | None = None,
    masks: list[np.ndarray | None] | None = None,
) -> list[np.ndarray]:
    """One map per target (float32 H x W in [0, 1] at the image's size), in one batched pass where the
    method allows. A target None is the predicted class (classifiers). ``masks``: per target, the region of a
    segmenter's class to explain (H x W, nonzero inside), None for the pixels predicted as the class.
    See :func:`saliency` for the rest."""
    import torch

    cam_class = _cam_class(method)
    prepared = explainable(model, card=card, layer=layer)
    _check_targets(prepared, list(targets))
    rgb = _rgb(image)
    card_used = _card_for_image(prepared, rgb)
    x = torch.from_numpy(card_used.preprocess(rgb))[None].to(_device(prepared.module))
    targets = [None if t is None else int(t) for t in targets]
    masks = list(masks) if masks is not None else [None] * len(targets)
    if len(masks) != len(targets):
        raise ValueError(f"{len(masks)} masks for {len(targets)} targets")
    objects = _targets(prepared, targets, masks, card_used)
    batch = x.expand(len(targets), *x.shape[1:]).clone()
    cams = _run_cam(cam_class, prepared, batch, objects)
    height, width = rgb.shape[:2]
    return [to_image(card_used, cam, height, width) for cam in cams]


def saliency(
    model,
    image: np.ndarray,
    target: int | None,
    method: str = "gradcam",
    *,
    card: ModelCard | None = None,
    layer: str | None = None,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Where ``model`` looked in ``image`` for class ``target``: a float32 H x W map in [0, 1] at the image's
    resolution (1 = most salient).

    ``model``: a bundled or torchvision model's name, a checkpoint or card path, a loaded model (pass its
    ``card`` too, else images are prepared with defaults) or an :class:`Explainable`. ``image``: H x W x 3
    uint8 RGB or H x W gray, as ``Sample.image()`` gives it. ``target``: a class index (a tag's for a
    multilabel model; None: the predicted class), or for a segmenter the class whose region is explained:
    the pixels predicted as that class, or ``mask`` (H x W at the image's size, nonzero inside). ``method``:
    one of :data:`METHODS`. ``layer``: the name of the layer to read (default: the last spatial one).
    Raises ValueError for an unknown method or target, ModelError for models without gradients.
    """
    return saliency_maps(model, image, [target], method, card=card, layer=layer, masks=[mask])[0]


def _run_cam(cam_class, prepared: Explainable, batch, objects) -> np.ndarray:
    """The method's maps at the input size, N x h x w in [0, 1]; the model's weights get no gradients."""
    import torch

    module = prepared.module
    wrapped = _scores_module(module)
    frozen = [p for p in module.parameters() if p.requires_grad]
    for parameter in frozen:  # gradients flow from the input instead: the weights' .grad stay untouched
        parameter.requires_grad_(False)
    batch.requires_grad_(True)
    try:
        with cam_class(model=wrapped, target_layers=[prepared.layer]) as cam:
            # the next layer may change the output in place (DenseNet's ReLU): it gets a copy, the map the original
            handle = prepared.layer.register_forward_hook(lambda _m, _i, output: output.clone())
            try:
                with torch.enable_grad():
                    maps = cam(input_tensor=batch, targets=objects)
            finally:
                handle.remove()
    finally:
        for parameter in frozen:
            parameter.requires_grad_(True)
    return np.nan_to_num(np.asarray(maps, dtype=np.float32), nan=0.0)
