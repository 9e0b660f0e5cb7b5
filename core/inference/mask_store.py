"""What a segmentation run leaves: one compressed ``.npz`` per sample in a run folder, plus its metrics.

Each file holds two arrays, written atomically (temp file + rename):

- ``mask``: the predicted class of every pixel, at the image's own size (uint8, or uint16 past 255 classes);
- ``probs``: the class probabilities quantised to uint8 (``round(255 p)``, so within 1/510 of the float),
  C x h x w on a *probability grid*: the model's own output grid when the image was resized to the model's
  input, or the image grid (subsampled when it would exceed ``MAX_PROB_VALUES``) when it was tiled.

Image pixel ``(y, x)`` reads the grid cell ``(rows[y], cols[x])`` with ``rows = nearest_indices(H, h)``:
the same nearest-neighbour rule that brought the mask from the grid to the image, so with no subsampling
the class shown at a pixel is the most probable class of the probabilities shown on hover (up to ties made
by the quantisation).

``np.load`` decompresses only the member asked for, so reading a mask for an overlay never touches the
probabilities. Beside the ``samples/`` folder, ``run.json`` (classes, sample ids, errors, settings) and
``confusions.npz`` (every image's pixel confusion matrix, sparse) make :class:`SegmentationPredictions`.
"""

from __future__ import annotations

import json
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.datasets.base import SampleError
from core.inference.predictions import RunBookkeeping
from core.metrics import segmentation_report
from core.models.cards import ModelError
from core.system.files import atomic_writer, write_atomic

#: The most probabilities (classes x grid cells) kept per sample: 4 Mi values, 4 MiB before compression.
MAX_PROB_VALUES = 1 << 22
RUN_FILE = "run.json"
CONFUSIONS = "confusions.npz"
FORMAT = "cvlens-segmentation-run/1"


def nearest_indices(out_len: int, in_len: int) -> np.ndarray:
    """For each of ``out_len`` output positions the nearest of ``in_len`` input positions (pixel centres):
    ``i_in = floor((i_out + 0.5) * in_len / out_len)``, the rule of OpenCV's INTER_NEAREST_EXACT and torch's
    ``nearest-exact``, computed in integers so that ties fall the same way on every machine."""
    index = ((2 * np.arange(out_len, dtype=np.int64) + 1) * in_len) // (2 * out_len)
    return np.minimum(index, in_len - 1)


