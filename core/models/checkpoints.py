"""The user's own models: checkpoints recognised from their content, read as data, described by a card.

:func:`open_checkpoint` reads a state_dict (.pt/.pth, nested or not, DataParallel prefixes or not),
a safetensors file, a TorchScript archive or an ONNX model and returns a :class:`ModelCard` that
``build_model`` turns into a runnable model. For a state_dict the architecture is recognised from
the key names and shapes: by a :data:`SIGNATURES` table for the networks of ``core.models`` (one line
per network) and, for torchvision's networks, by comparing with each network's own state_dict,
built on torch's "meta" device so nothing is allocated. The number of classes is the head's size.
A pickled nn.Module (it would need its code to load) is refused, never executed.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from core.models.cards import ModelCard, ModelError
from core.models.loading import (
    _architectures,
    check_archive,
    empty_weights,
    file_sha256,
    is_safetensors,
    load_state_dict,
    user_data_dir,
)

Shapes = dict[str, tuple[int, ...]]
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
DEFAULT_INPUT_SIZE = (224, 224)
SENTINEL = 997  # a class count no layer has by chance: the tensors that get it are the head
CLASS_FILES = ("{stem}.classes.txt", "classes.txt")


class AmbiguousArchitecture(ModelError):
    """Several architectures fit a state_dict exactly; ``candidates`` lists them for the user to choose."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


# -- the networks of core.models, by key signature ------------------------------------------
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


def _shapes(state: dict) -> Shapes:
    return {k: tuple(v.shape) for k, v in state.items() if not k.endswith("num_batches_tracked")}


def _meta_shapes(build: Callable[[], object]) -> Shapes:
    """The state_dict shapes of the module ``build()`` makes, without allocating its weights."""
    with empty_weights():
        module = build()
    return _shapes(module.state_dict())


def _registered_matches(shapes: Shapes, only: str | None = None) -> list[Recognised]:
    architectures = _architectures()
    found = []
    for sig in SIGNATURES:
        if sig.architecture not in architectures or (only and only != sig.architecture):
            continue
        if not all(key in shapes for key in sig.keys):
            continue
        kwargs = sig.kwargs(shapes)
        try:
            expected = _meta_shapes(lambda sig=sig, kwargs=kwargs: architectures[sig.architecture](**kwargs))
        except (TypeError, ValueError, RuntimeError):
            continue
        if expected == shapes:
            kwargs = dict(kwargs)
            num_classes, channels = kwargs.pop("num_classes"), kwargs.pop("in_channels", 3)
            found.append(Recognised(sig.architecture, sig.task, kwargs, num_classes, channels))
    return found


# -- torchvision's networks, by comparison with their own state_dicts -------------------------
def _variants(name: str) -> list[dict]:
    """The builder options that change which tensors a network has (auxiliary heads, kept or not)."""
    from core.models.zoo import AUX_LOGITS, AUX_LOSS_PREFIXES

    if name in AUX_LOGITS:
        return [{"aux_logits": True}, {"aux_logits": False}]
    if name.startswith(AUX_LOSS_PREFIXES):
        return [{"aux_loss": True}, {"aux_loss": False}]
    return [{}]


def _torchvision_shapes(name: str, variant: dict) -> Shapes:
    import torchvision.models

    from core.models.zoo import AUX_LOGITS, segmentation_names

    kwargs = dict(variant, num_classes=SENTINEL)
    if name in segmentation_names():
        kwargs["weights_backbone"] = None
    if name in AUX_LOGITS:
        kwargs["init_weights"] = False
    return _meta_shapes(lambda: torchvision.models.get_model(name, weights=None, **kwargs))


