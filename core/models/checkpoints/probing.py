"""What a model we cannot read the head of (TorchScript, ONNX) gives: its outputs, task and batching,
from forward passes on blank images."""

from __future__ import annotations

from core.models.cards import ModelError


def _forward(model, batch: int, channels: int, input_size: tuple[int, int]):
    """The model's main output on a blank batch (the first of a tuple, "out" of a dict)."""
    import torch  # deferred: importing core.models must not load torch (start-up time)

    with torch.inference_mode():
        out = model(torch.zeros(batch, channels, *input_size))
    if isinstance(out, dict):
        out = out.get("out", next(iter(out.values())))
    if isinstance(out, (tuple, list)):
        out = out[0]
    return out


def probe(model, channels: int, input_size: tuple[int, int]) -> tuple[int, str, bool]:
    """(outputs, task, batches) of a model we cannot read the head of, from forward passes on blank images.

    ``batches`` is False when the model works on one image but not on two (a graph whose reshape fixes
    the batch although its input is declared dynamic): the runner then feeds it one image at a time.
    """
    try:
        out = _forward(model, 1, channels, input_size)
    except Exception as exc:
        raise ModelError(f"the model fails on a {channels} x {input_size[0]} x {input_size[1]} input: {exc}") from None
    if getattr(out, "ndim", 0) < 2 or out.shape[0] != 1:
        raise ModelError(f"the model gives an output of shape {tuple(getattr(out, 'shape', ()))} for one image")
    try:
        batches = _forward(model, 2, channels, input_size).shape[0] == 2
    except Exception:  # onnxruntime and TorchScript raise their own types for a shape that does not fit
        batches = False
    return int(out.shape[1]), "segmentation" if out.ndim == 4 else "multiclass", batches


def first_conv_channels(module) -> int:
    """The input channels of a module's first convolution (3 when it has none)."""
    for tensor in module.state_dict().values():
        if tensor.ndim == 4:
            return int(tensor.shape[1])
    return 3


def static_size(dims: list, default: tuple[int, int]) -> tuple[int, int]:
    """(height, width) of an NCHW input declared with fixed sides, else ``default``."""
    return (dims[2], dims[3]) if len(dims) == 4 and all(isinstance(d, int) and d > 0 for d in dims[2:]) else default
