"""JPEG files decoded on the run device: nvJPEG on a GPU (a batch in one call), libjpeg-turbo on a CPU.

The decoder is TorchCodec's ``decode_jpeg`` where TorchCodec imports (``torchcodec==0.17.0`` is a dependency);
torchvision 0.29 deprecated its own image decoding in its favour. Where TorchCodec is not installed, or its
libraries do not load with the installed torch, torchvision's ``decode_jpeg`` decodes instead (the fallback).
Both apply the EXIF orientation and give the same pixels on a CPU.

Workers then only read the files' bytes (:class:`~core.inference.batches.FileBytes`); the device decodes
and preprocesses the batch. A file the device cannot decode (CMYK, damaged, a PNG named .jpg) goes through
the CPU decoder, which either reads it or names what is wrong with it.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from core.datasets.base import Dataset, SampleError
from core.datasets.imageio import read_image
from core.models.cards import ModelCard, ModelError
from core.models.preprocess import preprocess_tensors

JPEG_SUFFIXES = (".jpg", ".jpeg", ".jfif")
#: Which library decodes on the device: "auto" (TorchCodec where it imports, else torchvision), or one of them.
JPEG_LIBRARIES = ("auto", "torchcodec", "torchvision")
#: The start of the DeprecationWarning torchvision 0.29 gives on every call of its image decoders.
TORCHVISION_DEPRECATION = "The image decoding and encoding capabilities of TorchVision"


def jpeg_files(dataset: Dataset, indices: np.ndarray) -> bool:
    """The samples are JPEG files whose decoded content is the sample's image (no crop by the reader)."""
    paths = [dataset.sample_path(int(i)) for i in indices]
    if not paths or any(p is None or p.suffix.lower() not in JPEG_SUFFIXES for p in paths):
        return False
    try:
        return read_image(paths[0]).shape == dataset.load_image(int(indices[0])).shape
    except (SampleError, OSError):
        return False


@functools.cache
def _torchcodec() -> tuple[object | None, str]:
    """(TorchCodec's decode_jpeg, "") or (None, why it cannot be used)."""
    try:
        from torchcodec.decoders import decode_jpeg
    except Exception as exc:  # not installed, or built for another torch: its libraries fail to load
        return None, f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
    return decode_jpeg, ""


def pick_jpeg_library(requested: str = "auto") -> str:
    """The library that decodes: "torchcodec" or "torchvision". ModelError for TorchCodec asked for but unusable."""
    if requested not in JPEG_LIBRARIES:
        raise ModelError(f"the JPEG library must be one of {JPEG_LIBRARIES}, not {requested!r}")
    decode, reason = _torchcodec()
    if requested == "torchcodec" and decode is None:
        raise ModelError(f"TorchCodec cannot decode here ({reason})")
    return "torchvision" if requested == "torchvision" or decode is None else "torchcodec"


def _torchvision_decode(blobs, device: str):
    from torchvision.io import ImageReadMode, decode_jpeg

    # torchvision 0.29 warns on every call that its decoders are deprecated. This is the fallback for where
    # TorchCodec cannot be used, chosen knowingly: the warning says nothing to a user. Only this call is
    # silenced (the filter is restored at once), and only one thread decodes at a time (DeviceFeed's).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=TORCHVISION_DEPRECATION, category=DeprecationWarning)
        return decode_jpeg(blobs, mode=ImageReadMode.RGB, device=device, apply_exif_orientation=True)


def _decode(blobs, device: str, library: str):
    """Decode one blob or a list of them (one nvJPEG call on a GPU) with the library named."""
    if library == "torchcodec":
        return _torchcodec()[0](blobs, mode="RGB", device=device)  # applies the EXIF orientation itself
    return _torchvision_decode(blobs, device)


def _decode_one(blob, device: str, library: str):
    try:
        return _decode(blob, device, library)
    except Warning:  # a warning made an error (-W error, the test suite): not the file's fault, not to hide
        raise
    except Exception:  # damaged, truncated, not a JPEG, a colour space the decoder refuses
        return None


def decode_jpegs(blobs: list, device: str, library: str = "auto") -> list:
    """Every blob (1-D uint8 CPU tensor of a file's bytes) decoded on ``device`` into a 3 x H x W uint8 RGB tensor,
    None for a blob the decoder refuses: the CPU decoder then decides and names the problem."""
    if not blobs:
        return []
    library = pick_jpeg_library(library)
    try:
        return list(_decode(list(blobs), device, library))
    except Warning:
        raise
    except Exception:  # one bad file fails the whole call: decode one by one
        return [_decode_one(blob, device, library) for blob in blobs]


def decode_on_device(
    card: ModelCard, dataset: Dataset, device: str, indices: list[int], items: list, library: str = "auto"
) -> tuple[list[int], object, list[tuple[int, str]]]:
    """JPEG bytes -> a preprocessed batch on the device: (indices, N x C x H x W, [(index, error)]).

    ``items`` holds file bytes (uint8 tensors) and, for the files a worker decoded itself, arrays.
    ``library``: see :data:`JPEG_LIBRARIES`.
    """
    import torch

    blobs = [item for item in items if isinstance(item, torch.Tensor)]
    on_device = iter(decode_jpegs(blobs, device, library))
    rows: dict[int, object] = {}  # position in the batch -> preprocessed tensor
    images: dict[int, object] = {}  # position -> decoded uint8 image, preprocessed together below
    failed = []
    for k, (index, item) in enumerate(zip(indices, items)):
        image = next(on_device) if isinstance(item, torch.Tensor) else None
        if image is not None:
            images[k] = image
            continue
        try:
            rows[k] = torch.from_numpy(_decoded_on_cpu(card, dataset, index, item)).to(device)
        except SampleError as exc:
            failed.append((index, str(exc)))
    if images:
        rows.update(zip(images, preprocess_tensors(card, list(images.values()))))
    order = sorted(rows)
    batch = torch.stack([rows[k] for k in order]) if order else None
    return [indices[k] for k in order], batch, failed


def _decoded_on_cpu(card: ModelCard, dataset: Dataset, index: int, item) -> np.ndarray:
    """A sample the device did not decode: decoded by the worker (EXIF rotation), or now by the CPU
    decoder, which decides about a file nvJPEG refused (CMYK, damaged) and names the problem."""
    import torch

    if not isinstance(item, torch.Tensor):
        return item
    return card.preprocess(dataset.load_image(index))
