"""What DataLoader workers do: read and decode samples into batches, and say which samples failed.

Workers are spawned processes (safe after CUDA started). A sample that cannot be read is an error of that
sample, recorded with its message; it never ends the run. Only a loader that fails as a whole does.
"""

from __future__ import annotations

import os

import numpy as np

from core.datasets.base import Dataset, SampleError
from core.inference.predictions import Predictions
from core.models.cards import ModelCard, ModelError


class DecodedImages:
    """torch Dataset view: index -> (index, C x H x W float32 or None, error message)."""

    def __init__(self, dataset: Dataset, card: ModelCard, indices: np.ndarray) -> None:
        self.dataset, self.card, self.indices = dataset, card, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int):
        index = int(self.indices[k])
        try:
            return index, self.card.preprocess(self.dataset.load_image(index)), ""
        except SampleError as exc:
            return index, None, str(exc)
        except Exception as exc:  # a reader bug must not end the run: record it on the sample
            return index, None, f"{type(exc).__name__}: {exc}"


class FileBytes(DecodedImages):
    """index -> (index, the file's bytes as a uint8 tensor, error): decoding happens on the GPU.

    torchvision's GPU decoder ignores EXIF orientation (the fallback; TorchCodec's applies it): a rotated photo
    is decoded here instead, as the CPU path does it, whichever library decodes the others
    (the item is then a preprocessed array, like :class:`DecodedImages` gives).
    """

    def __getitem__(self, k: int):
        import torch

        index = int(self.indices[k])
        try:
            data = np.frombuffer(bytearray(self.dataset.read_encoded(index)), dtype=np.uint8)  # writable for torch
        except SampleError as exc:
            return index, None, str(exc)
        if exif_rotated(data):
            return super().__getitem__(k)
        return index, torch.from_numpy(data), ""


def exif_rotated(data: np.ndarray) -> bool:
    """Whether a JPEG's EXIF orientation asks for a rotation or a flip (PIL reads the header only)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data.tobytes())) as image:
            return image.getexif().get(0x0112, 1) not in (1, 0)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False  # not readable here: the decoders will say what is wrong


def collate_arrays(items):
    """Items of :class:`DecodedImages` -> (indices, N x C x H x W tensor or None, [(index, error)])."""
    import torch

    good = [(i, x) for i, x, _ in items if x is not None]
    failed = [(i, err) for i, x, err in items if x is None]
    indices = [i for i, _ in good]
    batch = torch.from_numpy(np.stack([x for _, x in good])) if good else None
    return indices, batch, failed


def collate_bytes(items):
    """Items of :class:`FileBytes` -> (indices, a list of byte tensors and arrays or None, [(index, error)])."""
    good = [(i, x) for i, x, _ in items if x is not None]
    failed = [(i, err) for i, x, err in items if x is None]
    return [i for i, _ in good], [x for _, x in good] or None, failed


def worker_init(_worker_id: int) -> None:
    """One thread per worker: the workers are the parallelism; more threads would only contend."""
    import cv2
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def default_workers(n_samples: int) -> int:
    """Decode in worker processes only when there is enough work to pay for starting them."""
    if n_samples < 2000:
        return 0
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def make_loader(
    dataset: Dataset,
    card: ModelCard,
    todo: np.ndarray,
    *,
    file_bytes: bool,
    batch_size: int,
    workers: int,
    pin_memory: bool,
    mp_context: str,
):
    """The DataLoader over ``todo``: decoded and preprocessed images, or (``file_bytes``) the files' bytes."""
    from torch.utils.data import DataLoader

    return DataLoader(
        (FileBytes if file_bytes else DecodedImages)(dataset, card, todo),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=collate_bytes if file_bytes else collate_arrays,
        pin_memory=pin_memory,
        multiprocessing_context=mp_context if workers else None,
        worker_init_fn=worker_init if workers else None,
        prefetch_factor=4 if workers else None,
        persistent_workers=False,
    )


class ThreadedBatches:
    """Batches of ``source[k]`` items read by a few threads a few batches ahead, in order, then ``collate``d.

    Where a spawned worker process would only read a file (the GPU decodes it) or decode one with a library
    that releases the GIL (OpenCV, zlib), threads do the same without the seconds it takes to start processes
    that import torch, which a run of a few thousand images never wins back. The threads read while the device
    runs the batches before.
    """

    def __init__(self, source, batch_size: int, collate, threads: int | None = None, ahead: int = 3) -> None:
        self.source, self.batch_size, self.collate = source, max(1, batch_size), collate
        self.threads = threads or max(1, min(4, os.cpu_count() or 1))
        self.ahead = ahead

    def __len__(self) -> int:
        return -(-len(self.source) // self.batch_size)

    def _batch(self, start: int):
        return self.collate([self.source[k] for k in range(start, min(start + self.batch_size, len(self.source)))])

    def __iter__(self):
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor
        from itertools import islice

        starts = iter(range(0, len(self.source), self.batch_size))
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            queued = deque(pool.submit(self._batch, start) for start in islice(starts, self.ahead))
            try:
                while queued:
                    batch = queued.popleft().result()
                    for start in islice(starts, 1):  # one more batch read ahead for the one taken
                        queued.append(pool.submit(self._batch, start))
                    yield batch
            finally:  # cancelled: the reads queued are dropped, those running end on their own
                for future in queued:
                    future.cancel()


def batches_of(loader, preds: Predictions):
    """The loader's batches; a loader that fails (a worker killed, a dataset that cannot be sent to the
    worker processes) ends the run with a message. Per-sample errors never get here: workers record them."""
    batches = iter(loader)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise ModelError(
                f"decoding failed ({type(exc).__name__}: {first}); the {preds.num_done} samples done before "
                "are kept. Run again with fewer decoding workers, or none"
            ) from exc
        yield batch
