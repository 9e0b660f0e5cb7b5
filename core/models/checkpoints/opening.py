"""A user's model file opened as a model card: the format read from the file, the card beside it kept.

A JSON card next to the weights wins; a state_dict is recognised from its tensors; a TorchScript or ONNX
model is probed. The card's input size and normalisation are defaults the user may edit and keep
with :func:`save_card`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from core.models import zoo
from core.models.cards import ModelCard, ModelError, load_card
from core.models.checkpoints.class_names import classes_for, detector_classes_for
from core.models.checkpoints.object_probing import onnx_objects, scripted_detector, torch_object_task
from core.models.checkpoints.onnx_model import load_onnx
from core.models.checkpoints.probing import first_conv_channels, probe, static_size
from core.models.checkpoints.recognition import recognise
from core.models.checkpoints.signatures import Recognised
from core.models.checkpoints.torchscript import load_torchscript
from core.models.detectors import OBJECT_TASKS, describe_input
from core.models.weights import file_sha256, is_safetensors, load_state_dict

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
DEFAULT_INPUT_SIZE = (224, 224)


def checkpoint_format(path: Path) -> str:
    """ "onnx", "safetensors", "torchscript" or "state_dict" (a torch pickle, to be read as data only)."""
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        return "onnx"
    if is_safetensors(path):
        return "safetensors"
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if any("/code/" in name or name.endswith("/constants.pkl") for name in archive.namelist()):
                return "torchscript"
    return "state_dict"


def _preprocessing_for(recognised: Recognised) -> dict:
    """The defaults shown to the user: torchvision's own eval transform for its networks."""
    name = recognised.architecture.removeprefix("torchvision:")
    if recognised.architecture.startswith("torchvision:"):
        pre = zoo.preprocessing(name)
        size = recognised.arch_kwargs.get("image_size")
        if size and (size, size) != pre["input_size"]:
            pre.update(input_size=(size, size), resize_size=None)
        return pre
    return _plain_preprocessing(recognised.channels)


def _plain_preprocessing(channels: int, input_size: tuple[int, int] = DEFAULT_INPUT_SIZE) -> dict:
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if channels == 3 else ([0.5] * channels, [0.5] * channels)
    return {"input_size": input_size, "mean": mean, "std": std}


def _open_state_dict(path: Path, architecture: str | None, classes: list[str] | None) -> ModelCard:
    rec = recognise(load_state_dict(path), architecture)
    detector = rec.task in OBJECT_TASKS
    return ModelCard(
        name=path.stem,
        architecture=rec.architecture,
        task=rec.task,
        classes=(detector_classes_for if detector else classes_for)(path, rec.num_classes, classes),
        channels=rec.channels,
        arch_kwargs=rec.arch_kwargs,
        weights=str(path.resolve()),
        title=path.stem,
        description=f"{rec.architecture}, recognised from the weights in {path.name}",
        **_preprocessing_for(rec),
    )


def _object_card(path: Path, kind: str, model, found: tuple[str, int | None], classes, channels, size) -> ModelCard:
    """The card of a TorchScript or ONNX detector or localizer (``docs/detector-checkpoints.md``)."""
    task, count = found
    pre = _plain_preprocessing(channels, size)
    description = f"{kind} {task} model {path.name}"
    if task == "localization":
        names = classes_for(path, count, classes)
    else:
        names = detector_classes_for(path, count, classes)
        # a detector takes images in [0, 1] at their own size: the card's input fields only describe it
        pre = {"input_size": size, "mean": [0.0] * channels, "std": [1.0] * channels}
        recognised = scripted_detector(model) if kind == "torchscript" else None
        if recognised is not None:
            name = recognised.architecture.removeprefix("torchvision:")
            pre = zoo.preprocessing(name)
            description = f"{description}: torchvision's {name}; {describe_input(name)}"
    return ModelCard(
        name=path.stem,
        architecture=kind,
        task=task,
        classes=names,
        channels=channels,
        weights=str(path.resolve()),
        title=path.stem,
        description=description,
        **pre,
    )


def _open_program(path: Path, kind: str, classes: list[str] | None) -> ModelCard:
    """A TorchScript or ONNX model: channels and input size from the model, the class count by probing it."""
    if kind == "torchscript":
        model = load_torchscript(path)
        channels, size = first_conv_channels(model), DEFAULT_INPUT_SIZE
        found = torch_object_task(model, channels, size)
    else:
        model = load_onnx(path)
        dims = model.input_shape
        channels = dims[-3] if len(dims) in (3, 4) and isinstance(dims[-3], int) else 3
        size = static_size(dims if len(dims) == 4 else [1, *dims], DEFAULT_INPUT_SIZE)
        found = onnx_objects(model, channels, size)
    if found is not None:
        return _object_card(path, kind, model, found, classes, channels, size)
    outputs, task, batches = probe(model, channels, size)
    return ModelCard(
        arch_kwargs={} if batches else {"batch": 1},
        name=path.stem,
        architecture=kind,
        task=task,
        classes=classes_for(path, outputs, classes),
        channels=channels,
        weights=str(path.resolve()),
        title=path.stem,
        description=f"{kind} model {path.name}",
        **_plain_preprocessing(channels, size),
    )


def open_checkpoint(
    path: str | Path, *, architecture: str | None = None, classes: list[str] | None = None
) -> ModelCard:
    """The card of a user's model file, ready for ``build_model``.

    A JSON card next to the weights (``<stem>.json``) wins; otherwise the format is read from the file,
    the architecture recognised (``architecture`` forces one), and the class names taken from ``classes``,
    a sidecar ``classes.txt``, or numbered ("class 0", ...). The card's input size and normalisation are
    defaults the user may edit and keep with :func:`save_card`.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"no model file {path}")
    if path.suffix == ".json":
        return load_card(path)
    if path.with_suffix(".json").is_file():
        return load_card(path.with_suffix(".json"))
    kind = checkpoint_format(path)
    if kind in ("torchscript", "onnx"):
        return _open_program(path, kind, classes)
    return _open_state_dict(path, architecture, classes)


def save_card(card: ModelCard, path: str | Path | None = None, *, overwrite: bool = False) -> Path:
    """Keep a card the user edited (class names, input size, normalisation) next to its weights.

    Default place: ``<weights stem>.json``, which :func:`open_checkpoint` then reads. An existing file is
    not replaced unless ``overwrite``; the weights are named relative to the card and their SHA-256 recorded.
    """
    weights = card.weights_path
    if path is None:
        if weights is None:
            raise ModelError("a card without a weights file needs a path to be saved to")
        path = weights.with_suffix(".json")
    path = Path(path)
    if path.exists() and not overwrite:
        raise ModelError(f"{path} exists; CV Lens does not replace it without being asked")
    if weights is not None and weights.is_file():
        card.sha256 = file_sha256(weights)
        same_folder = weights.resolve().parent == path.resolve().parent
        card.weights = weights.name if same_folder else str(weights.resolve())
    card.save(path)
    return path
