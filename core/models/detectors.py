"""torchvision's object detectors by name: their cards, how they are built, and what they return.

Faster R-CNN (ResNet-50 v1 and v2, MobileNetV3 and its 320 variant), RetinaNet (v1, v2), FCOS, SSD300,
SSDlite320, Mask R-CNN (v1, v2) and Keypoint R-CNN (its boxes), as :mod:`core.models.zoo` offers the
classifiers: the classes come from the weights' own ``meta["categories"]`` (index = the label id the model
gives; "__background__" at 0 and COCO's "N/A" gaps included), the weights from torch's cache, never fetched
without the user asking.

A torchvision detector resizes and normalises inside (its ``GeneralizedRCNNTransform``, or SSD's): it takes
a list of float C x H x W images in [0, 1] at their own sizes and returns boxes in those images' pixels. The
card's ``input_size``, ``mean`` and ``std`` say what it does inside (shorter side, normalisation); the job
gives it the images as they are (``core/inference/detection.py``).

This module imports nothing of :mod:`core.models.zoo` (the zoo imports it); torch and torchvision are
imported inside the functions: importing ``core.models`` must not load torch (start-up time).
"""

from __future__ import annotations

import contextlib
from functools import cache
from typing import Any

from core.models.fitting import empty_weights

OBJECT_TASKS = ("localization", "detection", "instance_segmentation")
#: Label names that are never an object class: the background (label 0) and COCO's unused ids.
NOT_OBJECTS = ("__background__", "N/A")
BACKGROUND = "__background__"
#: Detectors that give a mask with every box.
INSTANCE_SEGMENTERS = ("maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2")
TITLES = {
    "fasterrcnn_resnet50_fpn": "Faster R-CNN ResNet-50 FPN",
    "fasterrcnn_resnet50_fpn_v2": "Faster R-CNN ResNet-50 FPN v2",
    "fasterrcnn_mobilenet_v3_large_fpn": "Faster R-CNN MobileNetV3-Large FPN",
    "fasterrcnn_mobilenet_v3_large_320_fpn": "Faster R-CNN MobileNetV3-Large 320 FPN",
    "retinanet_resnet50_fpn": "RetinaNet ResNet-50 FPN",
    "retinanet_resnet50_fpn_v2": "RetinaNet ResNet-50 FPN v2",
    "fcos_resnet50_fpn": "FCOS ResNet-50 FPN",
    "ssd300_vgg16": "SSD300 VGG-16",
    "ssdlite320_mobilenet_v3_large": "SSDlite320 MobileNetV3-Large",
    "maskrcnn_resnet50_fpn": "Mask R-CNN ResNet-50 FPN",
    "maskrcnn_resnet50_fpn_v2": "Mask R-CNN ResNet-50 FPN v2",
    "keypointrcnn_resnet50_fpn": "Keypoint R-CNN ResNet-50 FPN (boxes)",
}


@cache
def detector_names() -> tuple[str, ...]:
    """torchvision's detection builders, sorted (read from torchvision, not a hand list)."""
    import torchvision.models

    return tuple(sorted(torchvision.models.list_models(module=torchvision.models.detection)))


def is_detector(name: str) -> bool:
    return name.removeprefix("torchvision:") in detector_names()


def detector_task(name: str) -> str:
    """ "instance_segmentation" for Mask R-CNN, "detection" for the others (Keypoint R-CNN: its boxes)."""
    return "instance_segmentation" if name.removeprefix("torchvision:") in INSTANCE_SEGMENTERS else "detection"


def label_names(categories: list[str]) -> list[str]:
    """The weights' categories as the card's classes: label 0 is the background whatever the weights call it
    (Keypoint R-CNN's "no person"), so that it never maps onto a dataset class."""
    return [BACKGROUND, *categories[1:]] if categories else [BACKGROUND]


def object_classes(classes: list[str]) -> list[str]:
    """The classes a detector can find: its label names without the background and "N/A"."""
    return [name for name in classes if name not in NOT_OBJECTS]


