"""Which layer of a network a class-activation map is read from, found by tracing one forward pass.

Grad-CAM and its family weight the activations of one layer; the layer that gives the most detailed maps
that still carry class information is the last one whose output keeps a spatial layout. As torchcam's
``locate_candidate_layer`` does, a forward pass is traced with hooks on every module and the last module
to finish whose output is N x C x h x w with h and w above 1 is taken: ``layer4`` of a ResNet, ``features``
of our SmallCNN, the pooling to 7 x 7 of a VGG. For a segmenter the trailing layers that already give the
class maps (as many channels as the output) are passed over: Grad-CAM of a logit map is the map itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models.cards import ModelError


@dataclass(frozen=True)
class Traced:
    """One module's output in a traced forward pass: its name, the module and the output's shape."""

    name: str
    module: object
    shape: tuple[int, ...]

    @property
    def spatial(self) -> bool:
        return len(self.shape) == 4 and self.shape[2] > 1 and self.shape[3] > 1


def trace(model, x) -> tuple[list[Traced], object]:
    """The tensor outputs of every submodule of ``model`` on input ``x``, in the order they finished,
    and the model's own output. Gradients are off; the hooks are removed afterwards."""
    import torch

    finished: list[Traced] = []

    def recorder(name: str, module):
        def hook(_module, _inputs, output):
            if isinstance(output, torch.Tensor):
                finished.append(Traced(name, module, tuple(output.shape)))

        return hook

    handles = [m.register_forward_hook(recorder(n, m)) for n, m in model.named_modules() if n]
    try:
        with torch.no_grad():
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return finished, output


def pick_target_layer(finished: list[Traced], output_shape: tuple[int, ...]) -> Traced:
    """The last spatial output of a trace (see the module docstring); ModelError when there is none."""
    candidates = [t for t in finished if t.spatial]
    if len(output_shape) == 4:  # a segmenter: skip the head that already gives the class maps
        while candidates and candidates[-1].shape[1] == output_shape[1]:
            candidates.pop()
    if not candidates:
        raise ModelError(
            "the model has no layer with a spatial output (N x C x h x w, h and w > 1): "
            "class-activation maps need a convolutional network"
        )
    return candidates[-1]


def named_layer(model, name: str) -> object:
    """The submodule ``name`` of ``model`` ("layer4", "features.2"); ModelError listing a few when unknown."""
    modules = dict(model.named_modules())
    if name not in modules or not name:
        shown = ", ".join(n for n in list(modules)[1:][-12:])
        raise ModelError(f"the model has no layer {name!r}; its last layers are: {shown}")
    return modules[name]
