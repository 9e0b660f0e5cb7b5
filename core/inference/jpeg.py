"""JPEG files decoded on the run device (``torchvision.io.decode_jpeg(device="cuda")``, nvJPEG on a GPU).

Workers then only read the files' bytes (:class:`~core.inference.batches.FileBytes`); the device decodes
and preprocesses the batch. A file the device cannot decode (CMYK, damaged, a PNG named .jpg) goes through
the CPU decoder, which either reads it or names what is wrong with it.
"""

from __future__ import annotations

import numpy as np

from core.datasets.base import Dataset, SampleError
from core.datasets.imageio import read_image
from core.models.cards import ModelCard
from core.models.preprocess import preprocess_tensors

JPEG_SUFFIXES = (".jpg", ".jpeg", ".jfif")


def jpeg_files(dataset: Dataset, indices: np.ndarray) -> bool:
    """The samples are JPEG files whose decoded content is the sample's image (no crop by the reader)."""
    paths = [dataset.sample_path(int(i)) for i in indices]
    if not paths or any(p is None or p.suffix.lower() not in JPEG_SUFFIXES for p in paths):
        return False
    try:
        return read_image(paths[0]).shape == dataset.load_image(int(indices[0])).shape
    except (SampleError, OSError):
        return False


def _decode_one(blob, device: str):
    from torchvision.io import ImageReadMode, decode_jpeg

    try:
        return decode_jpeg(blob, mode=ImageReadMode.RGB, device=device, apply_exif_orientation=True)
    except Exception:
        return None


def _decode_all(blobs: list, device: str) -> list:
    """Every blob decoded on ``device`` (None for a file it cannot decode)."""
    from torchvision.io import ImageReadMode, decode_jpeg

    if not blobs:
        return []
    try:
        return decode_jpeg(blobs, mode=ImageReadMode.RGB, device=device, apply_exif_orientation=True)
    except Exception:  # one bad file fails the whole call: decode one by one
        return [_decode_one(blob, device) for blob in blobs]


def decode_on_device(
    card: ModelCard, dataset: Dataset, device: str, indices: list[int], items: list
) -> tuple[list[int], object, list[tuple[int, str]]]:
    """JPEG bytes -> a preprocessed batch on the device: (indices, N x C x H x W, [(index, error)]).

    ``items`` holds file bytes (uint8 tensors) and, for the files a worker decoded itself, arrays.
    """
    import torch

    on_device = iter(_decode_all([item for item in items if isinstance(item, torch.Tensor)], device))
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