class SignatureStore:
    """State_dict shapes of torchvision's networks (the head's class count = SENTINEL), built when first
    needed and kept in the user data folder per torchvision version: building all takes seconds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            rows = json.loads(path.read_text())
        except (OSError, ValueError):
            rows = {}
        self.rows: dict[str, Shapes] = {k: {n: tuple(s) for n, s in v.items()} for k, v in rows.items()}
        self.dirty = False

    def shapes(self, name: str, variant: dict) -> Shapes:
        key = f"{name}|{json.dumps(variant, sort_keys=True)}"
        if key not in self.rows:
            self.rows[key] = _torchvision_shapes(name, variant)
            self.dirty = True
        return self.rows[key]

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            tmp.write_text(json.dumps(self.rows))
            tmp.replace(self.path)
            self.dirty = False
        except OSError:
            pass  # a read-only data folder only costs the time to build them again next time


@cache
def signature_store() -> SignatureStore:
    import torchvision

    return SignatureStore(user_data_dir() / f"torchvision-signatures-{torchvision.__version__}.json")


def _likeness(a: Shapes, b: Shapes) -> float:
    """Share of tensor names two state_dicts have in common (Jaccard index)."""
    return len(a.keys() & b.keys()) / max(1, len(a.keys() | b.keys()))


def _candidates(shapes: Shapes, only: str | None = None) -> list[tuple[str, dict]]:
    """(name, variant) of the torchvision networks to compare with, likeliest first: families (builder
    modules) ranked by how many tensor names their first member shares with the checkpoint."""
    import torchvision.models

    from core.models.zoo import zoo_names

    families: dict[str, list[str]] = {}
    for name in [only] if only else zoo_names():
        families.setdefault(torchvision.models.get_model_builder(name).__module__, []).append(name)
    store = signature_store()

    def likeness(members: list[str]) -> float:
        return max(_likeness(store.shapes(members[0], v), shapes) for v in _variants(members[0]))

    ranked = sorted(families.values(), key=likeness, reverse=True)
    return [(name, v) for members in ranked for name in members for v in _variants(name)]


def _vit_image_size(expected: tuple, got: tuple, shapes: Shapes) -> dict | None:
    """ViT's position embedding has one row per patch (+1): it gives the image size it was trained at."""
    patch = shapes.get("conv_proj.weight", (0, 0, 0))[2]
    side = math.isqrt(got[1] - 1) if len(got) == 3 and got[1] > 1 else 0
    if not patch or side * side != got[1] - 1 or got[::2] != expected[::2]:
        return None
    return {"image_size": side * patch}


FREE_SHAPES = {"encoder.pos_embedding": _vit_image_size}


def _torchvision_match(name: str, expected: Shapes, shapes: Shapes) -> dict | None:
    """The builder kwargs (num_classes included) under which torchvision's ``name`` has exactly ``shapes``."""
    if expected.keys() != shapes.keys():
        return None
    kwargs: dict = {}
    for key, want in expected.items():
        got = shapes[key]
        if want and want[0] == SENTINEL:
            if got[1:] != want[1:] or kwargs.setdefault("num_classes", got[0]) != got[0]:
                return None
        elif got != want:
            extra = FREE_SHAPES[key](want, got, shapes) if key in FREE_SHAPES else None
            if extra is None:
                return None
            kwargs.update(extra)
    return kwargs if "num_classes" in kwargs else None


def _torchvision_matches(shapes: Shapes, only: str | None = None) -> list[Recognised]:
    """The torchvision network that has exactly these tensors (their state_dicts are all different)."""
    from core.models.zoo import AUX_LOGITS, segmentation_names

    store = signature_store()
    try:
        for name, variant in _candidates(shapes, only):
            kwargs = _torchvision_match(name, store.shapes(name, variant), shapes)
            if kwargs is None:
                continue
            kwargs.update(variant)
            if name in AUX_LOGITS:
                kwargs["transform_input"] = True  # fine-tuned from torchvision's weights; edit the card if not
            num_classes = kwargs.pop("num_classes")
            task = "segmentation" if name in segmentation_names() else "multiclass"
            return [Recognised(f"torchvision:{name}", task, kwargs, num_classes, 3)]
        return []
    finally:
        store.save()


def _closest(shapes: Shapes, n: int = 3) -> list[str]:
    """The torchvision networks sharing most tensors (name and shape) with ``shapes``, for the message."""
    pairs, store = set(shapes.items()), signature_store()
    best: dict[str, float] = {}
    for name, variant in _candidates(shapes):
        expected = store.shapes(name, variant)
        score = len(pairs & set(expected.items())) / max(len(pairs), len(expected))
        best[name] = max(score, best.get(name, 0.0))
    store.save()
    ranked = sorted(best.items(), key=lambda item: -item[1])
    return [f"{name} ({score:.0%} of tensors alike)" for name, score in ranked[:n] if score >= 0.5]


