"""Running a segmenter over a segmentation dataset: masks to disk, pixel metrics on the way.

:class:`SegmentationJob` works like :class:`~core.inference.runner.InferenceJob`: ``run()`` is a generator
yielding one :class:`Progress` per batch, stopping it is cancelling, calling it again resumes. What it fills
is a :class:`SegmentationPredictions` (``core/inference/mask_store.py``): one compressed file per sample
in a run folder and every image's pixel confusion matrix, so the metrics view never re-reads a mask.

Two ways to run an image of any size:

- **resize** (``tile=None``): the image is resized to the card's input size (``ModelCard.preprocess``, as in
  training), the model's argmax is taken at that resolution and the class mask is brought back to the image's
  size by nearest neighbour (``nearest_indices``). Nearest rather than resizing the logits bilinearly and
  taking the argmax at full size: every pixel then shows a class the model predicted at the model's pixel it
  maps to, the hover probabilities are exactly the ones behind the shown class, and memory stays at the
  model's resolution instead of C x H x W floats for a 1024 x 2048 frame. The price is blocky class borders
  when the image is much larger than the model's input; tiling avoids it.
- **tile** (``tile=(h, w)``): the normalised image is cut into overlapping tiles at its own resolution, the
  last tile of a row or column shifted inwards so every tile lies inside the image (an image smaller than a
  tile is padded with zeros, the mean colour after normalisation). Each pixel takes the prediction of the one
  tile in which it lies furthest from the tile's border: tile k owns the pixels up to the middle of its
  overlap with tile k + 1. So every pixel away from the image border sees ``overlap / 2`` pixels of context
  on each side, and no averaging of C x H x W logits is needed.

Embeddings (``embeddings=True``): the bottleneck's features (the U-Net's deepest encoder level, a torchvision
segmenter's backbone) averaged over height and width, one float16 row per image (the mean of its tiles' rows
when tiling), in ``<run folder>/embeddings.npy`` (``core/inference/embeddings.py``).

The dataset's classes must be the card's, in order, unless ``class_map`` ({dataset class: model class})
says which model class each dataset class is; dataset classes left out of the map are ignored in the metrics.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Generator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from core.datasets.base import IGNORE_INDEX, Dataset
from core.inference.batch_sizes import BatchFit, cache_key
from core.inference.batches import ThreadedBatches
from core.inference.class_map import class_lookup
from core.inference.devices import pick_device
from core.inference.embeddings import RunEmbeddings
from core.inference.feed import DeviceFeed, to_device
from core.inference.mask_store import (
    MaskStore,
    SegmentationPredictions,
    grid_shape,
    nearest_indices,
    quantise,
    resize_nearest,
)
from core.inference.model_job import DecodedSamples, ModelJob, as_list
from core.inference.progress import Progress
from core.inference.record_writer import RecordWriter
from core.metrics import pixel_confusion_matrix
from core.models.cards import ModelCard, ModelError
from core.models.loading import build_model

__all__ = [
    "MaskStore",
    "SegmentationJob",
    "SegmentationPredictions",
    "class_lookup",
    "load_run",
    "tile_layout",
]


def tile_layout(length: int, tile: int, overlap: int) -> list[tuple[int, int, int]]:
    """Tiles along one axis as (start, own_from, own_to): the tile covers ``[start, start + tile)`` and owns
    the pixels ``[own_from, own_to)``. Starts step by ``tile - overlap``; the last one is ``length - tile``.
    Ownership changes hands in the middle of each overlap."""
    if tile >= length:
        return [(0, 0, length)]
    step = max(1, tile - overlap)
    starts = [*range(0, length - tile, step), length - tile]
    bounds = [0] + [(starts[k + 1] + starts[k] + tile) // 2 for k in range(len(starts) - 1)] + [length]
    return [(start, bounds[k], bounds[k + 1]) for k, start in enumerate(starts)]


def _as_pair(value: int | Sequence[int]) -> tuple[int, int]:
    pair = (int(value), int(value)) if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"a tile size is one or two positive integers, got {value!r}")
    return pair  # type: ignore[return-value]


class SegmentationJob(ModelJob):
    """A segmenter run over (part of) a segmentation dataset. See the module docstring.

    ``tile``: None (resize to the card's input size) or the tile size (an int or (height, width)) to run the
    image at its own resolution; ``overlap`` defaults to a quarter of the tile. ``batch_size`` counts images
    when resizing and tiles when tiling (one Progress per image then). ``run_dir``: where the masks go
    (default: a new temporary folder). ``embeddings``: the pooled bottleneck per image too, in
    ``embeddings_path`` (default ``<run folder>/embeddings.npy``); ModelError at the first step for a model
    that gives none.
    """

    def __init__(
        self,
        card: ModelCard,
        dataset: Dataset,
        device: str | None = None,
        batch_size: int = 16,
        tile: int | Sequence[int] | None = None,
        *,
        overlap: int | None = None,
        class_map: dict[str, str] | None = None,
        run_dir: str | Path | None = None,
        num_workers: int | None = None,
        model=None,
        embeddings: bool = False,
        embeddings_path: str | Path | None = None,
    ) -> None:
        self.lookup = class_lookup(card, dataset, class_map)
        self.card, self.dataset = card, dataset
        self.device = pick_device(device)
        # A fixed size (a segmenter's batch is not halved on out-of-memory): the base's batch_size and notes.
        self._fit = BatchFit(max(1, int(batch_size)), auto=False, key=cache_key(card, self.device, False))
        self.tile = None if tile is None else _as_pair(tile)
        self.overlap = (min(self.tile) // 4 if overlap is None else int(overlap)) if self.tile else 0
        if self.tile and not 0 <= self.overlap < min(self.tile):
            raise ValueError(f"overlap {self.overlap} must be at least 0 and smaller than the tile {self.tile}")
        self.num_workers = num_workers
        self._model = model
        folder = Path(run_dir) if run_dir is not None else Path(tempfile.mkdtemp(prefix="cvlens-segmentation-"))
        settings = {
            "mode": "tile" if self.tile else "resize",
            "input_size": list(card.input_size),
            "tile": list(self.tile) if self.tile else None,
            "overlap": self.overlap,
            "class_map": dict(class_map) if class_map else None,
            "dataset": str(dataset.root),
            "split": dataset.split,
        }
        self.predictions = SegmentationPredictions.empty(
            card.classes, dataset.sample_ids, folder, model=card.name, device=self.device, settings=settings
        )
        #: The capture and store of the embeddings (None when not asked for); ``distributed`` merges into it.
        self.embedding_run: RunEmbeddings | None = None
        if embeddings:
            self.embedding_run = RunEmbeddings(embeddings_path or folder / "embeddings.npy", len(dataset))

    @property
    def embeddings(self):
        """N x D float16 pooled bottleneck features (memory-mapped, read-only) once every sample is handled;
        rows of samples not predicted (``predictions.done`` False) are zeros. None before, or when not asked."""
        return self.embedding_run.array if self.embedding_run is not None else None

    @property
    def embeddings_path(self) -> Path | None:
        """Where the embeddings are written (None when not asked for); the file exists once they are complete."""
        return self.embedding_run.path if self.embedding_run is not None else None

    # -- the model --------------------------------------------------------------------------
    def _load_model(self):
        if self._model is None:
            self._model = build_model(self.card)
        self._model = self._model.to(self.device).eval()
        if self.embedding_run is not None:  # before the first pass; once, the hook stays for resumed runs
            self.embedding_run.attach(self._model)
        return self._model

    def _probabilities(self, model, batch):
        """N x C x h x w float32 probabilities of a normalised N x c x h x w batch (on the device)."""
        import torch
        import torch.nn.functional as F

        try:
            out = model(batch.to(self.device, non_blocking=True))
        except RuntimeError as exc:  # shape mismatch, out of memory, a broken model
            raise self._failure(exc) from exc
        if isinstance(out, dict):  # torchvision's segmentation models return {"out": logits, "aux": ...}
            out = out["out"]
        if out.ndim != 4:
            raise ModelError(f"{self.card.display_name} gives outputs of shape {tuple(out.shape)}, not N x C x H x W")
        channels = out.shape[1]
        if channels != self.card.num_classes and not (channels == 1 and self.card.num_classes == 2):
            raise ModelError(
                f"{self.card.display_name} gives {channels} output channels, "
                f"but its card names {self.card.num_classes} classes"
            )
        if out.shape[-2:] != batch.shape[-2:]:  # an output stride > 1: logits back to the input grid
            out = F.interpolate(out, size=batch.shape[-2:], mode="bilinear", align_corners=False)
        out = out.float()
        if channels == 1:
            p = torch.sigmoid(out)
            return torch.cat([1 - p, p], dim=1)
        return torch.softmax(out, dim=1)

    # -- the two ways to run an image ------------------------------------------------------------
    def _predict_resized(self, model, images: list[np.ndarray], batch=None) -> list[tuple[np.ndarray, np.ndarray]]:
        """(mask at image size, uint8 probabilities at the model's size) per image (``batch``: them preprocessed)."""
        import torch

        if batch is None:
            batch = torch.from_numpy(np.stack([self.card.preprocess(image) for image in images]))
        probs = self._probabilities(model, batch)
        # On the device: which images are finite, their argmax and the uint8 probabilities (round half to even,
        # as quantise does), so that a GPU sends a quarter of the bytes and the CPU does no per-pixel work.
        finite = torch.isfinite(probs).flatten(1).all(1).cpu().numpy()
        small = probs.argmax(1).to(torch.uint8 if probs.shape[1] <= 256 else torch.int64).cpu().numpy()
        stored = probs.clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8).cpu().numpy()
        out: list[tuple[np.ndarray, np.ndarray] | None] = []
        for k, image in enumerate(images):
            if not finite[k]:  # NaN weights, an overflow: that image's error, not a mask
                out.append(None)
                continue
            out.append((resize_nearest(small[k], image.shape[:2]), stored[k]))
        return out

    def _normalise(self, image: np.ndarray) -> np.ndarray:
        """C x H x W float32 at the image's own size, normalised as ``card.preprocess`` does."""
        return replace(self.card, input_size=tuple(image.shape[:2])).preprocess(image)

    def _tiles(self, height: int, width: int) -> list[tuple[int, int, int, int, int, int]]:
        """(y, x, own_y0, own_y1, own_x0, own_x1) of every tile of an image."""
        rows = tile_layout(height, self.tile[0], self.overlap)
        cols = tile_layout(width, self.tile[1], self.overlap)
        return [(y, x, y0, y1, x0, x1) for y, y0, y1 in rows for x, x0, x1 in cols]

    def _predict_tiled(self, model, image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(mask at image size, uint8 probabilities on the image grid, subsampled to fit MAX_PROB_VALUES)."""
        import torch

        height, width = image.shape[:2]
        th, tw = self.tile
        array = self._normalise(image)
        ph, pw = max(th - height, 0), max(tw - width, 0)
        if ph or pw:  # smaller than a tile: zeros (the mean colour after normalisation) at the bottom/right
            array = np.pad(array, ((0, 0), (0, ph), (0, pw)))
        mask = np.zeros((height, width), dtype=np.int64)
        gh, gw = grid_shape(self.card.num_classes, (height, width))
        grid_rows, grid_cols = nearest_indices(gh, height), nearest_indices(gw, width)
        probs = np.zeros((self.card.num_classes, gh, gw), dtype=np.uint8)
        tiles = self._tiles(height, width)
        for start in range(0, len(tiles), self.batch_size):
            chunk = tiles[start : start + self.batch_size]
            batch = torch.from_numpy(np.stack([array[:, y : y + th, x : x + tw] for y, x, *_ in chunk]))
            tile_probs = self._probabilities(model, batch).cpu().numpy()
            if not np.isfinite(tile_probs).all():
                return None
            for (y, x, y0, y1, x0, x1), p in zip(chunk, tile_probs):
                mask[y0:y1, x0:x1] = p[:, y0 - y : y1 - y, x0 - x : x1 - x].argmax(axis=0)
                rows = np.flatnonzero((grid_rows >= y0) & (grid_rows < y1))
                cols = np.flatnonzero((grid_cols >= x0) & (grid_cols < x1))
                if len(rows) and len(cols):
                    cell = p[:, grid_rows[rows] - y][:, :, grid_cols[cols] - x]
                    probs[:, rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] = quantise(cell)
        return mask, probs

    def _ready(self, items):
        """A loaded batch and, when resizing, its images preprocessed and on the device, in the feed's thread
        (``feed``): (items, N x C x H x W or None, [])."""
        import torch

        images = [image for _, image, *_ in items if image is not None]
        if self.tile or not images:
            return items, None, []
        batch = torch.from_numpy(np.stack([self.card.preprocess(image) for image in images]))
        try:
            return items, to_device(batch, self.device), []
        except RuntimeError as exc:  # out of memory, a GPU that went away
            raise ModelError(f"{self.card.display_name} failed on a batch: {str(exc).splitlines()[0]}") from exc

    def _predict(
        self, model, items, batch=None
    ) -> tuple[list[tuple[np.ndarray, np.ndarray] | None], np.ndarray | None]:
        """(mask, uint8 probabilities) for the decoded images of a batch (``batch``: those images preprocessed,
        when resizing), None where the model's output is not finite; and the images' embedding rows (None when
        not asked for)."""
        images = [image for _, image, *_ in items]
        if not images:
            return [], None
        if self.embedding_run is None:
            return (
                [self._predict_tiled(model, image) for image in images]
                if self.tile
                else self._predict_resized(model, images, batch)
            ), None
        if not self.tile:
            self.embedding_run.clear()
            results = self._predict_resized(model, images, batch)
            return results, self.embedding_run.take()
        results, rows = [], []
        for image in images:
            self.embedding_run.clear()
            results.append(self._predict_tiled(model, image))
            rows.append(self.embedding_run.take().astype(np.float32).mean(axis=0))  # the image: its tiles' mean
        return results, np.stack(rows).astype(np.float16)

    # -- recording ----------------------------------------------------------------------------
    def _record(
        self, index: int, mask: np.ndarray, probs: np.ndarray, truth: np.ndarray | None, mask_error: str = ""
    ) -> None:
        """Score one image against its truth and store it (on a writer thread: compressing is the slow part)."""
        self._score_and_store(index, mask, probs, truth)
        if mask_error:
            self.predictions.mask_errors[index] = mask_error

    def _score_and_store(self, index: int, mask: np.ndarray, probs: np.ndarray, truth: np.ndarray | None) -> None:
        preds = self.predictions
        confusion = None
        if truth is not None:
            if self.lookup is not None:
                truth = self.lookup[np.clip(truth, 0, 255).astype(np.uint8)]
            dtype = np.uint8 if self.card.num_classes <= 255 else np.int64
            try:
                confusion = pixel_confusion_matrix(
                    truth.astype(dtype, copy=False), mask.astype(dtype, copy=False), self.card.num_classes, IGNORE_INDEX
                )
            except (ValueError, TypeError) as exc:  # a truth value that is no class
                preds.record(index, mask, probs, None)
                preds.mask_errors[index] = f"true mask: {exc}"
                return
        preds.record(index, mask, probs, confusion)

    def run(
        self, indices: Sequence[int] | np.ndarray | None = None
    ) -> Generator[Progress, None, SegmentationPredictions]:
        """Predict the given samples (default: every sample not yet done), one Progress per batch.

        The run's index and metrics are saved into its folder when the generator ends or is closed (cancel).
        """
        import torch
        from torch.utils.data import DataLoader

        preds = self.predictions
        todo = preds.pending() if indices is None else np.asarray(indices, dtype=np.int64)
        if indices is None and self.embedding_run is not None:  # rows lost with a failed run's store
            todo = np.union1d(todo, self.embedding_run.missing(preds.done))
        model = self._load_model()
        per_batch = 1 if self.tile else self.batch_size
        samples = DecodedSamples(self.dataset, todo, masks=True)
        if self.num_workers is None:  # decoding threads (OpenCV releases the GIL), no processes to start
            loader = ThreadedBatches(samples, per_batch, as_list)
        else:
            loader = DataLoader(samples, batch_size=per_batch, num_workers=self.num_workers, collate_fn=as_list)
        start = time.perf_counter()
        handled = failed = 0
        writes = RecordWriter()
        batches = iter(DeviceFeed(loader, self._ready, self.device))  # batch k+1 made ready while k runs
        try:
            for items, batch, _ in batches:
                good = [item for item in items if item.image is not None]
                for index, _, _, error, _ in items:
                    if error:
                        preds.errors[index] = error
                with torch.inference_mode():  # not held across the yield: the caller's thread is left as it was
                    results, rows = self._predict(model, good, batch)
                for (index, _, truth, _, mask_error), result in zip(good, results):
                    if result is None:
                        preds.errors[index] = f"{self.card.display_name} gave probabilities that are not finite"
                        continue
                    writes.submit(self._record, index, *result, truth, mask_error)
                writes.batch_done()  # the batch before this one is on disk (at most two batches in flight)
                if rows is not None:
                    self._write_embeddings(good, results, rows)
                handled += len(items)
                failed += len(items) - len(good) + results.count(None)
                elapsed = time.perf_counter() - start
                rate = handled / elapsed if elapsed else 0.0
                yield Progress(handled, len(todo), failed, elapsed, rate, self.device)
        except GeneratorExit:  # cancelled: the embeddings so far are kept for the resume
            raise
        except BaseException:
            if self.embedding_run is not None:
                self.embedding_run.abort()
            raise
        finally:
            batches.close()  # the feed's thread ends here, on cancel and on error too
            try:
                writes.close()  # every image recorded before the index is saved, on cancel and on error too
            finally:
                preds.seconds += time.perf_counter() - start
                preds.save()
        if self.embedding_run is not None and not len(preds.pending()):
            self.embedding_run.finish()
        return preds

    def _write_embeddings(self, items, results, rows: np.ndarray) -> None:
        """The rows of the images whose prediction was recorded (so rows written = ``done``)."""
        if len(rows) != len(items):
            raise ModelError(
                f"{self.card.display_name} gave {len(rows)} embeddings for {len(items)} images "
                f"({self.embedding_run.capture.layer_name} ran {'more' if len(rows) > len(items) else 'fewer'} times)"
            )
        keep = [k for k, result in enumerate(results) if result is not None]
        self.embedding_run.write([items[k][0] for k in keep], rows[keep])


def load_run(folder: str | Path) -> SegmentationPredictions:
    """A segmentation run saved in ``folder`` (``SegmentationJob.predictions`` is saved there by ``run()``)."""
    return SegmentationPredictions.load(folder)
