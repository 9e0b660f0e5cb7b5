"""torchvision's classifiers, segmenters and detectors by name, as model cards.

Every entry is read from torchvision itself (``list_models`` and ``get_model_weights``), not from a
hand list: the classes, the resize / crop / normalisation and the accuracy come from the weights'
own metadata, as torchvision's ``Weights(url, transforms, meta)`` carries them (the detectors' own parts are
in :mod:`core.models.detectors`). The lecture's
networks come first. Weights are read from torch's own cache (``$TORCH_HOME/hub/checkpoints``, by
default ``~/.cache/torch/hub/checkpoints``) under the file name of their URL, always with
``weights_only=True``; :func:`download_weights` fetches a missing file when online.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from core.models import detectors
from core.models.cards import ModelCard, ModelError
from core.models.fitting import empty_weights, fit_state_dict, has_meta_tensors
from core.models.weights import load_state_dict
from core.system.files import atomic_writer

# torch and torchvision are imported inside the functions that use them: importing core.models
# (the catalogue, the GUI start) must not load torch (start-up time)

PREFIX = "torchvision:"
LECTURE = (
    "alexnet",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "googlenet", "inception_v3",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
)  # fmt: skip
TITLES = {"alexnet": "AlexNet", "googlenet": "GoogLeNet", "inception_v3": "Inception v3"}
#: Networks with auxiliary classifiers, used in training only; their ImageNet weights also expect
#: ``transform_input`` (the port of Google's weights re-normalises the input inside the network).
AUX_LOGITS = ("googlenet", "inception_v3")
#: Segmenters whose weights include an auxiliary head (LR-ASPP has none).
AUX_LOSS_PREFIXES = ("fcn_", "deeplabv3_")
#: progress(bytes done, bytes total or 0 when unknown) -> False to cancel the download.
ProgressCallback = Callable[[int, int], "bool | None"]


@dataclass(frozen=True)
class ZooEntry:
    """One torchvision network with one of its sets of weights."""

    name: str  # torchvision's builder name: "resnet50"
    task: str  # "multiclass", "segmentation", "detection" or "instance_segmentation"
    weights: str  # the weights' enum member: "IMAGENET1K_V2"
    url: str

    @property
    def title(self) -> str:
        return pretty_name(self.name)

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def cached_path(self) -> Path:
        return checkpoints_dir() / self.file_name

    @property
    def is_cached(self) -> bool:
        return self.cached_path.is_file()

    @property
    def meta(self) -> dict[str, Any]:
        return _weights(self.name, self.weights).meta


def pretty_name(name: str) -> str:
    """ "vgg16_bn" -> "VGG-16 (BN)", "resnet50" -> "ResNet-50"; other names as torchvision spells them."""
    if name in TITLES:
        return TITLES[name]
    if name in detectors.TITLES:
        return detectors.TITLES[name]
    match = re.fullmatch(r"(vgg|resnet)(\d+)(_bn)?", name)
    if match:
        family = {"vgg": "VGG", "resnet": "ResNet"}[match[1]]
        return f"{family}-{match[2]}" + (" (BN)" if match[3] else "")
    return name


def checkpoints_dir() -> Path:
    """Where torch keeps downloaded weights: ``torch.hub.get_dir()/checkpoints`` (follows TORCH_HOME)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def _models():
    import torchvision.models

    return torchvision.models


def classifier_names() -> list[str]:
    """torchvision's image classifiers, the lecture's first (in lecture order), then the rest sorted."""
    names = _models().list_models(module=_models())
    return [n for n in LECTURE if n in names] + sorted(n for n in names if n not in LECTURE)


def segmentation_names() -> list[str]:
    models = _models()
    return sorted(models.list_models(module=models.segmentation))


def detector_names(task: str | None = None) -> list[str]:
    """torchvision's detectors (``task``: those of "detection" or of "instance_segmentation")."""
    return [n for n in detectors.detector_names() if task is None or detectors.detector_task(n) == task]


def zoo_names(task: str | None = None) -> list[str]:
    """Every network the zoo offers: classifiers, segmenters, then detectors; ``task`` keeps one kind."""
    names = {
        "multiclass": classifier_names,
        "segmentation": segmentation_names,
        "detection": lambda: detector_names("detection"),
        "instance_segmentation": lambda: detector_names("instance_segmentation"),
    }
    if task is not None:
        return names[task]() if task in names else []
    return classifier_names() + segmentation_names() + detector_names()


def task_of(name: str) -> str:
    """The task of torchvision network ``name`` (a name of :func:`zoo_names`)."""
    if detectors.is_detector(name):
        return detectors.detector_task(name)
    return "segmentation" if name in segmentation_names() else "multiclass"


def is_zoo_name(name: str) -> bool:
    name = name.removeprefix(PREFIX)
    return name in zoo_names()


