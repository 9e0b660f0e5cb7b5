"""Building a model from its card and loading its weights safely.

A card's ``architecture`` says how the model is made: a name of :func:`_architectures` (the networks
defined in ``core.models``), ``torchvision:<name>`` (see :mod:`core.models.zoo`), ``torchscript`` or
``onnx`` (see :mod:`core.models.checkpoints`). Weights are data, never code: pickles are read with
``torch.load(..., weights_only=True)`` and a file that needs more is refused with a message.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

from core.models.cards import ModelCard, ModelError

#: Keys under which training scripts commonly nest the state_dict in a checkpoint.
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net")
#: Prefixes added by DataParallel / DistributedDataParallel and by torch.compile.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
SAFETENSORS_SUFFIXES = (".safetensors", ".st")


def _architectures() -> dict:
    """The networks defined in ``core.models``, by the name a card gives in ``architecture``."""
    from core.models.smallcnn import SmallCNN
    from core.models.unet import UNet

    return {"smallcnn": SmallCNN, "unet": UNet}


def user_data_dir() -> Path:
    """CV Lens' folder for the user's data (caches): see core.system.paths.data_dir."""
    from core.system.paths import data_dir

    return data_dir()


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def is_safetensors(path: Path) -> bool:
    """A safetensors file: 8 bytes of header length, then a JSON header."""
    if path.suffix.lower() in SAFETENSORS_SUFFIXES:
        return True
    try:
        with open(path, "rb") as handle:
            head = handle.read(10)
    except OSError:
        return False
    return len(head) == 10 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 100 << 20


#: torch.save stores its zip entries uncompressed; a re-zipped checkpoint of float weights
#: compresses by well under this ratio, a zip bomb by hundreds.
MAX_ARCHIVE_RATIO = 10
#: Uncompressed sizes below this are never refused (tiny files compress well).
ARCHIVE_SLACK = 64 << 20


def check_archive(path: Path) -> None:
    """Refuse a zip archive whose entries inflate out of proportion to the file, before torch reads it.

    The sizes come from the archive's central directory; an entry that inflates past its declared
    size is an error in torch's reader (miniz), so the declared sizes bound what loading allocates.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ModelError(f"{path.name} is a damaged zip archive ({exc})") from None
    size = path.stat().st_size
    if declared > max(MAX_ARCHIVE_RATIO * size, ARCHIVE_SLACK):
        raise ModelError(
            f"{path.name} would inflate to {declared / (1 << 20):,.0f} MiB from {size / (1 << 20):,.1f} MiB "
            f"(over {MAX_ARCHIVE_RATIO}x): refused as a zip bomb; torch.save writes checkpoints uncompressed"
        )


def _read_pickle(path: Path):
    import pickle

    import torch

    with open(path, "rb") as handle:
        head = handle.read(4)
    if head != b"PK\x03\x04" and head[:1] != b"\x80":  # torch.save writes a zip, or a pickle of protocol >= 2
        raise ModelError(f"{path.name} is not a model checkpoint CV Lens can read (neither a zip nor a pickle)")
    if head == b"PK\x03\x04":
        check_archive(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [""]
        if "weights only" not in lines[0].lower():  # not a refusal: the file is no pickle at all
            raise ModelError(f"{path.name} is not a model checkpoint CV Lens can read ({lines[0]})") from None
        reason = next((line for line in lines if line.startswith("Unsupported")), lines[0])
        raise ModelError(
            f"{path.name} is not a plain weights file: it needs to run code to load, and CV Lens never runs "
            f"code from a file ({reason}). Save model.state_dict() instead, or export the model to "
            f"TorchScript or ONNX"
        ) from None
    except Exception as exc:  # torch.load raises KeyError, RuntimeError, EOFError... on files that are no checkpoint
        reason = f"{type(exc).__name__}: {exc}"
        raise ModelError(f"{path.name} is not a model checkpoint CV Lens can read ({reason})") from None


def _read_safetensors(path: Path) -> dict:
    try:
        from safetensors import SafetensorError
        from safetensors.torch import load_file
    except ImportError:
        raise ModelError(f"{path.name} is a safetensors file: install the 'safetensors' package to read it") from None
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{path.name} is not a safetensors file CV Lens can read: {exc}") from None


def unwrap_state_dict(state, name: str = "checkpoint") -> dict:
    """The state_dict inside a checkpoint: unnested from {"state_dict": ...} or {"model": ...}, with the
    "module." prefixes of DataParallel (and "_orig_mod." of torch.compile) stripped."""
    import torch

    for _ in range(3):  # {"model": {"state_dict": ...}} happens
        if not isinstance(state, dict):
            break
        inner = next((state[k] for k in WRAPPER_KEYS if isinstance(state.get(k), dict)), None)
        if inner is None or any(isinstance(v, torch.Tensor) for v in state.values()):
            break
        state = inner
    if not isinstance(state, dict):
        raise ModelError(f"{name} holds a {type(state).__name__}, not a state_dict")
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        keys = ", ".join(map(str, list(state)[:8]))
        raise ModelError(f"{name} holds no weights (its top-level keys are {keys})")
    for prefix in WRAPPER_PREFIXES * 2:
        if all(k.startswith(prefix) for k in tensors):
            tensors = {k[len(prefix) :]: v for k, v in tensors.items()}
    return tensors


def load_state_dict(path: Path) -> dict:
    """Read a checkpoint as data only: a pickle that would run code is refused, never executed.

    Reads torch pickles (.pt, .pth, .bin) and safetensors files; returns name -> tensor.
    """
    path = Path(path)
    state = _read_safetensors(path) if is_safetensors(path) else _read_pickle(path)
    return unwrap_state_dict(state, path.name)


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
        from core.models.zoo import build_torchvision

        if card.weights_path is not None and card.weights_path.is_file():
            _checked_weights(card)
        return build_torchvision(card)
    if card.architecture in ("torchscript", "onnx"):
        from core.models.checkpoints import load_onnx, load_torchscript

        path = _checked_weights(card)
        if path is None:
            raise ModelError(f"a {card.architecture} model needs its file; card {card.name!r} names none")
        if card.architecture == "torchscript":
            return load_torchscript(path)
        return load_onnx(path, batch=card.arch_kwargs.get("batch"))
    return _build_registered(card)


def _build_registered(card: ModelCard):
    architectures = _architectures()
    if card.architecture not in architectures:
        known = [*sorted(architectures), "torchvision:<name>", "torchscript", "onnx"]
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
    from core.models.cards import find_card

    path = Path(spec).expanduser()
    if path.is_file():
        if path.suffix == ".json" or path.with_suffix(".json").is_file():
            return find_card(path)
        from core.models.checkpoints import open_checkpoint

        return open_checkpoint(path, architecture=architecture, classes=classes)
    try:
        return find_card(spec)
    except ModelError as not_bundled:
        from core.models import zoo

        if zoo.is_zoo_name(str(spec)):
            return zoo.zoo_card(str(spec))
        raise ModelError(f"{not_bundled}, a checkpoint file, or a torchvision network (resnet50, vgg16, ...)") from None
