"""Building a model from its card and loading its weights safely."""

from __future__ import annotations

import hashlib
from pathlib import Path

from core.models.cards import ModelCard, ModelError


def _architectures() -> dict:
    from core.models.smallcnn import SmallCNN

    return {"smallcnn": SmallCNN}


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def load_state_dict(path: Path) -> dict:
    """Read a checkpoint as data only: a pickle that would run code is refused, never executed."""
    import pickle

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelError(
            f"{path.name} is not a plain weights file: it needs to run code to load, and CV Lens never runs "
            f"code from a file ({str(exc).splitlines()[0]})"
        ) from None
    except (OSError, RuntimeError, EOFError) as exc:
        raise ModelError(f"{path.name} is not a model checkpoint CV Lens can read: {exc}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"{path.name} holds a {type(state).__name__}, not a state_dict")
    return state


def build_model(card: ModelCard):
    """The torch module described by ``card``, with its weights loaded, in eval mode."""
    architectures = _architectures()
    if card.architecture not in architectures:
        raise ModelError(f"unknown architecture {card.architecture!r}; known: {sorted(architectures)}")
    kwargs = dict(card.arch_kwargs)
    kwargs.setdefault("num_classes", card.num_classes)
    kwargs.setdefault("in_channels", card.channels)
    model = architectures[card.architecture](**kwargs)
    path = card.weights_path
    if path is not None:
        if not path.is_file():
            raise ModelError(f"weights file {path} of model {card.name!r} is missing")
        if card.sha256 and file_sha256(path) != card.sha256:
            raise ModelError(f"weights file {path.name} does not match the checksum in its card")
        state = load_state_dict(path)
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise ModelError(f"weights {path.name} do not fit {card.architecture}: {str(exc).splitlines()[0]}") from None
    return model.eval()
