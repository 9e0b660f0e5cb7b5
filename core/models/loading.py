"""The top of ``core.models``: a model card from what the user names, and the model a card describes.

A card's ``architecture`` says how the model is made: a name of :func:`core.models.networks.by_name`
(the networks defined in ``core.models``), ``torchvision:<name>`` (see :mod:`core.models.zoo`),
``torchscript`` or ``onnx`` (see :mod:`core.models.checkpoints`), ``scene_detector`` (the bundled detector of
the digit scenes, :mod:`core.models.scene_detector`). The weights are read as data by
:mod:`core.models.weights`, which sits below this module and everything it imports.
"""

from __future__ import annotations

from pathlib import Path

from core.models import networks, scene_detector, zoo
from core.models.cards import ModelCard, ModelError, find_card
from core.models.checkpoints import load_onnx, load_onnx_objects, load_torchscript, open_checkpoint
from core.models.detectors import OBJECT_TASKS
from core.models.fitting import fit_state_dict
from core.models.weights import file_sha256, load_state_dict


def _checked_weights(card: ModelCard) -> Path | None:
    path = card.weights_path
    if path is None:
        return None
    if not path.is_file():
        raise ModelError(f"weights file {path} of model {card.name!r} is missing")
    if card.sha256 and file_sha256(path) != card.sha256:
        raise ModelError(f"weights file {path.name} does not match the checksum in its card")
    return path


def build_model(card: ModelCard):
    """The model described by ``card``, with its weights loaded, in eval mode.

    A torch module, or for ONNX a module-like wrapper that the runner calls the same way.
    """
    if card.architecture.startswith("torchvision:"):
        if card.weights_path is not None and card.weights_path.is_file():
            _checked_weights(card)
        return zoo.build_torchvision(card)
    if card.architecture in ("torchscript", "onnx"):
        path = _checked_weights(card)
        if path is None:
            raise ModelError(f"a {card.architecture} model needs its file; card {card.name!r} names none")
        if card.architecture == "torchscript":
            return load_torchscript(path)
        if card.task in OBJECT_TASKS:
            return load_onnx_objects(path, card.task)
        return load_onnx(path, batch=card.arch_kwargs.get("batch"))
    if card.architecture == "scene_detector":
        path = _checked_weights(card)
        model = scene_detector.build(card)
        if path is not None:
            fit_state_dict(model, load_state_dict(path), f"weights {path.name} of {card.architecture}")
        return model.eval()
    return _build_registered(card)


def _build_registered(card: ModelCard):
    architectures = networks.by_name()
    if card.architecture not in architectures:
        known = [*sorted(architectures), "torchvision:<name>", "torchscript", "onnx", "scene_detector"]
        raise ModelError(f"unknown architecture {card.architecture!r}; known: {known}")
    kwargs = dict(card.arch_kwargs)
    kwargs.setdefault("num_classes", card.num_classes)
    kwargs.setdefault("in_channels", card.channels)
    model = architectures[card.architecture](**kwargs)
    path = _checked_weights(card)
    if path is not None:
        fit_state_dict(model, load_state_dict(path), f"weights {path.name} of {card.architecture}")
    return model.eval()


def resolve_model(spec: str | Path, *, architecture: str | None = None, classes: list[str] | None = None) -> ModelCard:
    """A model card from what a user types: a bundled model's name ("digits-cnn"), a card (.json), a
    weights file or checkpoint (its card beside it, else recognised from its content), or a torchvision
    network's name ("resnet50", "torchvision:resnet50")."""
    path = Path(spec).expanduser()
    if path.is_file():
        if path.suffix == ".json" or path.with_suffix(".json").is_file():
            return find_card(path)
        return open_checkpoint(path, architecture=architecture, classes=classes)
    try:
        return find_card(spec)
    except ModelError as not_bundled:
        if zoo.is_zoo_name(str(spec)):
            return zoo.zoo_card(str(spec))
        raise ModelError(
            f"{not_bundled}, a checkpoint file, or a torchvision network (resnet50, fasterrcnn_resnet50_fpn, ...)"
        ) from None
