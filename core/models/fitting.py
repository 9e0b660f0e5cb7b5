"""Putting weights into a module: a strict fit that says which tensors differ, and building without weights.

Part of the bottom of ``core.models``: it imports nothing of the modules that build models or read
checkpoints. torch is imported inside the functions, so importing ``core.models`` stays torch-free.
"""

from __future__ import annotations

import contextlib

from core.models.cards import ModelError


def _preview(keys: list[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")


def fit_state_dict(model, state: dict, what: str, assign: bool = False) -> None:
    """Load ``state`` into ``model`` strictly; a mismatch is a ModelError that says which tensors differ.

    ``assign`` puts the file's tensors in place of the model's (for a model built by :func:`empty_weights`).
    """
    import torch

    expected = model.state_dict()
    state = dict(state)
    for key, value in expected.items():  # checkpoints of old torch versions lack BatchNorm's counter
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(value, device="cpu")
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    other = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or other:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing ({_preview(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected ({_preview(unexpected)})")
        if other:
            k = other[0]
            shapes = f"{tuple(state[k].shape)} in the file, {tuple(expected[k].shape)} in the model"
            parts.append(f"{len(other)} of another shape ({k}: {shapes})")
        raise ModelError(f"{what} do not fit: " + "; ".join(parts))
    model.load_state_dict(state, assign=assign)


def _in_place(func) -> bool:
    name = getattr(func, "__name__", "")
    return name.endswith("_") and not name.startswith("_")


@contextlib.contextmanager
def empty_weights():
    """Build modules without allocating or initialising their weights (they are on the "meta" device).

    Only ``torch.empty``, how layers allocate parameters, is redirected, and in-place initialisations of
    such tensors are skipped: builders that compute sizes with tensors (RegNet) keep working. A torch
    function mode holds for this thread only.
    """
    import torch
    from torch.overrides import TorchFunctionMode

    class EmptyOnMeta(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func is torch.empty:
                kwargs["device"] = "meta"
            elif args and isinstance(args[0], torch.Tensor) and args[0].is_meta and _in_place(func):
                return args[0]  # initialising (normal_, zero_, ...) a tensor without data: nothing to do
            return func(*args, **kwargs)

    with EmptyOnMeta():
        yield


def has_meta_tensors(model) -> bool:
    """Whether a tensor of a model built by :func:`empty_weights` was left without data."""
    return any(t.is_meta for t in (*model.parameters(), *model.buffers()))
