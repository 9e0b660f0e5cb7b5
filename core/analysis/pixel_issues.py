"""Label quality of segmentation masks: which images' truth is suspect, and which of their pixels.

Per image, cleanlab's segmentation score (``cleanlab.segmentation.rank.get_label_quality_scores``,
``method="softmin"``): every pixel's self-confidence ``p[given]``, pooled by a softmin (temperature 0.1)
that leans towards the image's worst pixels, so a small mislabeled region lowers its image's score.

Bounded memory: images are read one at a time from an iterable, and each is reduced to at most ``size``
pixels on its long side by taking every s-th pixel of the mask and of the probabilities alike (the same
pixels, no averaging that would invent labels at class borders). Nothing of size N x H x W is ever held;
an image of 2048 x 1024 with 19 classes costs 128 x 64 x 19 floats. Ignored pixels (``ignore_index``)
are left out of the score.

Suspect pixels (the overlay) follow confident learning per pixel: a pixel is suspect when the probability
of its given class is under that class's confident threshold (the mean self-confidence of the pixels
labeled with it, over the whole pass) while another class reaches its own threshold.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from core.analysis.progress import ProgressFn, StopFn, step


@dataclass(frozen=True)
class SegmentationLabelQuality:
    """Per-image label quality of a segmentation dataset, most suspect image first."""

    indices: np.ndarray  # int64 image indices ranked by score, lowest first (images without labeled pixels last)
    score: np.ndarray  # float32 (N,) label quality per image in [0, 1] (NaN: no labeled pixel)
    thresholds: np.ndarray  # float32 (K,) confident threshold per class (NaN for classes never seen)
    size: int  # the long side images were reduced to for scoring
    pixels: np.ndarray | None = None  # int64 (K,) labeled pixels per class scored (to pool thresholds of shares)


def segmentation_label_quality(
    images: Iterable[tuple[np.ndarray, np.ndarray]],
    *,
    total: int | None = None,
    ignore_index: int = 255,
    size: int = 128,
    progress: ProgressFn | None = None,
    stop: StopFn | None = None,
) -> SegmentationLabelQuality:
    """Score each ``(mask H x W of class indices, probabilities K x H x W)`` of ``images``.

    ``total`` is only for progress (images are counted as they come). ``stop()`` cancels between images.
    """
    scores: list[float] = []
    sums: np.ndarray | None = None
    counts: np.ndarray | None = None
    for i, (mask, probs) in enumerate(images):
        step(i, total or i + 1, progress, stop)
        given, p = _reduce(np.asarray(mask), np.asarray(probs, dtype=np.float32), ignore_index, size)
        if sums is None:
            sums, counts = np.zeros(p.shape[0]), np.zeros(p.shape[0])
        scores.append(_image_score(given, p))
        self_conf = p[given, np.arange(len(given))]
        sums += np.bincount(given, self_conf, minlength=len(sums))[: len(sums)]
        counts += np.bincount(given, minlength=len(counts))[: len(counts)]
    step(len(scores), total or len(scores), progress, None)
    score = np.asarray(scores, np.float32)
    thresholds = np.full(0 if sums is None else len(sums), np.nan, np.float32)
    if sums is not None:
        seen = counts > 0
        thresholds[seen] = sums[seen] / counts[seen]
    ranked = np.argsort(np.where(np.isnan(score), np.inf, score), kind="stable").astype(np.int64)
    pixels = np.zeros(len(thresholds), np.int64) if counts is None else counts.astype(np.int64)
    return SegmentationLabelQuality(ranked, score, thresholds, size, pixels)


def pixel_label_quality(mask: np.ndarray, probabilities: np.ndarray, *, ignore_index: int = 255) -> np.ndarray:
    """H x W self-confidence ``p[given]`` of one image at full resolution (NaN where ignored)."""
    mask = np.asarray(mask)
    probs = np.asarray(probabilities, dtype=np.float32)
    valid = (mask != ignore_index) & (mask >= 0) & (mask < probs.shape[0])
    out = np.full(mask.shape, np.nan, np.float32)
    rows, cols = np.nonzero(valid)
    out[rows, cols] = probs[mask[rows, cols], rows, cols]
    return out


def suspect_pixels(
    mask: np.ndarray, probabilities: np.ndarray, thresholds: np.ndarray, *, ignore_index: int = 255
) -> np.ndarray:
    """H x W bool: pixels whose given class is under its confident threshold while another class
    (not the given one) reaches its own: the off-diagonal of the per-pixel confident joint."""
    probs = np.asarray(probabilities, dtype=np.float32)
    self_conf = pixel_label_quality(mask, probs, ignore_index=ignore_index)
    t = np.nan_to_num(np.asarray(thresholds, np.float32), nan=np.inf)[:, None, None]
    confident = probs >= t  # K x H x W: classes each pixel confidently belongs to
    given = np.where(np.isnan(self_conf), -1, np.asarray(mask).astype(np.int64))
    classes = np.arange(probs.shape[0])[:, None, None]
    other = (confident & (classes != given[None])).any(axis=0)
    under = self_conf < np.take(t[:, 0, 0], np.clip(given, 0, None))
    return other & under & (given >= 0)


def _reduce(mask, probs, ignore_index, size):
    """The labeled pixels of every s-th row and column: (given classes, K x pixels probabilities)."""
    if probs.ndim != 3 or probs.shape[1:] != mask.shape:
        raise ValueError(f"probabilities {probs.shape} must be K x H x W for a mask of {mask.shape}")
    s = max(1, int(np.ceil(max(mask.shape) / size)))
    m, p = mask[::s, ::s].ravel(), probs[:, ::s, ::s].reshape(probs.shape[0], -1)
    valid = (m != ignore_index) & (m >= 0) & (m < probs.shape[0])
    p = p[:, valid]
    total = p.sum(axis=0, keepdims=True)
    p = np.where(total > 0, p / np.where(total > 0, total, 1), 1.0 / max(p.shape[0], 1))
    return m[valid].astype(np.int64), p


def _image_score(given: np.ndarray, p: np.ndarray) -> float:
    """cleanlab's softmin image score, with the labeled pixels laid out as a 1 x n strip."""
    if len(given) == 0:
        return float("nan")
    from cleanlab.segmentation.rank import get_label_quality_scores

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image_scores, _ = get_label_quality_scores(
            given[None, None, :], p[None, :, None, :].astype(np.float64), method="softmin", verbose=False
        )
    return float(image_scores[0])
