"""Outliers: samples unlike the rest, by where their embedding lies and by what the model makes of them.

Two scores, both "higher = more unusual", and their combination:

- ``knn``: the mean cosine distance to the k nearest neighbours, divided by its median over the data
  (Datalab's ``OutlierIssueManager`` scores the same mean distance, as ``exp(-d / median)``; a ratio keeps
  the ranking and reads directly: 3 = three times as far from its neighbours as a typical sample).
- ``ood``: cleanlab's out-of-distribution score from the probabilities (``OutOfDistribution``,
  ``method="entropy"``: the normalized entropy of the probabilities after subtracting each class's
  confident threshold when labels are given), as 1 - cleanlab's in-distribution score.
- ``score``: where both are given, the mean of their robust z-scores (``(s - median) / (1.4826 MAD)``),
  else the one given. Robust z-scores keep the tails, where outliers are (percentile ranks would squash a
  sample ten times as far as the rest to the level of one a little further: on the digits with planted
  noise, 10 of 15 noise images in the top 15 by percentiles, 14 by z-scores).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from core.analysis.neighbours import Neighbours


@dataclass(frozen=True)
class Outliers:
    """Every sample ranked, most unusual first."""

    indices: np.ndarray  # int64 (N,) sample indices, most unusual first
    score: np.ndarray  # float32 (N,) the ranking score of each sample (by sample index), higher = more unusual
    knn: np.ndarray | None  # float32 (N,) mean k-NN distance / its median, or None
    ood: np.ndarray | None  # float32 (N,) 1 - cleanlab's in-distribution score, or None

    def top(self, count: int) -> np.ndarray:
        return self.indices[:count]


def knn_scores(neighbours: Neighbours, k: int | None = None) -> np.ndarray:
    """Mean cosine distance to the ``k`` (default all stored) nearest neighbours, over its median."""
    d = neighbours.distances[:, : k or neighbours.k].astype(np.float64)
    d = np.where(np.isfinite(d), d, np.nan)
    mean = np.nanmean(d, axis=1) if d.shape[1] else np.zeros(len(d))
    mean = np.nan_to_num(mean, nan=0.0)
    return (mean / max(float(np.median(mean)), 1e-12)).astype(np.float32)


def ood_scores(probabilities: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """cleanlab's entropy OOD score from N x K probabilities, flipped so that higher = more unusual.

    With ``labels`` (ints, -1 = unlabeled) cleanlab first subtracts each class's confident threshold
    (a class the model is always unsure of does not make all its samples look foreign); without, the
    raw normalized entropy.
    """
    from cleanlab.outlier import OutOfDistribution

    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, None)
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
    adjust = labels is not None and bool((np.asarray(labels) >= 0).all())
    ood = OutOfDistribution({"method": "entropy", "adjust_pred_probs": adjust})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_dist = ood.fit_score(pred_probs=p, labels=np.asarray(labels) if adjust else None, verbose=False)
    return (1.0 - in_dist).astype(np.float32)


def rank_outliers(knn: np.ndarray | None = None, ood: np.ndarray | None = None) -> Outliers:
    """Rank samples by :func:`knn_scores`, :func:`ood_scores` or both (mean of robust z-scores)."""
    given = [s for s in (knn, ood) if s is not None]
    if not given:
        raise ValueError("give knn scores, ood scores or both")
    if len({len(s) for s in given}) > 1:
        raise ValueError("knn and ood scores are for different numbers of samples")
    score = given[0] if len(given) == 1 else np.mean([_robust_z(s) for s in given], axis=0)
    score = np.asarray(score, np.float32)
    indices = np.argsort(-score, kind="stable").astype(np.int64)
    return Outliers(indices, score, knn, ood)


def _robust_z(x: np.ndarray) -> np.ndarray:
    """How many (robust) standard deviations above the median: (x - median) / (1.4826 MAD)."""
    x = np.asarray(x, np.float64)
    median = np.median(x)
    mad = 1.4826 * np.median(np.abs(x - median))
    return (x - median) / max(mad, 1e-12)