def _weights(name: str, weights: str | None = None):
    """The torchvision weights enum member ``weights`` (default: DEFAULT) of network ``name``."""
    try:
        enum = _models().get_model_weights(name)
    except (ValueError, KeyError):
        raise ModelError(f"torchvision has no network {name!r}; it has {', '.join(zoo_names())}") from None
    if weights in (None, "DEFAULT"):
        return enum.DEFAULT
    try:
        return enum[weights.rsplit(".", 1)[-1]]
    except KeyError:
        raise ModelError(f"{name} has no weights {weights!r}; it has {[w.name for w in enum]}") from None


def zoo_entry(name: str, weights: str | None = None) -> ZooEntry:
    name = name.removeprefix(PREFIX)
    member = _weights(name, weights)
    return ZooEntry(name=name, task=task_of(name), weights=member.name, url=member.url)


def zoo_entries(task: str | None = None) -> list[ZooEntry]:
    """One entry per network (its default weights), in :func:`zoo_names` order."""
    return [zoo_entry(name) for name in zoo_names(task)]


def _preprocessing(member) -> dict[str, Any]:
    """input_size, resize_size, mean, std and interpolation of the weights' own eval transform."""
    transform = member.transforms()
    crop = getattr(transform, "crop_size", None)
    resize = getattr(transform, "resize_size", None)
    resize_side = int(resize[0]) if resize else None
    side = int(crop[0]) if crop else resize_side or 224
    return {
        "input_size": (side, side),
        # segmentation weights resize without a crop; a square input keeps images batchable
        "resize_size": resize_side if crop else None,
        "mean": [float(v) for v in transform.mean],
        "std": [float(v) for v in transform.std],
        "interpolation": transform.interpolation.value,
    }


def preprocessing(name: str) -> dict[str, Any]:
    """The input fields of the card of torchvision network ``name``, from its default weights' transform (a
    detector's: from the transform it runs inside)."""
    name = name.removeprefix(PREFIX)
    return detectors.preprocessing(name) if detectors.is_detector(name) else _preprocessing(_weights(name))


def builder_kwargs(name: str, member=None) -> dict[str, Any]:
    """Keyword arguments torchvision's builder sets itself when it loads ``member``'s weights."""
    kwargs: dict[str, Any] = {}
    if member is not None:
        if name in AUX_LOGITS:
            kwargs.update(transform_input=True, aux_logits=True)
        if name.startswith("vit_"):
            kwargs["image_size"] = int(member.meta["min_size"][0])
        if name.startswith(AUX_LOSS_PREFIXES):
            kwargs["aux_loss"] = True
    return kwargs


def zoo_card(name: str, weights: str | None = "DEFAULT", *, num_classes: int | None = None) -> ModelCard:
    """The card of a torchvision network: with ``weights`` (read from torch's cache when it is run), or,
    with ``weights=None``, random weights and ``num_classes`` outputs (default: as many as the weights name).
    """
    entry = zoo_entry(name, None if weights is None else weights)
    member = _weights(entry.name, entry.weights)
    categories = list(member.meta["categories"])
    pretrained = weights is not None
    if not pretrained and num_classes is not None:
        categories = [f"class {i}" for i in range(num_classes)]
    metrics = {k: v for data in member.meta.get("_metrics", {}).values() for k, v in data.items()}
    if detectors.is_detector(entry.name):
        fields = detectors.card_fields(entry.name, categories, pretrained, num_classes)
        description = detectors.describe_input(entry.name)
    else:
        fields = {"task": entry.task, "classes": categories, **_preprocessing(member)}
        description = ""
    about = f"torchvision's {entry.name} with its {entry.weights} weights" if pretrained else ""
    return ModelCard(
        name=entry.name,
        architecture=PREFIX + entry.name,
        channels=3,
        arch_kwargs=builder_kwargs(entry.name, member if pretrained else None),
        weights=str(entry.cached_path) if pretrained else None,
        title=f"{entry.title} ({entry.weights})" if pretrained else f"{entry.title} (random weights)",
        description="; ".join(part for part in (about, description) if part),
        dataset=next(iter(member.meta.get("_metrics", {})), "") if pretrained else "",
        script=member.meta.get("recipe", "") if pretrained else "",
        metrics=metrics if pretrained else {},
        **fields,
    )


# -- building -------------------------------------------------------------------------
def _densenet_keys(state: dict) -> dict:
    """DenseNet's published weights use old key names ("norm.1"); torchvision renames them on load."""
    tensors = "weight|bias|running_mean|running_var|num_batches_tracked"
    pattern = re.compile(rf"^(.*denselayer\d+\.(?:norm|relu|conv))\.([12]\.(?:{tensors}))$")
    return {(pattern.sub(r"\1\2", key) if pattern.match(key) else key): value for key, value in state.items()}


