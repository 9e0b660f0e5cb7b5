"""The networks of ``core.models`` recognised in a state_dict by their key signature (one line per network).

The tensor shapes a network has are read from a copy built on torch's "meta" device
(:func:`meta_shapes`), so recognising a checkpoint allocates no weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.models import networks
from core.models.fitting import empty_weights

Shapes = dict[str, tuple[int, ...]]


def _smallcnn_kwargs(shapes: Shapes) -> dict:
    first = shapes["features.0.0.weight"]
    return {"in_channels": first[1], "width": first[0], "num_classes": shapes["head.2.weight"][0]}


def _unet_kwargs(shapes: Shapes) -> dict:
    depth = sum(1 for key in shapes if key.startswith("down.") and key.endswith(".0.weight")) - 1
    first = shapes["down.0.0.weight"]
    bilinear = "up.0.up.1.weight" in shapes
    return {"in_channels": first[1], "width": first[0], "depth": depth, "bilinear": bilinear,
            "num_classes": shapes["head.weight"][0]}  # fmt: skip


@dataclass(frozen=True)
class KeySignature:
    """A network of ``core.models`` recognised by keys it must have; ``kwargs`` reads its constructor
    arguments (num_classes and in_channels included) from the tensor shapes. The match is then confirmed
    by building the network with those arguments and comparing every key and shape."""

    architecture: str
    task: str
    keys: tuple[str, ...]
    kwargs: Callable[[Shapes], dict]


SIGNATURES: list[KeySignature] = [
    KeySignature("smallcnn", "multiclass", ("features.0.0.weight", "head.2.weight"), _smallcnn_kwargs),
    KeySignature("unet", "segmentation", ("down.0.0.weight", "head.weight"), _unet_kwargs),
]


@dataclass(frozen=True)
class Recognised:
    """What a state_dict is: the card's architecture and arch_kwargs, its classes and input channels."""

    architecture: str
    task: str
    arch_kwargs: dict
    num_classes: int
    channels: int


def shapes_of(state: dict) -> Shapes:
    """Tensor name -> shape of a state_dict, without BatchNorm's counters (old checkpoints lack them)."""
    return {k: tuple(v.shape) for k, v in state.items() if not k.endswith("num_batches_tracked")}


def meta_shapes(build: Callable[[], object]) -> Shapes:
    """The state_dict shapes of the module ``build()`` makes, without allocating its weights."""
    with empty_weights():
        module = build()
    return shapes_of(module.state_dict())


def registered_matches(shapes: Shapes, only: str | None = None) -> list[Recognised]:
    """The networks of ``core.models`` (``only``: just that one) that have exactly these tensors."""
    architectures = networks.by_name()
    found = []
    for sig in SIGNATURES:
        if sig.architecture not in architectures or (only and only != sig.architecture):
            continue
        if not all(key in shapes for key in sig.keys):
            continue
        kwargs = sig.kwargs(shapes)
        try:
            expected = meta_shapes(lambda sig=sig, kwargs=kwargs: architectures[sig.architecture](**kwargs))
        except (TypeError, ValueError, RuntimeError):
            continue
        if expected == shapes:
            kwargs = dict(kwargs)
            num_classes, channels = kwargs.pop("num_classes"), kwargs.pop("in_channels", 3)
            found.append(Recognised(sig.architecture, sig.task, kwargs, num_classes, channels))
    return found
