"""Which images of a segmentation run have a suspect mask: two bounded passes over a run's stored images.

Pass one is cleanlab's per-image score (``segmentation_label_quality``: the softmin of the pixels'
self-confidence) and the per-class confident thresholds; pass two counts each image's suspect pixels
(``suspect_pixels``: the given class under its threshold while another class reaches its own, and the
model's most probable class is not the given one, as cleanlab's ``segmentation.filter`` keeps only those).
Both read one image at a time, reduced to at most :data:`SIZE` pixels on its long side (every s-th pixel of
the image: ``RunMasks(..., size=SIZE).pairs``, the reader the Label quality view uses on the stored grid).

**The flag.** cleanlab flags pixels, not images, and a few suspect pixels lie on the border of almost every
object. An image is flagged when its suspect pixels make up a *region*: the suspect pixels the mask gives
class c and the model gives class d cover at least :data:`REGION_SHARE` of the image's pixels of c (as
labeled) or of d (as predicted), and at least :data:`MIN_SHARE` of its labeled pixels. A digit painted as
the wrong digit covers its whole region (share ~1); an object left as background covers what the model
predicts there; border disagreement covers a sliver of either. ``given`` and ``suggested`` name the (c, d)
of the largest such group.

Under torchrun each rank scores the images it predicted; the thresholds are pooled from every rank's
per-class sums (``pool``) before pass two, so the result is the one process's up to float rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from core.analysis.pixel_issues import segmentation_label_quality, suspect_pixels
from core.analysis.progress import ProgressFn, StopFn, step

#: The long side images are reduced to for scoring (``RunMasks``' stride: every s-th pixel of both).
SIZE = 128
#: A suspect group covers at least this share of its class's pixels in the image (as labeled or as predicted).
REGION_SHARE = 0.5
#: ... and at least this share of the image's labeled pixels (a region, not a fleck).
MIN_SHARE = 0.005
#: pool(thresholds, pixels) -> thresholds over every rank (torchrun); None: this process saw every image.
PoolFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class MaskIssues:
    """Per scored image (the rows ``indices`` of the analysis), most suspect decided by ``flagged``."""

    indices: np.ndarray  # int64 (n,): the rows these are for
    score: np.ndarray  # float32 (n,): cleanlab's label quality, lower = more suspect (NaN: no labeled pixel)
    suspect: np.ndarray  # float32 (n,): share of the image's labeled pixels that are suspect
    given: np.ndarray  # int64 (n,): the class the mask gives the largest suspect group (-1: none)
    suggested: np.ndarray  # int64 (n,): what the model predicts on that group (-1: none)
    flagged: np.ndarray  # bool (n,): the group is a region (see the module docstring)
    uncertainty: np.ndarray  # float32 (n,): mean normalized entropy of the image's pixels (0 sure .. 1 unsure)
    #: How the images are ranked (analysis.json says so): cleanlab's segmentation score.
    ranked_by: ClassVar[str] = "softmin"

    def ranked(self) -> np.ndarray:
        """Positions of the flagged images, lowest score first."""
        flagged = np.flatnonzero(self.flagged)
        return flagged[np.argsort(self.score[flagged], kind="stable")]

    @classmethod
    def concat(cls, parts: Sequence[MaskIssues]) -> MaskIssues:
        """The parts one after the other (the caller's rows already in ``indices``)."""
        fields = ("indices", "score", "suspect", "given", "suggested", "flagged", "uncertainty")
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in fields))


def find_mask_issues(
    images: Callable[[], Iterator],
    indices: np.ndarray,
    *,
    pool: PoolFn | None = None,
    progress: ProgressFn | None = None,
    stop: StopFn | None = None,
) -> MaskIssues:
    """Both passes over ``images()`` (called twice; yields (mask, probabilities) for each of ``indices``)."""
    n = len(indices)
    first = segmentation_label_quality(images(), total=2 * n, size=SIZE, progress=progress, stop=stop)
    thresholds = first.thresholds if pool is None else pool(first.thresholds, first.pixels)
    out = {name: [] for name in ("suspect", "given", "suggested", "flagged", "uncertainty")}
    for k, (mask, probs) in enumerate(images()):
        step(n + k, 2 * n, progress, stop)
        for name, value in zip(out, image_summary(mask, probs, thresholds)):
            out[name].append(value)
    step(2 * n, 2 * n, progress, None)
    return MaskIssues(
        np.asarray(indices, np.int64), first.score, np.asarray(out["suspect"], np.float32),
        np.asarray(out["given"], np.int64), np.asarray(out["suggested"], np.int64),
        np.asarray(out["flagged"], bool), np.asarray(out["uncertainty"], np.float32),
    )  # fmt: skip


def image_summary(mask: np.ndarray, probs: np.ndarray, thresholds: np.ndarray, *, ignore_index: int = 255):
    """(suspect share, given, suggested, flagged, mean normalized entropy) of one reduced image."""
    probs = np.asarray(probs, np.float32)
    k = probs.shape[0]
    uncertainty = _normalized_entropy(probs)
    labeled = (mask != ignore_index) & (mask >= 0) & (mask < k)
    total = int(labeled.sum())
    predicted = probs.argmax(axis=0)
    suspect = suspect_pixels(mask, probs, thresholds, ignore_index=ignore_index) & (predicted != mask)
    if total == 0 or not suspect.any():
        return 0.0, -1, -1, False, uncertainty
    groups = np.bincount(mask[suspect].astype(np.int64) * k + predicted[suspect], minlength=k * k).reshape(k, k)
    as_labeled = np.bincount(mask[labeled].astype(np.int64), minlength=k)[:, None]
    as_predicted = np.bincount(predicted[labeled], minlength=k)[None, :]
    region = (groups >= REGION_SHARE * np.minimum(as_labeled, as_predicted)) & (groups >= MIN_SHARE * total)
    region &= groups > 0
    pick = np.where(region, groups, 0) if region.any() else groups
    given, suggested = np.unravel_index(int(pick.argmax()), groups.shape)
    return float(suspect.sum() / total), int(given), int(suggested), bool(region.any()), uncertainty


def pooled_thresholds(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Per-class thresholds of several processes' (thresholds, pixel counts): the pixel-weighted mean."""
    parts = [(t, c) for t, c in parts if c is not None and len(c)]  # a rank that scored no image knows no K
    if not parts:
        return np.zeros(0, np.float32)
    sums = sum(np.nan_to_num(t.astype(np.float64)) * c for t, c in parts)
    counts = sum(c.astype(np.float64) for _, c in parts)
    return np.divide(sums, counts, out=np.full(len(counts), np.nan), where=counts > 0).astype(np.float32)


def _normalized_entropy(probs: np.ndarray) -> float:
    """Mean over the pixels of the entropy of their class probabilities over log K (cleanlab's OOD
    ``entropy`` measure, per pixel)."""
    k = probs.shape[0]
    if k < 2 or probs[0].size == 0:
        return 0.0
    p = np.clip(probs.reshape(k, -1), 1e-12, 1.0)
    return float((-(p * np.log(p)).sum(axis=0) / np.log(k)).mean())


__all__ = ["MIN_SHARE", "REGION_SHARE", "SIZE", "MaskIssues", "find_mask_issues", "image_summary"]