def recognise(state: dict, architecture: str | None = None) -> Recognised:
    """The architecture of a state_dict, from its key names and shapes.

    ``architecture`` ("smallcnn", "resnet50" or "torchvision:resnet50") restricts the search to that network,
    as when the user chose among candidates. Raises :class:`AmbiguousArchitecture` when several fit exactly,
    ModelError (naming the closest networks) when none does.
    """
    shapes = _shapes(state)
    if architecture and architecture not in _architectures() and not architecture.startswith("torchvision:"):
        from core.models.zoo import is_zoo_name

        architecture = f"torchvision:{architecture}" if is_zoo_name(architecture) else architecture
    torchvision_only = bool(architecture) and architecture.startswith("torchvision:")
    found = [] if torchvision_only else _registered_matches(shapes, architecture)
    if not found and (architecture is None or torchvision_only):
        found = _torchvision_matches(shapes, architecture.removeprefix("torchvision:") if architecture else None)
    unique = list({r.architecture: r for r in found}.values())
    if len(unique) == 1:
        return unique[0]
    if len(unique) > 1:
        names = [r.architecture for r in unique]
        raise AmbiguousArchitecture(f"the weights fit several architectures: {', '.join(names)}; choose one", names)
    if architecture:
        raise ModelError(f"the weights do not fit {architecture}")
    closest = _closest(shapes)
    hint = f"; the closest are {', '.join(closest)}" if closest else ""
    raise ModelError(f"the weights ({len(shapes)} tensors) are of an architecture CV Lens does not know{hint}")


# -- file formats ------------------------------------------------------------------------
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


def load_torchscript(path: Path):
    """A TorchScript archive: its code is TorchScript, interpreted by torch, not Python that could run."""
    import torch

    check_archive(Path(path))
    try:
        return torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as exc:  # torch.jit raises RuntimeError or its own errors for a damaged archive
        raise ModelError(f"{Path(path).name} is not a TorchScript model CV Lens can read: {exc}") from None


class OnnxModel:
    """An ONNX model behind the interface the runner uses: ``to(device)``, ``eval()``, ``model(batch)``.

    onnxruntime runs it with the CUDA provider when the device is a GPU and the provider is installed,
    else on the CPU. A model exported with a fixed batch size is fed in chunks of that size.
    """

    def __init__(self, path: Path, device: str = "cpu", batch: int | None = None) -> None:
        self.path = Path(path)
        self.device = "cpu"
        self.session = None
        #: Images per call when the model's graph only works for that many (an internal reshape that
        #: fixes the batch although the input is declared dynamic); None: as the input declares.
        self.batch = batch
        self.to(device)

    def to(self, device=None, *args, **kwargs) -> OnnxModel:
        device = str(device) if device is not None and not isinstance(device, bool) else self.device
        if self.session is not None and device == self.device:
            return self
        import onnxruntime as ort

        providers: list = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            index = int(device.split(":")[1]) if ":" in device else 0
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": index}))
        try:
            self.session = ort.InferenceSession(str(self.path), providers=providers)
        except Exception as exc:  # onnxruntime's own exception types
            raise ModelError(f"{self.path.name} is not an ONNX model CV Lens can run: {exc}") from None
        self.device = device
        return self

    def eval(self) -> OnnxModel:
        return self

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    @property
    def input_shape(self) -> list:
        return list(self.session.get_inputs()[0].shape)

    @property
    def output_shape(self) -> list:
        return list(self.session.get_outputs()[0].shape)

    def __call__(self, batch):
        import numpy as np
        import torch

        inp = self.session.get_inputs()[0]
        dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
        array = batch.detach().float().cpu().numpy().astype(dtype, copy=False)
        fixed = inp.shape[0] if isinstance(inp.shape[0], int) and inp.shape[0] > 0 else self.batch or len(array)
        outs = [self.session.run(None, {inp.name: array[i : i + fixed]})[0] for i in range(0, len(array), fixed)]
        return torch.from_numpy(np.concatenate(outs).astype(np.float32, copy=False)).to(batch.device)


def load_onnx(path: Path, device: str = "cpu", batch: int | None = None) -> OnnxModel:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ModelError(f"{Path(path).name} is an ONNX model: install the 'onnxruntime' package to run it") from None
    return OnnxModel(path, device, batch)


