"""Weight files read as data: checksums, safetensors and torch pickles, the state_dict inside a checkpoint.

The bottom of ``core.models`` (with :mod:`core.models.cards`): it imports nothing of the building,
checkpoint or zoo modules above it, as torchvision's ``models/_api.py`` sits below every builder.
Weights are data, never code: pickles are read with ``torch.load(..., weights_only=True)`` and a file
that needs more is refused with a message. torch and safetensors are imported inside the
functions that use them, so that importing ``core.models`` does not load torch (start-up time).
"""

from __future__ import annotations

import hashlib
import pickle
import zipfile
from pathlib import Path

from core.models.cards import ModelError
from core.system.paths import data_dir

#: Keys under which training scripts commonly nest the state_dict in a checkpoint.
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net")
#: Prefixes added by DataParallel / DistributedDataParallel and by torch.compile.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
SAFETENSORS_SUFFIXES = (".safetensors", ".st")


def user_data_dir() -> Path:
    """CV Lens' folder for the user's data (caches): see core.system.paths.data_dir."""
    return data_dir()


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file as hex, read in chunks (weights files are large)."""
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
