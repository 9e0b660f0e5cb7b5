"""ONNX object models (detectors, instance segmenters, localizers) behind the interface of torch's.

The output convention is documented in ``docs/detector-checkpoints.md``. A detector takes one float32
1 x 3 x H x W image in [0, 1] (or 3 x H x W, as torch's exporter writes a torchvision detector) and gives
``boxes`` N x 4 (x0, y0, x1, y1, pixels of that image), ``scores`` N, ``labels`` N int64 and, for instance
segmentation, ``masks`` N x 1 x H x W (probabilities or 0/1). Called like a torchvision detector: a list of
C x H x W tensors in, one dict per image out. A localizer takes the card's preprocessed B x C x H x W batch and
gives ``boxes`` B x 4 (fractions of the image's width and height) and ``class_scores`` B x C, as a torch
localizer does (``core/inference/detection.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.models.cards import ModelError
from core.models.checkpoints.onnx_model import OnnxModel, load_onnx

DETECTION_OUTPUTS = ("boxes", "scores", "labels", "masks")
LOCALIZATION_OUTPUTS = ("boxes", "class_scores")


def _ordered(session, wanted: tuple[str, ...]) -> list[int]:
    """The positions of the outputs ``wanted`` (as many as the model has): by name when the graph names them
    so, else in the convention's order."""
    names = [o.name for o in session.get_outputs()]
    if all(name in names for name in wanted[: len(names)]) and len(names) <= len(wanted):
        return [names.index(name) for name in wanted[: len(names)]]
    return list(range(len(names)))


def onnx_object_task(session) -> str | None:
    """The object task an ONNX graph's outputs follow ("detection", "instance_segmentation", "localization"),
    None when they follow none (a classifier or a segmenter)."""
    outputs = session.get_outputs()
    ranks = [len(o.shape) for o in outputs]
    names = {o.name for o in outputs}
    if len(outputs) in (3, 4):
        order = _ordered(session, DETECTION_OUTPUTS)
        if [ranks[i] for i in order[:3]] == [2, 1, 1] and (len(order) == 3 or ranks[order[3]] in (3, 4)):
            return "instance_segmentation" if len(order) == 4 else "detection"
    if len(outputs) == 2 and ranks == [2, 2] and (set(LOCALIZATION_OUTPUTS) <= names or outputs[0].shape[1] == 4):
        return "localization"
    return None


class OnnxObjects(OnnxModel):
    """An ONNX object model run by onnxruntime, called as a torch one of its task is (see the module docstring)."""

    def __init__(self, path: Path, task: str, device: str = "cpu") -> None:
        super().__init__(path, device)
        self.task = task

    def __call__(self, images):
        if self.task == "localization":
            return self._localize(images)
        return [self._detect(image) for image in images]

    def _localize(self, batch):
        import torch

        array = batch.detach().float().cpu().numpy()
        outs = self.session.run(None, {self.session.get_inputs()[0].name: array})
        boxes, scores = (outs[i] for i in _ordered(self.session, LOCALIZATION_OUTPUTS))
        return {"boxes": torch.from_numpy(np.asarray(boxes, np.float32)), "class_scores": torch.from_numpy(scores)}

    def _input_for(self, image):
        """The image as the graph takes it: with a batch axis or not, resized when its sides are fixed."""
        import torch.nn.functional as F

        shape = self.input_shape
        height, width = image.shape[-2:]
        fixed = [d if isinstance(d, int) and d > 0 else None for d in shape[-2:]]
        size = (fixed[0] or height, fixed[1] or width)
        x = image.detach().float().cpu()[None]
        if size != (height, width):
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        array = x.numpy() if len(shape) == 4 else x[0].numpy()
        return array, (width / size[1], height / size[0])

    def _detect(self, image) -> dict:
        import torch
        import torch.nn.functional as F

        array, (sx, sy) = self._input_for(image)
        outs = self.session.run(None, {self.session.get_inputs()[0].name: array})
        found = dict(zip(DETECTION_OUTPUTS, (outs[i] for i in _ordered(self.session, DETECTION_OUTPUTS))))
        boxes = torch.from_numpy(np.asarray(found["boxes"], np.float32).reshape(-1, 4)) * torch.tensor([sx, sy, sx, sy])
        result = {
            "boxes": boxes,
            "scores": torch.from_numpy(np.asarray(found["scores"], np.float32).reshape(-1)),
            "labels": torch.from_numpy(np.asarray(found["labels"]).astype(np.int64).reshape(-1)),
        }
        if "masks" in found:
            masks = torch.from_numpy(np.asarray(found["masks"], np.float32))
            masks = masks.reshape(len(boxes), 1, *masks.shape[-2:])
            if masks.shape[-2:] != image.shape[-2:] and len(masks):
                masks = F.interpolate(masks, size=tuple(image.shape[-2:]), mode="bilinear", align_corners=False)
            result["masks"] = masks
        return result


def load_onnx_objects(path: Path, task: str, device: str = "cpu") -> OnnxObjects:
    """The ONNX object model in ``path``; a ModelError when its outputs do not follow the convention."""
    load_onnx(path)  # says what to install without onnxruntime
    model = OnnxObjects(path, task, device)
    found = onnx_object_task(model.session)
    if found != task:
        raise ModelError(
            f"{Path(path).name} does not give the outputs of a {task} model (docs/detector-checkpoints.md): "
            f"it gives {[(o.name, o.shape) for o in model.session.get_outputs()]}"
        )
    return model
