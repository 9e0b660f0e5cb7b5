"""Running a model over a dataset in batches, with progress, cancel and resume, as fast as the device allows.

:class:`InferenceJob` owns a :class:`Predictions` that it fills batch by batch. ``run()`` is a
generator that yields one :class:`Progress` per batch; stopping the iteration between two
yields is cancelling (superqt's GeneratorWorker does exactly that), and what was done so far
stays in ``job.predictions``. Calling ``run()`` again resumes with the samples not yet done.
The job starts no threads of its own: the GUI runs the generator in a worker, the CLI in a loop.

Speed: images are decoded in DataLoader worker processes (spawned, so it is safe after CUDA
started); on CUDA batches go through pinned memory with non-blocking copies, in channels_last,
under autocast (bfloat16 where the GPU has it, else float16), and JPEG files are decoded on the
GPU itself (``torchvision.io.decode_jpeg(device="cuda")``, workers only read the bytes). The batch
size may be "auto": on out-of-memory it is halved and the batch retried, and the size that fits
is remembered per model and device. ``torch.compile`` is optional.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.datasets.base import Dataset, SampleError
from core.inference.predictions import Predictions
from core.models.cards import ModelCard, ModelError

JPEG_SUFFIXES = (".jpg", ".jpeg", ".jfif")
JPEG_DECODERS = ("auto", "opencv", "device")
AUTO_BATCH = {"cuda": 256, "cpu": 64}
BATCH_CACHE = "batch_sizes.json"


@dataclass(frozen=True)
class Progress:
    done: int  # samples handled so far in this job (predicted or failed)
    total: int
    failed: int
    elapsed: float  # seconds since this run started
    images_per_s: float
    device: str
    batch_size: int = 0  # images per forward pass now (it shrinks when the device runs out of memory)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def eta(self) -> float:
        """Seconds left at the current rate (inf before the first batch)."""
        if self.images_per_s <= 0:
            return float("inf")
        return max(self.total - self.done, 0) / self.images_per_s


def pick_device(requested: str | None = None) -> str:
    """The device to run on: the one asked for, else CUDA, else Apple MPS, else the CPU."""
    import torch

    if requested and requested != "auto":
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise ModelError("CUDA was asked for but no CUDA GPU is available")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def available_devices() -> list[str]:
    """Every device a run can use here, the default first."""
    import torch

    devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return [*devices, "cpu"]


# -- does the model fit the data -----------------------------------------------------------
def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name).strip().casefold()


@dataclass(frozen=True)
class ClassMapping:
    """Model classes -> dataset classes by name, when the two overlap without being the same list.

    ``sources[j]`` are the model classes whose scores become dataset class j's score. For single-label
    tasks the kept scores are renormalised to sum to 1 (the prediction is the best of the dataset's
    classes, as when an ImageNet network is run on an ImageNet subset); for multilabel the best is kept.
    """

    model_classes: list[str]
    dataset_classes: list[str]
    sources: list[list[int]]

    @property
    def unmapped(self) -> list[str]:
        """Dataset classes no model class maps to: they can never be predicted."""
        return [name for name, src in zip(self.dataset_classes, self.sources) if not src]

    @property
    def num_mapped(self) -> int:
        return sum(1 for src in self.sources if src)

    def apply(self, scores: np.ndarray, multilabel: bool = False) -> np.ndarray:
        out = np.zeros((len(scores), len(self.sources)), dtype=np.float32)
        for j, src in enumerate(self.sources):
            if src:
                out[:, j] = scores[:, src].max(axis=1) if multilabel else scores[:, src].sum(axis=1)
        if not multilabel:
            total = out.sum(axis=1, keepdims=True)
            out = np.divide(out, total, out=np.zeros_like(out), where=total > 0)
        return out


def map_classes(
    model_classes: Sequence[str], dataset_classes: Sequence[str], chosen: Mapping[str, str] | None = None
) -> ClassMapping:
    """Match class names (case, spaces, '_' and '-' ignored); a ModelError when none match.

    ``chosen``: the user's map, dataset class -> model class name (a dataset class left out is never
    predicted); every model class of that name feeds it (ImageNet names two classes "crane").
    """
    index: dict[str, list[int]] = {}
    for i, name in enumerate(model_classes):
        index.setdefault(_norm(name), []).append(i)
    if chosen is None:
        sources = [index.get(_norm(name), []) for name in dataset_classes]
    else:
        unknown = sorted(set(chosen.values()) - set(model_classes))
        if unknown:
            raise ModelError(f"the class map names classes the model does not have: {', '.join(unknown[:5])}")
        sources = [index[_norm(chosen[name])] if name in chosen else [] for name in dataset_classes]
    mapping = ClassMapping(list(model_classes), list(dataset_classes), sources)
    if mapping.num_mapped == 0:
        raise ModelError("no class name of the model matches a class of the dataset: nothing to map")
    return mapping


def suggested_class_map(model_classes: Sequence[str], dataset_classes: Sequence[str]) -> dict[str, str]:
    """Dataset class -> model class for the names :func:`map_classes` matches (what a user confirms)."""
    index: dict[str, str] = {}
    for name in model_classes:
        index.setdefault(_norm(name), name)
    return {name: index[_norm(name)] for name in dataset_classes if _norm(name) in index}


def check_fit(card: ModelCard, dataset: Dataset, class_map: ClassMapping | None = None) -> None:
    """Refuse a model that does not fit the dataset, before any work is done."""
    if dataset.task != card.task and {dataset.task, card.task} != {"binary", "multiclass"}:
        raise ModelError(f"{card.display_name} is a {card.task} model; {dataset.name} is a {dataset.task} dataset")
    if card.channels not in (1, 3):
        raise ModelError(f"{card.display_name} takes {card.channels}-channel input; images are gray or RGB")
    if class_map is not None:
        if list(class_map.model_classes) != list(card.classes) or class_map.dataset_classes != list(dataset.classes):
            raise ModelError("the class mapping was made for another model or dataset")
        return
    if dataset.classes and list(dataset.classes) != list(card.classes):
        overlap = len({_norm(c) for c in card.classes} & {_norm(c) for c in dataset.classes})
        hint = f"; {overlap} names are in both: map the classes by name to run it" if overlap else ""
        raise ModelError(
            f"{card.display_name} predicts {card.num_classes} classes ({_preview(card.classes)}), "
            f"but {dataset.name} has {dataset.num_classes} ({_preview(dataset.classes)}){hint}"
        )


def _preview(names: Sequence[str], n: int = 4) -> str:
    head = ", ".join(names[:n])
    return head + (", ..." if len(names) > n else "")


# -- what DataLoader workers do ---------------------------------------------------------------
class _Batches:
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


class _FileBytes(_Batches):
    """index -> (index, the file's bytes as a uint8 tensor, error): decoding happens on the GPU.

    nvJPEG ignores EXIF orientation: a rotated photo is decoded here instead, as the CPU path does it
    (the item is then a preprocessed array, like :class:`_Batches` gives).
    """

    def __getitem__(self, k: int):
        import torch

        index = int(self.indices[k])
        try:
            data = np.frombuffer(bytearray(self.dataset.read_encoded(index)), dtype=np.uint8)  # writable for torch
        except SampleError as exc:
            return index, None, str(exc)
        if _exif_rotated(data):
            return super().__getitem__(k)
        return index, torch.from_numpy(data), ""


def _exif_rotated(data: np.ndarray) -> bool:
    """Whether a JPEG's EXIF orientation asks for a rotation or a flip (PIL reads the header only)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data.tobytes())) as image:
            return image.getexif().get(0x0112, 1) not in (1, 0)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False  # not readable here: the decoders will say what is wrong


def _collate(items):
    import torch

    good = [(i, x) for i, x, _ in items if x is not None]
    failed = [(i, err) for i, x, err in items if x is None]
    indices = [i for i, _ in good]
    batch = torch.from_numpy(np.stack([x for _, x in good])) if good else None
    return indices, batch, failed


def _collate_bytes(items):
    good = [(i, x) for i, x, _ in items if x is not None]
    failed = [(i, err) for i, x, err in items if x is None]
    return [i for i, _ in good], [x for _, x in good] or None, failed


def _worker_init(_worker_id: int) -> None:
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


# -- on the device ------------------------------------------------------------------------------
def preprocess_on_device(card: ModelCard, images: list) -> object:
    """``card.preprocess`` for C x H x W uint8 tensors already on the device (after GPU decoding): N x C x H x W.

    Images of one size are resized in one call; the normalisation is done once for the batch.
    """
    import torch
    import torchvision.transforms.v2.functional as F
    from torchvision.transforms import InterpolationMode

    mode = InterpolationMode.BILINEAR if card.interpolation == "auto" else InterpolationMode(card.interpolation)
    size = [card.resize_size] if card.resize_size is not None else list(card.input_size)

    def prepare(x):
        return F.center_crop(F.resize(x, size, interpolation=mode, antialias=True), list(card.input_size))

    if len({tuple(image.shape) for image in images}) == 1:
        batch = prepare(torch.stack(images))
    else:
        batch = torch.stack([prepare(image) for image in images])
    batch = batch.float().div_(255.0)
    if card.channels == 1:
        batch = F.rgb_to_grayscale(batch)
    mean = torch.tensor(card.mean, dtype=batch.dtype).view(1, -1, 1, 1).to(batch.device, non_blocking=True)
    std = torch.tensor(card.std, dtype=batch.dtype).view(1, -1, 1, 1).to(batch.device, non_blocking=True)
    return (batch - mean) / std


def _as_logits(output):
    """The class scores of a model's output: torchvision segmenters give {"out": ...}, Inception a tuple."""
    if isinstance(output, dict):
        output = output["out"] if "out" in output else next(iter(output.values()))
    if isinstance(output, (tuple, list)):
        output = output[0]
    return output


def _is_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def _device_failed(exc: BaseException) -> bool:
    import torch

    accelerator_error = getattr(torch, "AcceleratorError", ())
    return isinstance(exc, accelerator_error) or "CUDA error" in str(exc) or "CUDA driver" in str(exc)


# -- remembered batch sizes -------------------------------------------------------------------
def _batch_cache_path() -> Path:
    from core.models.weights import user_data_dir

    return user_data_dir() / BATCH_CACHE


def remembered_batch_sizes() -> dict[str, int]:
    """Batch sizes that fit, by model and device, as the runner learned them from out-of-memory errors."""
    try:
        data = json.loads(_batch_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}


def remember_batch_size(key: str, size: int) -> None:
    sizes = remembered_batch_sizes()
    sizes[key] = int(size)
    path = _batch_cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(sizes, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only data folder only means learning it again next time


@dataclass
class _Fit:
    """The batch size now in use, and what the run learned on the way."""

    size: int
    auto: bool
    key: str
    notes: list[str] = field(default_factory=list)


class InferenceJob:
    """A model run over (part of) a dataset. See the module docstring.

    ``batch_size``: an int, or "auto" (start from the size remembered for this model and device, else
    256 on CUDA / 64 elsewhere). ``amp``: autocast on CUDA (bfloat16 where supported, else float16).
    ``channels_last``: None = on CUDA only. ``compile``: False, True, or a torch.compile backend name.
    ``jpeg_decode``: "auto" (on the GPU when the device is CUDA and the images are JPEG files),
    "opencv" (always in the workers), "device" (torchvision's decoder on the run device, whatever it is).
    ``class_map``: run a model whose classes only overlap the dataset's (see :func:`map_classes`).
    """

    def __init__(
        self,
        card: ModelCard,
        dataset: Dataset,
        *,
        device: str | None = None,
        batch_size: int | str | None = 64,
        num_workers: int | None = None,
        model=None,
        amp: bool = True,
        channels_last: bool | None = None,
        compile: bool | str = False,
        jpeg_decode: str = "auto",
        class_map: ClassMapping | None = None,
        mp_context: str = "spawn",
    ) -> None:
        check_fit(card, dataset, class_map)
        if jpeg_decode not in JPEG_DECODERS:
            raise ModelError(f"jpeg_decode must be one of {JPEG_DECODERS}, not {jpeg_decode!r}")
        self.card = card
        self.dataset = dataset
        self.device = pick_device(device)
        self.num_workers = num_workers
        self.amp = amp
        self.channels_last = self.device.startswith("cuda") if channels_last is None else channels_last
        self.compile = compile
        self.jpeg_decode = jpeg_decode
        self.class_map = class_map
        self.mp_context = mp_context
        self._model = model
        self._runnable = None
        self._fit = self._initial_fit(batch_size)
        classes = class_map.dataset_classes if class_map else card.classes
        self.predictions = Predictions.empty(
            card.task if dataset.task != "binary" else "binary",
            classes,
            dataset.sample_ids,
            model=card.name,
            device=self.device,
        )

    @property
    def batch_size(self) -> int:
        """Images per forward pass now: the size asked for, or less after an out-of-memory error."""
        return self._fit.size

    @property
    def notes(self) -> list[str]:
        """What the user should know about how the run went (smaller batches, a compile that failed)."""
        return self._fit.notes

    def _cache_key(self) -> str:
        import torch

        device = self.device
        if device.startswith("cuda"):
            index = torch.device(device).index or 0
            props = torch.cuda.get_device_properties(index)
            device = f"{props.name} {props.total_memory >> 20} MiB"
        height, width = self.card.input_size
        precision = "amp" if self.amp and self.device.startswith("cuda") else "fp32"
        return f"{self.card.architecture}:{self.card.name}:{height}x{width}:{precision}@{device}"

    def _initial_fit(self, batch_size) -> _Fit:
        key = self._cache_key()
        if batch_size not in (None, "auto", 0):
            return _Fit(max(1, int(batch_size)), False, key)
        start = remembered_batch_sizes().get(key, AUTO_BATCH["cuda" if self.device.startswith("cuda") else "cpu"])
        return _Fit(start, True, key)

    # -- the model ------------------------------------------------------------------------
    def prepare(self) -> None:
        """Build the model and put it on the device now, so that a model that cannot load fails before the run."""
        self._load_model()

    def _load_model(self):
        import torch
        from torch import nn

        if self._runnable is not None:
            return self._runnable
        if self._model is None:
            from core.models.loading import build_model

            self._model = build_model(self.card)
        self._model = self._model.to(self.device).eval()
        if self.device.startswith("cuda"):
            torch.backends.cudnn.benchmark = True  # batches keep one shape: let cuDNN pick its fastest kernels
        runnable = self._model
        is_module = isinstance(runnable, nn.Module)
        if is_module and self.channels_last:
            runnable = runnable.to(memory_format=torch.channels_last)
        if is_module and self.compile and not isinstance(runnable, torch.jit.ScriptModule):
            backend = self.compile if isinstance(self.compile, str) else "inductor"
            try:
                runnable = torch.compile(runnable, backend=backend)
            except Exception as exc:  # an unknown backend, a platform torch.compile does not support
                self._fit.notes.append(f"torch.compile failed ({type(exc).__name__}: {exc}): ran without it")
        self._runnable = runnable
        return runnable

    def _autocast(self):
        import torch
        from torch import nn

        plain_module = isinstance(self._model, nn.Module) and not isinstance(self._model, torch.jit.ScriptModule)
        if not (self.amp and self.device.startswith("cuda") and plain_module):
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)

    def _scores(self, logits) -> np.ndarray:
        import torch

        if logits.ndim != 2:
            raise ModelError(
                f"{self.card.display_name} gives outputs of shape {tuple(logits.shape)}, not one score per class"
            )
        if logits.shape[1] not in (self.card.num_classes, 1):
            raise ModelError(
                f"{self.card.display_name} gives {logits.shape[1]} outputs, "
                f"but its card names {self.card.num_classes} classes"
            )
        if self.card.task == "multilabel":
            scores = torch.sigmoid(logits)
        elif logits.shape[1] == 1 and self.card.num_classes == 2:  # one-logit binary head
            p = torch.sigmoid(logits)
            scores = torch.cat([1 - p, p], dim=1)
        else:
            scores = torch.softmax(logits, dim=1)
        scores = scores.cpu().numpy()
        if self.class_map is not None:
            scores = self.class_map.apply(scores, multilabel=self.card.task == "multilabel")
        return scores

    # -- one batch ------------------------------------------------------------------------
    def _failure(self, exc: Exception) -> ModelError:
        kept = f"the {self.predictions.num_done} samples done before are kept"
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        if _is_out_of_memory(exc):
            return ModelError(f"{self.device} ran out of memory even with one image per batch ({first}); {kept}")
        if _device_failed(exc):
            return ModelError(f"the GPU failed during the run ({first}); {kept}. Run again, or on another device")
        return ModelError(f"{self.card.display_name} failed on a batch: {first} ({kept})")

    def _shrink(self, size: int) -> None:
        import torch

        self._fit.size = max(1, size // 2)
        self._fit.notes.append(f"out of memory at {size} images per batch: continuing with {self._fit.size}")
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
        remember_batch_size(self._fit.key, self._fit.size)

    def _forward(self, x):
        return _as_logits(self._runnable(x)).float()

    def _predict(self, indices: list[int], batch) -> int:
        """Run the model on one decoded batch, in chunks of the current batch size; write the scores.
        Returns how many samples failed (scores that are not finite)."""
        import torch

        failed = 0
        layout = torch.channels_last if self.channels_last and batch.ndim == 4 else torch.contiguous_format
        try:
            x = batch.to(self.device, non_blocking=True, memory_format=layout)
        except Exception as exc:
            raise self._failure(exc) from exc
        start = 0
        while start < len(indices):
            size = self._fit.size
            try:
                with self._autocast():
                    scores = self._scores(self._forward(x[start : start + size]))
            except ModelError:
                raise
            except Exception as exc:  # out of memory, a broken model, a GPU that went away
                if _is_out_of_memory(exc) and size > 1:
                    self._shrink(size)
                    continue
                if self._runnable is not self._model and not _is_out_of_memory(exc):
                    self._fit.notes.append(f"torch.compile failed ({type(exc).__name__}): ran without it")
                    self._runnable = self._model
                    continue
                raise self._failure(exc) from exc
            failed += self._record(np.asarray(indices[start : start + size], dtype=np.int64), scores)
            start += size
        return failed

    def _record(self, chunk: np.ndarray, scores: np.ndarray) -> int:
        """Write a chunk's scores; a sample whose scores are not finite (NaN weights, an overflow) is
        that sample's error, not a prediction. Returns how many failed."""
        preds = self.predictions
        if len(scores) != len(chunk):  # a graph that reshapes its batch away
            raise ModelError(
                f"{self.card.display_name} gave {len(scores)} outputs for a batch of {len(chunk)} images; "
                "it may only work on one image at a time (try batch size 1)"
            )
        finite = np.isfinite(scores).all(axis=1)
        preds.scores[chunk[finite]] = scores[finite]
        preds.done[chunk[finite]] = True
        for index in chunk[~finite].tolist():
            preds.errors[index] = f"{self.card.display_name} gave scores that are not finite (NaN or infinite)"
        return int((~finite).sum())

    # -- decoding -------------------------------------------------------------------------
    def _decode_on_device_wanted(self, todo: np.ndarray) -> bool:
        if self.jpeg_decode == "opencv" or not len(todo):
            return False
        if self.jpeg_decode == "auto" and not self.device.startswith("cuda"):
            return False
        return _jpeg_files(self.dataset, todo[:16])

    def _loader(self, todo: np.ndarray, on_device: bool):
        import torch
        from torch.utils.data import DataLoader

        workers = default_workers(len(todo)) if self.num_workers is None else self.num_workers
        source = _FileBytes if on_device else _Batches
        return DataLoader(
            source(self.dataset, self.card, todo),
            batch_size=self._fit.size,
            num_workers=workers,
            collate_fn=_collate_bytes if on_device else _collate,
            pin_memory=self.device.startswith("cuda") and not on_device and torch.cuda.is_available(),
            multiprocessing_context=self.mp_context if workers else None,
            worker_init_fn=_worker_init if workers else None,
            prefetch_factor=4 if workers else None,
            persistent_workers=False,
        )

    def _decode_on_device(self, indices: list[int], items) -> tuple[list[int], object, list[tuple[int, str]]]:
        """JPEG bytes -> a preprocessed batch on the device; files the device cannot decode go through OpenCV.

        ``items`` holds file bytes (uint8 tensors) and, for the files a worker decoded itself, arrays.
        """
        import torch
        from torchvision.io import ImageReadMode, decode_jpeg

        blobs = [item for item in items if isinstance(item, torch.Tensor)]
        decoded: list = []
        if blobs:
            try:
                decoded = decode_jpeg(blobs, mode=ImageReadMode.RGB, device=self.device, apply_exif_orientation=True)
            except Exception:  # one bad file fails the whole call: decode one by one
                decoded = [_decode_one(blob, self.device) for blob in blobs]
        on_device = iter(decoded)
        rows: dict[int, object] = {}  # position in the batch -> preprocessed tensor
        images: dict[int, object] = {}  # position -> decoded uint8 image, preprocessed together below
        failed = []
        for k, (index, item) in enumerate(zip(indices, items)):
            image = next(on_device) if isinstance(item, torch.Tensor) else None
            if image is not None:
                images[k] = image
                continue
            try:
                rows[k] = torch.from_numpy(self._decoded_on_cpu(index, item)).to(self.device)
            except SampleError as exc:
                failed.append((index, str(exc)))
        if images:
            rows.update(zip(images, preprocess_on_device(self.card, list(images.values()))))
        order = sorted(rows)
        batch = torch.stack([rows[k] for k in order]) if order else None
        return [indices[k] for k in order], batch, failed

    def _decoded_on_cpu(self, index: int, item) -> np.ndarray:
        """A sample the device did not decode: decoded by the worker (EXIF rotation), or now by the CPU
        decoder, which decides about a file nvJPEG refused (CMYK, damaged) and names the problem."""
        import torch

        if not isinstance(item, torch.Tensor):
            return item
        return self.card.preprocess(self.dataset.load_image(index))

    # -- the run --------------------------------------------------------------------------
    def run(self, indices: Sequence[int] | np.ndarray | None = None) -> Generator[Progress, None, Predictions]:
        """Predict the given samples (default: every sample not yet done), one Progress per batch."""
        import torch

        todo = self.predictions.pending() if indices is None else np.asarray(indices, dtype=np.int64)
        self._load_model()
        on_device = self._decode_on_device_wanted(todo)
        loader = self._loader(todo, on_device)
        preds = self.predictions
        start = time.perf_counter()
        handled = failed = 0
        with torch.inference_mode():
            for batch_indices, batch, batch_failed in _batches_of(loader, preds):
                if on_device and batch is not None:
                    try:
                        batch_indices, batch, more = self._decode_on_device(batch_indices, batch)
                    except Exception as exc:  # the GPU went away between two batches
                        raise self._failure(exc) from exc
                    batch_failed = batch_failed + more
                for index, message in batch_failed:
                    preds.errors[index] = message
                not_finite = self._predict(batch_indices, batch) if batch is not None else 0
                handled += len(batch_indices) + len(batch_failed)
                failed += len(batch_failed) + not_finite
                elapsed = time.perf_counter() - start
                rate = handled / elapsed if elapsed else 0.0
                yield Progress(handled, len(todo), failed, elapsed, rate, self.device, self._fit.size)
        preds.seconds += time.perf_counter() - start
        return preds


def _batches_of(loader, preds: Predictions):
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


def _decode_one(blob, device: str):
    from torchvision.io import ImageReadMode, decode_jpeg

    try:
        return decode_jpeg(blob, mode=ImageReadMode.RGB, device=device, apply_exif_orientation=True)
    except Exception:
        return None


def _jpeg_files(dataset: Dataset, indices: np.ndarray) -> bool:
    """The samples are JPEG files whose decoded content is the sample's image (no crop by the reader)."""
    from core.datasets.imageio import read_image

    paths = [dataset.sample_path(int(i)) for i in indices]
    if not paths or any(p is None or p.suffix.lower() not in JPEG_SUFFIXES for p in paths):
        return False
    try:
        return read_image(paths[0]).shape == dataset.load_image(int(indices[0])).shape
    except (SampleError, OSError):
        return False


def run_to_end(job: InferenceJob, on_progress=None) -> Predictions:
    """Drive a job's generator to the end (CLI, tests); ``on_progress`` sees each Progress."""
    gen = job.run()
    while True:
        try:
            progress = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(progress)