@cache
def _inner_transform(name: str) -> dict[str, Any]:
    """What the detector does to an image inside: shorter side, longest side, mean and std."""
    import torchvision.models

    try:
        with empty_weights():  # nothing allocated: only the transform's settings are read
            model = torchvision.models.get_model(name, weights=None, weights_backbone=None)
    except RuntimeError:  # SSDlite computes with its tensors while building: a real (small) build
        model = torchvision.models.get_model(name, weights=None, weights_backbone=None)
    inner = model.transform
    fixed = getattr(inner, "fixed_size", None)
    side = int(inner.min_size[-1])
    return {
        "input_size": tuple(int(v) for v in fixed) if fixed else (side, side),
        "max_size": int(inner.max_size),
        "mean": [float(v) for v in inner.image_mean],
        "std": [float(v) for v in inner.image_std],
    }


def preprocessing(name: str) -> dict[str, Any]:
    """The card's input fields of detector ``name``: what its own transform does (it is run inside)."""
    inner = _inner_transform(name.removeprefix("torchvision:"))
    return {"input_size": inner["input_size"], "mean": inner["mean"], "std": inner["std"], "interpolation": "bilinear"}


def describe_input(name: str) -> str:
    """The card's sentence on how the detector takes images."""
    inner = _inner_transform(name.removeprefix("torchvision:"))
    height, width = inner["input_size"]
    if inner["max_size"] == max(height, width):
        resize = f"resizes each image to {height} x {width}"
    else:
        resize = f"resizes each image's shorter side to {height} pixels (longer side at most {inner['max_size']})"
    return f"it {resize} and normalises it itself; CV Lens gives it the image at its own size, in [0, 1]"


def card_fields(name: str, categories: list[str], pretrained: bool, num_classes: int | None) -> dict[str, Any]:
    """classes, task and input fields of a detector's card (its weights' categories, or ``num_classes``
    numbered labels with label 0 the background, for random weights)."""
    classes = label_names(list(categories))
    if not pretrained and num_classes is not None:
        classes = [BACKGROUND, *(f"class {i}" for i in range(1, num_classes))]
    return {"task": detector_task(name), "classes": classes, **preprocessing(name)}


def builder_kwargs(name: str, arch_kwargs: dict, num_classes: int) -> dict[str, Any]:
    """Keyword arguments for torchvision's builder: never fetch a backbone (the card's weights cover it)."""
    kwargs = dict(arch_kwargs)
    kwargs.setdefault("num_classes", num_classes)
    kwargs.setdefault("weights_backbone", None)
    return kwargs


# -- running ---------------------------------------------------------------------------
def set_limits(model, score_threshold: float, max_detections: int) -> None:
    """Make a torchvision detector keep detections down to ``score_threshold`` (its default, 0.05, cuts the low
    scores the precision-recall curves need) and at most ``max_detections`` per image."""
    heads = getattr(model, "roi_heads", model)  # the R-CNNs keep them in their box head
    for holder in (heads, model):
        for attr, value in (("score_thresh", float(score_threshold)), ("detections_per_img", int(max_detections))):
            if hasattr(holder, attr):
                # a TorchScript module's constants cannot be set: they are kept as they are
                with contextlib.suppress(AttributeError, RuntimeError):
                    setattr(holder, attr, value)


def as_detections(output) -> list[dict]:
    """A detector's output as one dict per image (boxes, scores, labels, masks): a scripted R-CNN returns
    (losses, detections) even in eval mode."""
    if isinstance(output, tuple) and len(output) == 2 and isinstance(output[1], list):
        output = output[1]
    if isinstance(output, dict):
        output = [output]
    if not isinstance(output, list) or not all(isinstance(item, dict) and "boxes" in item for item in output):
        raise TypeError(f"a detector gives one dict of boxes, scores and labels per image, not {type(output).__name__}")
    return output


def as_localization(output):
    """(boxes B x 4, class scores B x C) of a localizer's output, None when it is not one: a dict with
    "boxes" and "class_scores", or a pair (boxes, class scores) (``docs/detector-checkpoints.md``)."""
    if isinstance(output, dict) and "boxes" in output and "class_scores" in output:
        boxes, scores = output["boxes"], output["class_scores"]
    elif isinstance(output, (tuple, list)) and len(output) == 2:
        boxes, scores = output
    else:
        return None
    if getattr(boxes, "ndim", 0) != 2 or boxes.shape[1] != 4 or getattr(scores, "ndim", 0) != 2:
        return None
    return (boxes, scores) if boxes.shape[0] == scores.shape[0] else None
