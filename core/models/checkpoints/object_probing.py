"""Whether a model we cannot read the head of (TorchScript, ONNX) finds objects, and how many classes it has.

A detector takes a list of images and gives one dict of boxes, scores and labels per image (a scripted
torchvision detector gives (losses, detections)); a localizer gives one box and class scores per image
(``docs/detector-checkpoints.md``). A scripted torchvision detector's label count is read from its tensors.
"""

from __future__ import annotations

from core.models.checkpoints.onnx_objects import LOCALIZATION_OUTPUTS, _ordered, onnx_object_task
from core.models.checkpoints.signatures import Recognised, shapes_of
from core.models.checkpoints.torchvision_match import detector_matches
from core.models.detectors import as_detections, as_localization

PROBE_SIDE = 64  # a detector resizes inside: any small image tells what it gives


def scripted_detector(model) -> Recognised | None:
    """The torchvision detector whose tensors a scripted model has (the first, when several fit), or None."""
    found = detector_matches(shapes_of(model.state_dict()))
    return found[0] if found else None


def _detector_task(model, channels: int) -> str | None:
    import torch  # deferred: importing core.models must not load torch (start-up time)

    try:
        with torch.inference_mode():
            found = as_detections(model([torch.rand(channels, PROBE_SIDE, PROBE_SIDE)]))
    except Exception:  # not a detector: TorchScript raises its own types for an argument it does not take
        return None
    return "instance_segmentation" if found and "masks" in found[0] else "detection"


def torch_object_task(model, channels: int, input_size: tuple[int, int]) -> tuple[str, int | None] | None:
    """(task, labels or classes) of a TorchScript object model (the count None when its tensors do not tell),
    None for a model of another task."""
    import torch

    task = _detector_task(model, channels)
    if task is not None:
        recognised = scripted_detector(model)
        return task, recognised.num_classes if recognised else None
    try:
        with torch.inference_mode():
            pair = as_localization(model(torch.zeros(1, channels, *input_size)))
    except Exception:  # not a localizer either: the classifier's probe says what it is
        return None
    return ("localization", int(pair[1].shape[1])) if pair is not None else None


def onnx_objects(model, channels: int, input_size: tuple[int, int]) -> tuple[str, int | None] | None:
    """(task, classes) of an ONNX object model (count None for detectors: their labels do not tell), or None."""
    task = onnx_object_task(model.session)
    if task != "localization":
        return (task, None) if task else None
    scores = model.session.get_outputs()[_ordered(model.session, LOCALIZATION_OUTPUTS)[1]]
    if isinstance(scores.shape[1], int) and scores.shape[1] > 0:
        return task, scores.shape[1]
    import numpy as np

    batch = np.zeros((1, channels, *input_size), dtype=np.float32)
    outs = model.session.run(None, {model.session.get_inputs()[0].name: batch})
    return task, int(outs[_ordered(model.session, LOCALIZATION_OUTPUTS)[1]].shape[1])
