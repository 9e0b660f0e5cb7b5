"""Label quality of a segmentation run's true masks: the run's stored probabilities beside the dataset's masks.

``pixel_issues`` scores ``(mask, probabilities)`` pairs; this module makes those pairs from what a run keeps
(``core/inference/mask_store.py``: per image a C x h x w uint8 probability grid, the model's output grid or
the image grid) and the masks the dataset reads now (edits included), one image at a time:

- :class:`RunMasks` reads, per image, the true mask in the model's classes (through the run's class map) and
  the stored probabilities. :meth:`RunMasks.pairs` gives them on one grid, so no C x H x W array at the
  image's size is ever made: by default the stored probability grid (the truth brought to it by the store's own
  nearest-neighbour rule, ``nearest_indices``: the Label quality view); with ``size`` every s-th pixel of the
  image, its long side at most ``size``, each read from its grid cell as the hover reads it (``analyze``'s
  mask issues, ``core/analysis/mask_issues.py``). The two agree in method, and rank a run's images alike;
- :func:`run_label_quality` runs ``segmentation_label_quality`` over a run (progress, stop, bounded memory);
- :meth:`RunMasks.suspects` is the overlay of one image at full resolution: ``suspect_pixels`` in strips of
  rows (each C x rows x W), with the class most of them are labeled and the class the model sees there.

An image that cannot be read (its mask, its stored prediction) is an error of that image, kept in ``errors``
and scored NaN (ranked last), never a silent skip. Shared by the GUI's Label quality view and ``analyze``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from core.analysis.pixel_issues import SegmentationLabelQuality, segmentation_label_quality, suspect_pixels
from core.analysis.progress import ProgressFn, StopFn
from core.datasets.base import IGNORE_INDEX, Dataset
from core.inference.mask_store import PixelProbabilities, nearest_indices

#: The most probability values (classes x pixels) one strip of :meth:`RunMasks.suspects` holds: 16 MiB.
STRIP_VALUES = 1 << 22
#: What a run without probabilities lacks, and how to get them.
HOW_TO_GET_PROBABILITIES = (
    "Label quality compares every true pixel with the model's probability of its class. Run the segmenter "
    "again from the runner (Model runner: pick the model, Run): a run made by CV Lens keeps every image's "
    "class probabilities beside its predicted mask."
)


class NoProbabilities(Exception):
    """The run kept no class probabilities (or none that can be read): label quality cannot be scored."""


def truth_lookup(predictions, dataset: Dataset) -> np.ndarray | None:
    """256-entry table taking the dataset's class index to the run's (255: ignored), or None when the classes
    are the run's own. From the run's class map (``settings["class_map"]``), as the run mapped its truth."""
    class_map = (getattr(predictions, "settings", None) or {}).get("class_map")
    if not class_map:
        if list(dataset.classes) == list(predictions.classes):
            return None
        raise ValueError(f"{dataset.name}'s classes are not the run's, and the run has no class map")
    lookup = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for source, target in class_map.items():
        if source in dataset.classes and target in predictions.classes:
            lookup[dataset.classes.index(source)] = predictions.classes.index(target)
    return lookup


@dataclass(frozen=True)
class ImageSuspects:
    """The suspect pixels of one image, at its full resolution."""

    mask: np.ndarray  # H x W bool: the pixels whose truth is suspect
    count: int
    by_class: np.ndarray  # (K,) suspect pixels per given (true) class
    given: int  # the true class with the most suspect pixels (-1: none)
    suggested: int  # the class the model gives most of those pixels (-1: none)


@dataclass
class RunLabelQuality:
    """Label quality of the images of a segmentation run, most suspect first."""

    images: np.ndarray  # int64 dataset indices scored, in the order they were read
    score: np.ndarray  # float32 label quality of each of ``images`` (NaN: no labeled pixel, or an error)
    thresholds: np.ndarray  # float32 (K,) confident threshold per class of the run
    size: int  # the long side the images were reduced to for scoring
    errors: dict[int, str] = field(default_factory=dict)  # dataset index -> why it could not be scored

    @property
    def ranked(self) -> np.ndarray:
        """Dataset indices, the lowest label quality first (NaN last; ties in dataset order)."""
        order = np.argsort(np.where(np.isnan(self.score), np.inf, self.score), kind="stable")
        return self.images[order]

    def worst(self, count: int | None = None) -> np.ndarray:
        """Dataset indices of the scored images (not NaN), the lowest label quality first; at most ``count``."""
        order = np.argsort(self.score, kind="stable")  # NaN sorts last
        order = order[~np.isnan(self.score[order])]
        return self.images[order[:count]]

    def score_of(self, index: int) -> float:
        """The label quality of dataset image ``index`` (NaN when it was not scored)."""
        found = np.flatnonzero(self.images == int(index))
        return float(self.score[found[0]]) if len(found) else float("nan")


class RunMasks:
    """A segmentation run's probabilities beside the dataset's true masks (in the run's classes)."""

    def __init__(self, predictions, dataset: Dataset, *, size: int | None = None, lookup=None) -> None:
        """``size``: None for the stored grid, else the long side the image is strided to (see the module
        docstring). ``lookup``: the run's truth table when the caller has it (the job's), else read from the run."""
        self.predictions, self.dataset, self.size = predictions, dataset, size
        self.lookup = truth_lookup(predictions, dataset) if lookup is None else lookup
        self.num_classes = len(predictions.classes)

    def check(self) -> None:
        """Raise NoProbabilities, with what to do, when the run has no images or kept no probabilities."""
        done = np.flatnonzero(self.predictions.done)
        if not len(done):
            raise NoProbabilities("The run has predicted no image yet. " + HOW_TO_GET_PROBABILITIES)
        try:
            self.predictions.probabilities(int(done[0]))
        except Exception as exc:
            raise NoProbabilities(f"This run kept no class probabilities ({exc}). {HOW_TO_GET_PROBABILITIES}") from None

    def truth(self, index: int) -> np.ndarray:
        """The true mask of image ``index`` in the run's class indices (255 ignored); ValueError without one."""
        mask = self.dataset.load_mask(int(index))
        if mask is None:
            raise ValueError("no true mask")
        mask = np.asarray(mask)
        if self.lookup is not None:
            mask = self.lookup[np.clip(mask, 0, 255).astype(np.uint8)]
        return mask

    def pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(true mask, C x h x w probabilities) of image ``index`` on the grid ``size`` chooses."""
        truth, probs = self.truth(index), self.predictions.probabilities(int(index))
        if self.size is None:
            return on_grid(truth, probs.shape[1:]), probs
        s = max(1, int(np.ceil(max(truth.shape) / self.size)))
        pixels = PixelProbabilities(probs, truth.shape)
        return truth[::s, ::s], probs[:, pixels.rows[::s, None], pixels.cols[None, ::s]]

    def pairs(self, indices, errors: dict[int, str] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One pair per index, in order; an image that cannot be read (a file gone or broken since the run) gives
        an all-ignored 1 x 1 pair (scored NaN) and its reason in ``errors``, so positions stay those of
        ``indices``."""
        errors = {} if errors is None else errors
        blank = (np.full((1, 1), IGNORE_INDEX, np.uint8), np.ones((self.num_classes, 1, 1), np.float32))
        for index in indices:
            try:
                yield self.pair(int(index))
            except Exception as exc:  # a bad mask or prediction file is that image's error
                errors[int(index)] = str(exc) or type(exc).__name__
                yield blank

    def suspects(
        self, index: int, thresholds: np.ndarray, truth: np.ndarray | None = None, pixels=None
    ) -> ImageSuspects:
        """The suspect pixels of image ``index`` at full resolution (``truth`` in the run's classes and
        ``pixels`` (PixelProbabilities) are read when not given)."""
        truth = self.truth(index) if truth is None else truth
        if pixels is None:
            pixels = PixelProbabilities(self.predictions.probabilities(int(index)), truth.shape[:2])
        return image_suspects(truth, pixels, thresholds)


def on_grid(truth: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """An image-sized mask brought to a probability grid of ``grid`` (h, w) by the store's nearest rule."""
    rows = nearest_indices(grid[0], truth.shape[0])[:, None]
    cols = nearest_indices(grid[1], truth.shape[1])[None, :]
    return np.asarray(truth)[rows, cols]


def image_thresholds(probabilities: np.ndarray, default: float = 0.5) -> np.ndarray:
    """(K,) thresholds from one image alone, for the overlay when no pass over the run was made: per class, the
    model's mean probability of it over the pixels it predicts as that class (``default`` for a class it does
    not predict). Not the truth's mean self-confidence as in a pass: one image cannot calibrate its own truth
    (a digit painted wholly the wrong class makes that class's mean the mean of the error, and the class the
    model sees there has no labeled pixel at all; measured on the scenes demo: nothing found)."""
    probs = np.asarray(probabilities, dtype=np.float32)
    k = probs.shape[0]
    predicted = probs.argmax(axis=0).ravel()
    top = probs.max(axis=0).ravel()
    counts = np.bincount(predicted, minlength=k)[:k]
    sums = np.bincount(predicted, top, minlength=k)[:k]
    return np.divide(sums, counts, out=np.full(k, default), where=counts > 0).astype(np.float32)


def image_suspects(truth: np.ndarray, pixels: PixelProbabilities, thresholds: np.ndarray) -> ImageSuspects:
    """``suspect_pixels`` of one image at its full resolution, computed in strips of rows so that no
    C x H x W array is made (each strip holds at most ``STRIP_VALUES`` probabilities)."""
    truth = np.asarray(truth)
    height, width = truth.shape
    probs = pixels.probabilities
    k = probs.shape[0]
    rows_per = max(1, STRIP_VALUES // max(1, k * width))
    out = np.zeros((height, width), dtype=bool)
    suggested = np.zeros(k * k, dtype=np.int64)  # given x model's class, over the suspect pixels
    for y0 in range(0, height, rows_per):
        y1 = min(height, y0 + rows_per)
        strip = probs[:, pixels.rows[y0:y1, None], pixels.cols[None, :]].astype(np.float32)
        found = suspect_pixels(truth[y0:y1], strip, thresholds)
        out[y0:y1] = found
        if found.any():
            given = truth[y0:y1][found].astype(np.int64)
            model = strip[:, found].argmax(axis=0)
            suggested += np.bincount(given * k + model, minlength=k * k)
    pairs = suggested.reshape(k, k)
    by_class = pairs.sum(axis=1)
    count = int(out.sum())
    given = int(np.argmax(by_class)) if count else -1
    return ImageSuspects(out, count, by_class, given, int(np.argmax(pairs[given])) if count else -1)


def run_label_quality(
    predictions,
    dataset: Dataset,
    *,
    indices=None,
    size: int = 128,
    progress: ProgressFn | None = None,
    stop: StopFn | None = None,
) -> RunLabelQuality:
    """Label quality of every predicted image of a run (or of ``indices``), one image in memory at a time.

    Raises NoProbabilities when the run kept none; ``Cancelled`` when ``stop()`` says so between images."""
    masks = RunMasks(predictions, dataset)
    masks.check()
    chosen = np.flatnonzero(predictions.done) if indices is None else np.asarray(indices, dtype=np.int64)
    errors: dict[int, str] = {}
    quality: SegmentationLabelQuality = segmentation_label_quality(
        masks.pairs(chosen, errors), total=len(chosen), size=size, progress=progress, stop=stop
    )
    thresholds = quality.thresholds
    if len(thresholds) < masks.num_classes:  # classes beyond the last one seen: never confident
        thresholds = np.concatenate([thresholds, np.full(masks.num_classes - len(thresholds), np.nan, np.float32)])
    score = quality.score.copy()
    score[[k for k, i in enumerate(chosen) if int(i) in errors]] = np.nan
    return RunLabelQuality(chosen.astype(np.int64), score, thresholds, quality.size, errors)