def _missing_weights_message(card: ModelCard, path: Path) -> str:
    name = card.architecture.removeprefix(PREFIX)
    try:
        urls = [w.url for w in _models().get_model_weights(name)]
    except (ValueError, KeyError):
        urls = []
    url = next((u for u in urls if u.endswith("/" + path.name)), None)
    if url is None:
        return f"weights file {path} of model {card.name!r} is missing"
    return (
        f"the weights of {pretty_name(name)} are not in torch's cache: put {path.name} "
        f"(from {url}) into {path.parent}, or download them (Download weights, or `evaluate --download`)"
    )


def _construct(name: str, kwargs: dict, empty: bool = False):
    try:
        with empty_weights() if empty else contextlib.nullcontext():
            return _models().get_model(name, weights=None, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"cannot build {name} with {kwargs}: {exc}") from None
    except RuntimeError:
        if not empty:
            raise
        return _construct(name, kwargs)  # a builder that computes with its tensors (SSDlite): built the slow way


def build_torchvision(card: ModelCard):
    """The torchvision network of ``card`` with its weights (torch's cache or a user checkpoint), in eval mode."""
    import torch

    name = card.architecture.removeprefix(PREFIX)
    if name not in zoo_names():
        raise ModelError(f"torchvision has no network {name!r}")
    kwargs = dict(card.arch_kwargs)
    kwargs.setdefault("num_classes", card.num_classes)
    if detectors.is_detector(name):
        kwargs = detectors.builder_kwargs(name, kwargs, card.num_classes)
    if name in segmentation_names():
        kwargs.setdefault("weights_backbone", None)  # never fetch a backbone: the card's weights cover it
    if name in AUX_LOGITS:
        kwargs.setdefault("aux_logits", False)
        kwargs.setdefault("init_weights", card.weights is None)
    path = card.weights_path
    if path is not None and not path.is_file():
        raise ModelError(_missing_weights_message(card, path))
    if path is None:
        model = _construct(name, kwargs)
    else:
        state = load_state_dict(path)
        if name.startswith("densenet"):
            state = _densenet_keys(state)
        model = _construct(name, kwargs, empty=True)  # the file's tensors replace the (skipped) initialisation
        fit_state_dict(model, state, f"{path.name} for {name}", assign=True)
        if has_meta_tensors(model):  # a tensor the file does not hold: build it the slow way
            model = _construct(name, kwargs)
            fit_state_dict(model, state, f"{path.name} for {name}")
    if name in AUX_LOGITS and getattr(model, "aux_logits", False):  # eval mode ignores them: drop their memory
        model.aux_logits = False
        for attr in ("AuxLogits", "aux1", "aux2"):
            if hasattr(model, attr):
                setattr(model, attr, None)
    # segmenters return {"out": logits, "aux": ...}: the runner reads "out"; detectors a dict per image
    return model.to(torch.float32).eval()


# -- downloading ----------------------------------------------------------------------
def download_weights(
    name: str, weights: str | None = None, progress: ProgressCallback | None = None, *, url: str | None = None
) -> Path:
    """Fetch the weights of ``name`` into torch's cache (where torch.hub puts them) and return the file.

    The download goes to a temporary file next to the target, is checked against the SHA-256 prefix
    in its file name (as ``torch.hub`` checks it) and renamed into place, so an interrupted download
    never leaves a truncated file behind. ``progress`` may return False to cancel.
    """
    entry = zoo_entry(name, weights)
    target = entry.cached_path
    if target.is_file():
        return target
    fetch(url or entry.url, target, progress)
    return target


def fetch(url: str, target: Path, progress: ProgressCallback | None = None, chunk: int = 1 << 20) -> Path:
    """Download ``url`` to ``target`` atomically, verifying torch.hub's hash prefix in the file name."""
    # Here, not with the module: urllib.request brings http and email, and the panes import this module.
    import urllib.error
    import urllib.request

    from torch.hub import HASH_REGEX

    target.parent.mkdir(parents=True, exist_ok=True)
    match = HASH_REGEX.search(target.name)
    try:
        # a cancel or a wrong checksum raises inside the block: the partial file goes, the target never appears
        with urllib.request.urlopen(url, timeout=30) as response, atomic_writer(target, ".partial") as out:
            digest = _copy(response, out, target.name, progress, chunk)
            if match and not digest.startswith(match.group(1)):
                raise ModelError(f"{target.name} downloaded from {url} does not match its checksum; try again")
    except (urllib.error.URLError, OSError) as exc:
        raise ModelError(
            f"cannot download {url} ({getattr(exc, 'reason', exc)}); without a network, put {target.name} "
            f"into {target.parent}"
        ) from None
    return target


def _copy(response: Any, out: BinaryIO, name: str, progress: ProgressCallback | None, chunk: int) -> str:
    """Copy a download into ``out`` block by block, reporting progress; the SHA-256 of what came."""
    total = int(response.headers.get("Content-Length") or 0)
    digest, done = hashlib.sha256(), 0
    while block := response.read(chunk):
        out.write(block)
        digest.update(block)
        done += len(block)
        if progress is not None and progress(done, total) is False:
            raise ModelError(f"download of {name} cancelled")
    return digest.hexdigest()