# -- class names and cards ---------------------------------------------------------------
def default_class_names(n: int) -> list[str]:
    return [f"class {i}" for i in range(n)]


def read_class_names(weights: Path) -> tuple[list[str], Path] | None:
    """Class names from a sidecar next to the weights (``<stem>.classes.txt`` or ``classes.txt``, one per line)."""
    weights = Path(weights)
    for pattern in CLASS_FILES:
        candidate = weights.with_name(pattern.format(stem=weights.stem))
        if candidate.is_file():
            names = [line.strip() for line in candidate.read_text(encoding="utf-8").splitlines()]
            return [n for n in names if n], candidate
    return None


def _classes_for(weights: Path, num_classes: int | None, given: list[str] | None) -> list[str]:
    source = "the list given"
    classes = list(given) if given is not None else None
    if classes is None and (sidecar := read_class_names(weights)) is not None:
        classes, path = sidecar
        source = path.name
    if classes is None:
        return default_class_names(num_classes or 0)
    if num_classes is not None and len(classes) != num_classes:
        raise ModelError(
            f"the head of {weights.name} has {num_classes} outputs, but {source} has {len(classes)} class names"
        )
    return classes


def _preprocessing_for(recognised: Recognised) -> dict:
    """The defaults shown to the user: torchvision's own eval transform for its networks."""
    name = recognised.architecture.removeprefix("torchvision:")
    if recognised.architecture.startswith("torchvision:"):
        from core.models.zoo import _preprocessing, _weights

        pre = _preprocessing(_weights(name))
        size = recognised.arch_kwargs.get("image_size")
        if size and (size, size) != pre["input_size"]:
            pre.update(input_size=(size, size), resize_size=None)
        return pre
    return _plain_preprocessing(recognised.channels)


def _plain_preprocessing(channels: int, input_size: tuple[int, int] = DEFAULT_INPUT_SIZE) -> dict:
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if channels == 3 else ([0.5] * channels, [0.5] * channels)
    return {"input_size": input_size, "mean": mean, "std": std}


def _forward(model, batch: int, channels: int, input_size: tuple[int, int]):
    """The model's main output on a blank batch (the first of a tuple, "out" of a dict)."""
    import torch

    with torch.inference_mode():
        out = model(torch.zeros(batch, channels, *input_size))
    if isinstance(out, dict):
        out = out.get("out", next(iter(out.values())))
    if isinstance(out, (tuple, list)):
        out = out[0]
    return out


def _probe(model, channels: int, input_size: tuple[int, int]) -> tuple[int, str, bool]:
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


def _first_conv_channels(module) -> int:
    for tensor in module.state_dict().values():
        if tensor.ndim == 4:
            return int(tensor.shape[1])
    return 3


def _static(dims: list, default: tuple[int, int]) -> tuple[int, int]:
    return (dims[2], dims[3]) if len(dims) == 4 and all(isinstance(d, int) and d > 0 for d in dims[2:]) else default


def _open_state_dict(path: Path, architecture: str | None, classes: list[str] | None) -> ModelCard:
    rec = recognise(load_state_dict(path), architecture)
    return ModelCard(
        name=path.stem,
        architecture=rec.architecture,
        task=rec.task,
        classes=_classes_for(path, rec.num_classes, classes),
        channels=rec.channels,
        arch_kwargs=rec.arch_kwargs,
        weights=str(path.resolve()),
        title=path.stem,
        description=f"{rec.architecture}, recognised from the weights in {path.name}",
        **_preprocessing_for(rec),
    )


def _open_program(path: Path, kind: str, classes: list[str] | None) -> ModelCard:
    """A TorchScript or ONNX model: channels and input size from the model, the class count by probing it."""
    if kind == "torchscript":
        model = load_torchscript(path)
        channels, size = _first_conv_channels(model), DEFAULT_INPUT_SIZE
    else:
        model = load_onnx(path)
        dims = model.input_shape
        channels = dims[1] if len(dims) == 4 and isinstance(dims[1], int) else 3
        size = _static(dims, DEFAULT_INPUT_SIZE)
    outputs, task, batches = _probe(model, channels, size)
    return ModelCard(
        arch_kwargs={} if batches else {"batch": 1},
        name=path.stem,
        architecture=kind,
        task=task,
        classes=_classes_for(path, outputs, classes),
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
    from core.models.cards import load_card

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