def resize_nearest(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The last two axes of ``array`` resized to ``size`` (height, width) by ``nearest_indices``."""
    height, width = size
    if array.shape[-2:] == (height, width):
        return array
    rows, cols = nearest_indices(height, array.shape[-2]), nearest_indices(width, array.shape[-1])
    return array[..., rows[:, None], cols[None, :]]


class PixelProbabilities:
    """One sample's C x h x w class probabilities and the map from image pixels to their grid cells.

    Pixel (y, x) of an H x W image reads cell ``(rows[y], cols[x])`` with ``rows = nearest_indices(H, h)``;
    the map is computed once per sample, so that a hover is an index lookup, not a file read.
    """

    def __init__(self, probabilities: np.ndarray, size: tuple[int, int]) -> None:
        self.probabilities = probabilities
        self.size = size
        self.rows = nearest_indices(size[0], probabilities.shape[1])
        self.cols = nearest_indices(size[1], probabilities.shape[2])

    def at(self, y: int, x: int) -> np.ndarray:
        """The C probabilities behind image pixel (y, x); IndexError outside the image."""
        height, width = self.size
        if not (0 <= y < height and 0 <= x < width):
            raise IndexError(f"pixel ({y}, {x}) is outside the {width}x{height} image")
        return self.probabilities[:, self.rows[y], self.cols[x]]

    def top(self, y: int, x: int, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` most probable classes at pixel (y, x) as (class, probability), most probable first."""
        p = self.at(y, x)
        order = np.argsort(-p, kind="stable")[:k]
        return [(int(c), float(p[c])) for c in order]

    def confidence(self, mask: np.ndarray) -> np.ndarray:
        """H x W float32: the probability of ``mask``'s class at every pixel (H x W values gathered from the
        small grid, never a C x H x W array at the image's size)."""
        classes = np.minimum(np.asarray(mask, dtype=np.intp), self.probabilities.shape[0] - 1)
        return self.probabilities[classes, self.rows[:, None], self.cols[None, :]]


def grid_shape(num_classes: int, size: tuple[int, int], max_values: int | None = None) -> tuple[int, int]:
    """The probability grid for an image of ``size`` kept at full resolution: the image grid, subsampled by
    the smallest integer step that keeps ``num_classes * h * w <= max_values`` (default ``MAX_PROB_VALUES``)."""
    height, width = size
    max_values = MAX_PROB_VALUES if max_values is None else max_values
    step = 1
    while num_classes * -(-height // step) * -(-width // step) > max_values:
        step += 1
    return -(-height // step), -(-width // step)


def quantise(probs: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] as uint8, ``round(255 p)``."""
    return np.rint(np.clip(probs, 0.0, 1.0) * 255.0).astype(np.uint8)


class MaskStore:
    """A folder of per-sample prediction files, named by the sample's index in its dataset."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, index: int) -> Path:
        return self.folder / f"{int(index):07d}.npz"

    def __contains__(self, index: int) -> bool:
        return self.path(index).is_file()

    def write(self, index: int, mask: np.ndarray, probs: np.ndarray) -> None:
        """Store one sample's H x W mask and C x h x w uint8 probabilities, atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        dtype = np.uint8 if int(mask.max(initial=0)) <= 255 else np.uint16
        # not fsync-ed: a scratch file of a run in progress, which a crash loses anyway; one sync per image
        # would cost more than the model
        with atomic_writer(self.path(index), suffix=".tmp.npz", durable=False) as out:
            np.savez_compressed(out, mask=mask.astype(dtype, copy=False), probs=probs)

    def _read(self, index: int, member: str) -> np.ndarray:
        path = self.path(index)
        try:
            with np.load(path, allow_pickle=False) as data:
                return data[member]
        except FileNotFoundError:
            raise SampleError(f"sample {index} has no stored prediction in {self.folder}") from None
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise SampleError(f"{path.name}: cannot read the stored prediction ({exc})") from None

    def mask(self, index: int) -> np.ndarray:
        """The predicted H x W class mask of one sample, at its image's size."""
        return self._read(index, "mask")

    def probabilities(self, index: int) -> np.ndarray:
        """The C x h x w float32 class probabilities of one sample on its probability grid."""
        return self._read(index, "probs").astype(np.float32) / 255.0

    def remove(self, index: int) -> None:
        self.path(index).unlink(missing_ok=True)


def _row_means(values: np.ndarray) -> np.ndarray:
    """Mean of each row over its defined (non-NaN) entries; NaN for a row with none. No warnings."""
    defined = ~np.isnan(values)
    count = defined.sum(axis=1)
    total = np.where(defined, values, 0.0).sum(axis=1)
    return np.divide(total, count, out=np.full(len(values), np.nan), where=count > 0)


@dataclass
class SegmentationPredictions(RunBookkeeping):
    """What a segmenter said about a dataset: masks on disk, per-image pixel confusion matrices in memory.

    ``done[i]``: sample i was predicted and its files are in ``store``. ``errors[i]``: sample i could not be
    predicted (its image did not decode). ``mask_errors[i]``: sample i was predicted but has no metrics because
    its true mask could not be used (unreadable, a size unlike the image's, values that are no class).
    The per-image C x C confusion matrices (rows: true class, columns: predicted class, ``ignore`` pixels left
    out) are kept sparsely, so any subset of images is re-evaluated by summing, without reading a mask.
    """

    classes: list[str]
    sample_ids: list[str]
    folder: Path
    done: np.ndarray
    errors: dict[int, str] = field(default_factory=dict)
    mask_errors: dict[int, str] = field(default_factory=dict)
    model: str = ""
    device: str = ""
    seconds: float = 0.0
    #: How the run was made: "mode" ("resize" or "tile"), tile size, overlap, class map, input size.
    settings: dict[str, Any] = field(default_factory=dict)
    _cells: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)
    _flat: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    #: The job records on its worker thread while the GUI reads: readers work on a snapshot of the cells,
    #: taken under this lock, and the flat table is rebuilt when the version it was built from is stale.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _version: int = field(default=0, repr=False)
    _flat_version: int = field(default=-1, repr=False)

    task = "segmentation"

    @classmethod
    def empty(
        cls, classes: list[str], sample_ids: list[str], folder: str | Path, **info: Any
    ) -> SegmentationPredictions:
        return cls(list(classes), list(sample_ids), Path(folder), np.zeros(len(sample_ids), dtype=bool), **info)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def store(self) -> MaskStore:
        return MaskStore(self.folder / "samples")

    # -- recording (the job calls these) ---------------------------------------------------------
    def record(self, index: int, mask: np.ndarray, probs: np.ndarray, confusion: np.ndarray | None) -> None:
        """Store one predicted sample: its mask and uint8 probabilities on disk, its confusion matrix here."""
        self.store.write(index, mask, probs)
        self.done[index] = True
        self.errors.pop(index, None)
        self.mask_errors.pop(index, None)
        self.set_image_confusion(index, confusion)

    def set_image_confusion(self, index: int, confusion: np.ndarray | None, error: str = "") -> None:
        """Replace one predicted image's confusion matrix (its true mask changed; the prediction did not).
        None, with the reason in ``error``, when the new truth cannot be scored."""
        entry = None
        if confusion is not None:
            cells = np.flatnonzero(confusion)
            entry = (cells.astype(np.int32), np.asarray(confusion).reshape(-1)[cells].astype(np.int64))
        with self._lock:
            if entry is None:
                self._cells.pop(index, None)
            else:
                self._cells[index] = entry
            self._version += 1
        if error:
            self.mask_errors[index] = error
        else:
            self.mask_errors.pop(index, None)

    def _snapshot(self) -> tuple[dict[int, tuple[np.ndarray, np.ndarray]], int]:
        """A consistent copy of the per-image cells (the dict, not the arrays, which are never changed)."""
        with self._lock:
            return dict(self._cells), self._version

    # -- reading one sample -------------------------------------------------------------------
    def mask(self, index: int) -> np.ndarray:
        """The predicted H x W class mask of sample ``index``, at its image's size (SampleError if not done)."""
        return self.store.mask(index)

    def probabilities(self, index: int) -> np.ndarray:
        """C x h x w float32 probabilities on the sample's probability grid (see the module docstring)."""
        return self.store.probabilities(index)

    def pixels(self, index: int, size: tuple[int, int] | None = None) -> PixelProbabilities:
        """Sample ``index``'s probabilities with their pixel map; ``size`` is the image's (H, W), read from the
        stored mask when not given."""
        return PixelProbabilities(self.probabilities(index), size if size is not None else self.mask(index).shape)

    def pixel_probabilities(self, index: int, y: int, x: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """The C class probabilities behind image pixel (y, x), for hover (IndexError outside the image)."""
        return self.pixels(index, size).at(y, x)

    def confidence(self, index: int) -> np.ndarray:
        """H x W float32: the probability of the predicted class at every pixel of the image."""
        mask = self.mask(index)
        return self.pixels(index, mask.shape).confidence(mask)

    # -- metrics ----------------------------------------------------------------------------
    def _table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sample index, flat cell, pixel count) of every non-empty cell of every image, built once per change."""
        flat, built_from = self._flat, self._flat_version
        cells_of, version = self._snapshot()
        if flat is None or built_from != version:
            order = sorted(cells_of)
            sizes = [len(cells_of[i][0]) for i in order]
            images = np.repeat(np.asarray(order, dtype=np.int64), sizes)
            cells = np.concatenate([cells_of[i][0] for i in order]) if order else np.zeros(0, np.int32)
            counts = np.concatenate([cells_of[i][1] for i in order]) if order else np.zeros(0, np.int64)
            flat = (images, cells.astype(np.int64), counts)
            self._flat, self._flat_version = flat, version
        return flat

    @staticmethod
    def _chosen(images: np.ndarray, indices) -> np.ndarray:
        """Boolean selection of the table rows (their sample ``images``) that belong to ``indices`` (all for None).

        Given the table's own column: a run still being written may add images between two reads of the table."""
        if indices is None:
            return np.ones(len(images), dtype=bool)
        return np.isin(images, np.asarray(indices, dtype=np.int64).reshape(-1))

    @property
    def has_truth(self) -> np.ndarray:
        """N bool: the sample was predicted and compared with its true mask."""
        out = np.zeros(len(self), dtype=bool)
        out[list(self._snapshot()[0])] = True
        return out

    def image_confusion(self, index: int) -> np.ndarray:
        """The C x C pixel confusion matrix of one image (zeros when it has none)."""
        return self.per_image([index])[0]

    def per_image(self, indices) -> np.ndarray:
        """Dense (n, C, C) matrices of the given sample indices, in that order (zeros where there is none)."""
        chosen = np.asarray(indices, dtype=np.int64).reshape(-1)
        c = self.num_classes
        cells_of = self._snapshot()[0]
        out = np.zeros((len(chosen), c * c), dtype=np.int64)
        for row, index in enumerate(chosen):
            if int(index) in cells_of:
                cells, counts = cells_of[int(index)]
                out[row, cells] = counts
        return out.reshape(-1, c, c)

    def confusion(self, indices=None) -> np.ndarray:
        """The summed C x C pixel confusion matrix over the given samples (default: all with a true mask)."""
        images, cells, counts = self._table()
        keep = self._chosen(images, indices)
        c = self.num_classes
        return np.bincount(cells[keep], weights=counts[keep], minlength=c * c).round().astype(np.int64).reshape(c, c)

    def report(self, indices=None) -> dict[str, Any]:
        """``segmentation_report`` (per-class IoU/Dice, mean IoU, pixel accuracy, ...) of a subset or of all."""
        return segmentation_report(self.confusion(indices))

    def per_image_scores(self) -> dict[str, np.ndarray]:
        """Per sample: "iou" and "dice" (N x C; NaN for classes in neither truth nor prediction), "mean_iou" and
        "mean_dice" (N; over the classes present), "pixel_accuracy" (N); NaN rows for samples without truth.

        Computed from the stored counts in N x C memory (never N x C x C): per image and class, TP = cm[c, c],
        T = row sum, P = column sum; IoU = TP / (T + P - TP), Dice = 2 TP / (T + P).
        """
        images, cells, counts = self._table()
        n, c = len(self), self.num_classes
        truth = np.bincount(images * c + cells // c, weights=counts, minlength=n * c).reshape(n, c)
        predicted = np.bincount(images * c + cells % c, weights=counts, minlength=n * c).reshape(n, c)
        diagonal = cells // c == cells % c
        tp = np.bincount(images[diagonal] * c + cells[diagonal] // c, weights=counts[diagonal], minlength=n * c)
        tp = tp.reshape(n, c)
        union, both = truth + predicted - tp, truth + predicted
        per_iou = np.divide(tp, union, out=np.full((n, c), np.nan), where=union > 0)
        per_dice = np.divide(2 * tp, both, out=np.full((n, c), np.nan), where=both > 0)
        total = truth.sum(axis=1)
        return {
            "iou": per_iou,
            "dice": per_dice,
            "mean_iou": _row_means(per_iou),
            "mean_dice": _row_means(per_dice),
            "pixel_accuracy": np.divide(tp.sum(axis=1), total, out=np.full(n, np.nan), where=total > 0),
        }

    def images_in_cell(self, true_class: int, pred_class: int) -> tuple[np.ndarray, np.ndarray]:
        """(sample indices, pixel counts) of the images with pixels of ``true_class`` predicted as ``pred_class``,
        the most pixels first (ties: lower index first)."""
        images, cells, counts = self._table()
        hit = cells == true_class * self.num_classes + pred_class
        order = np.lexsort((images[hit], -counts[hit]))
        return images[hit][order], counts[hit][order]

    # -- persistence ------------------------------------------------------------------------
    def save(self) -> Path:
        """Write the run's index (``run.json``) and confusion matrices (``confusions.npz``) into its folder,
        atomically; the per-sample files are already there. Returns the folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        cells_of = self._snapshot()[0]
        indices = np.array(sorted(cells_of), dtype=np.int64)
        sizes = np.array([len(cells_of[i][0]) for i in indices], dtype=np.int64)
        cells = [cells_of[i][0] for i in indices]
        counts = [cells_of[i][1] for i in indices]
        with atomic_writer(self.folder / CONFUSIONS, suffix=".tmp.npz") as out:
            np.savez_compressed(
                out,
                indices=indices,
                sizes=sizes,
                cells=np.concatenate(cells) if cells else np.zeros(0, np.int32),
                counts=np.concatenate(counts) if counts else np.zeros(0, np.int64),
                done=self.done,
            )
        meta = {
            "format": FORMAT,
            "task": self.task,
            "classes": self.classes,
            "sample_ids": self.sample_ids,
            "errors": {str(k): v for k, v in sorted(self.errors.items())},
            "mask_errors": {str(k): v for k, v in sorted(self.mask_errors.items())},
            "model": self.model,
            "device": self.device,
            "seconds": self.seconds,
            "settings": self.settings,
        }
        write_atomic(self.folder / RUN_FILE, (json.dumps(meta, indent=1) + "\n").encode("utf-8"))
        return self.folder

    @classmethod
    def load(cls, folder: str | Path) -> SegmentationPredictions:
        """A run saved by :meth:`save`; its masks stay on disk and are read when asked for."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
            with np.load(folder / CONFUSIONS, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ModelError(f"{folder} is not a segmentation run CV Lens can read ({exc})") from None
        if meta.get("format") != FORMAT:
            raise ModelError(f"{folder / RUN_FILE} has format {meta.get('format')!r}; expected {FORMAT!r}")
        preds = cls(
            classes=meta["classes"],
            sample_ids=meta["sample_ids"],
            folder=folder,
            done=arrays["done"].astype(bool),
            errors={int(k): v for k, v in meta["errors"].items()},
            mask_errors={int(k): v for k, v in meta["mask_errors"].items()},
            model=meta.get("model", ""),
            device=meta.get("device", ""),
            seconds=float(meta.get("seconds", 0.0)),
            settings=meta.get("settings", {}),
        )
        ends = np.cumsum(arrays["sizes"])
        for index, start, end in zip(arrays["indices"], ends - arrays["sizes"], ends):
            preds._cells[int(index)] = (arrays["cells"][start:end], arrays["counts"][start:end])
        preds._flat, preds._version = None, preds._version + 1
        return preds
