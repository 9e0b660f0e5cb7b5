"""Per-sample scores for error analysis: which samples did the model get most wrong?

Every score is an array over the whole dataset (N,) with NaN where a sample has no prediction
(and, for the losses, no label). Losses come from :mod:`core.metrics.losses`; "confidence" is the top
probability and "margin" the gap between the two top classes (multilabel: the mean confidence of
the per-label decisions, and the smallest gap |p - (1 - p)| of any label). :func:`worst_first` puts
the most suspicious samples first: highest loss, lowest confidence, smallest margin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.datasets.base import Dataset
from core.evaluation.classification import truth_is_tags
from core.inference.predictions import Predictions
from core.metrics import losses

#: Rows per call of a loss: bounds the one-hot temporaries of MSE/MAE for 1,000 classes.
BLOCK = 4096


@dataclass(frozen=True)
class Score:
    higher_is_worse: bool
    #: f(targets, probabilities) -> (n,) for a block of predicted (and, if needed, labelled) rows.
    compute: Callable[[np.ndarray, np.ndarray], np.ndarray]
    needs_labels: bool = True


def _confidence(_y, probs: np.ndarray) -> np.ndarray:
    return probs.max(axis=1)


def _margin(_y, probs: np.ndarray) -> np.ndarray:
    if probs.shape[1] < 2:
        return np.ones(len(probs))
    top2 = np.partition(probs, probs.shape[1] - 2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def _label_confidence(_y, probs: np.ndarray) -> np.ndarray:
    return np.maximum(probs, 1.0 - probs).mean(axis=1)


def _label_margin(_y, probs: np.ndarray) -> np.ndarray:
    return np.abs(2.0 * probs - 1.0).min(axis=1)


def _positive(loss: Callable) -> Callable:
    """A binary loss of the label against the score of class 1."""
    return lambda y, probs: loss(y.astype(np.float64), probs[:, 1])


_SHARED = {"MSE": Score(True, losses.mse), "MAE": Score(True, losses.mae)}
_SINGLE = {"confidence": Score(False, _confidence, False), "margin": Score(False, _margin, False)}
#: Per task, the scores offered, the task's own loss first.
SCORES: dict[str, dict[str, Score]] = {
    "binary": {
        "binary cross-entropy": Score(True, _positive(losses.binary_cross_entropy)),
        "focal loss": Score(True, _positive(losses.focal_loss)),
        **_SHARED,
        **_SINGLE,
    },
    "multiclass": {
        "cross-entropy": Score(True, losses.categorical_cross_entropy),
        "focal loss": Score(True, losses.focal_loss),
        **_SHARED,
        **_SINGLE,
    },
    "multilabel": {
        "sigmoid cross-entropy": Score(True, losses.sigmoid_cross_entropy),
        "focal loss": Score(True, losses.focal_loss),
        **_SHARED,
        "confidence": Score(False, _label_confidence, False),
        "margin": Score(False, _label_margin, False),
    },
}


def scores_for(task: str) -> list[str]:
    """Names of the scores that apply to a task, the task's own loss first."""
    return list(SCORES.get(task, {}))


def higher_is_worse(task: str, name: str) -> bool:
    return SCORES[task][name].higher_is_worse


def _targets(dataset: Dataset) -> tuple[np.ndarray | None, np.ndarray]:
    """Targets per sample and whether each sample is labelled."""
    if truth_is_tags(dataset):
        if dataset.tags is None:
            return None, np.zeros(len(dataset), dtype=bool)
        return dataset.tags, np.ones(len(dataset), dtype=bool)
    if dataset.targets is None:
        return None, np.zeros(len(dataset), dtype=bool)
    return dataset.targets, dataset.targets >= 0


def sample_scores(name: str, dataset: Dataset, predictions: Predictions, indices=None) -> np.ndarray:
    """The score ``name`` (one of :func:`scores_for`) of every sample (computed for ``indices`` only, if
    given), NaN where it is not defined."""
    score = SCORES[dataset.task][name]
    targets, labelled = _targets(dataset)
    rows = predictions.done & (labelled if score.needs_labels else True)
    if indices is not None:
        rows &= np.isin(np.arange(len(rows)), indices)
    rows = np.flatnonzero(rows)
    out = np.full(len(dataset), np.nan)
    for start in range(0, len(rows), BLOCK):
        block = rows[start : start + BLOCK]
        y = None if targets is None else targets[block]
        out[block] = score.compute(y, predictions.scores[block].astype(np.float64))
    return out


def worst_first(values: np.ndarray, higher_is_worse: bool = True, indices: np.ndarray | None = None) -> np.ndarray:
    """``indices`` (default: all) with a defined value, from the worst to the best; ties keep index order."""
    indices = np.arange(len(values)) if indices is None else np.asarray(indices, dtype=np.int64)
    indices = indices[~np.isnan(values[indices])]
    key = -values[indices] if higher_is_worse else values[indices]
    return indices[stable_argsort(key)]


def stable_argsort(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")``, five times faster for a million floats that float32 holds exactly
    (scores of a run, their losses mostly not): see :func:`_packed_argsort`. Other keys: an unstable (introsort)
    pass, then only the runs of equal keys put back in position order (half the cost of a stable sort)."""
    if key.dtype.kind == "f" and len(key) < 2**32:
        narrow = key.astype(np.float32)
        if np.array_equal(narrow, key):  # no NaN, nothing lost
            return _packed_argsort(narrow)
    order = np.argsort(key)
    if len(order) < 2:
        return order
    ordered = key[order]
    tied = np.flatnonzero(ordered[1:] == ordered[:-1])
    if not len(tied):
        return order
    in_run = np.zeros(len(order), dtype=bool)
    in_run[tied] = in_run[tied + 1] = True
    members = np.flatnonzero(in_run)  # every position in a run of equal keys
    runs = np.cumsum(np.r_[True, ordered[members][1:] != ordered[members][:-1]])
    # Runs are contiguous and already in key order: sorting (run, original position) keeps them in place.
    order[members] = order[members][np.lexsort((order[members], runs))]
    return order


def _packed_argsort(key: np.ndarray) -> np.ndarray:
    """The stable argsort of float32 ``key`` (no NaN) by one sort of uint64 (value's bits << 32 | position): every
    packed key is distinct, so the fast unstable sort keeps ties in position order."""
    bits = (key + np.float32(0)).view(np.uint32)  # -0.0 + 0 is 0.0: equal zeros, equal bits
    # IEEE floats sort as their bits once negatives have every bit flipped and positives their sign bit set.
    bits = np.where(bits >> 31, ~bits, bits | np.uint32(0x80000000)).astype(np.uint64)
    packed = (bits << np.uint64(32)) | np.arange(len(key), dtype=np.uint64)
    packed.sort()
    return (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)


def rank(name: str, dataset: Dataset, predictions: Predictions, indices: np.ndarray | None = None) -> np.ndarray:
    """The samples (``indices``, default all) with a score ``name``, worst first."""
    values = sample_scores(name, dataset, predictions, indices)
    return worst_first(values, higher_is_worse(dataset.task, name), indices)


def hardest(dataset: Dataset, predictions: Predictions, class_index: int) -> np.ndarray:
    """The predicted samples of class ``class_index`` (multilabel: carrying label ``class_index``), hardest first.

    Single-label: by the task's own loss (cross-entropy, -log p[true class]). Multilabel: by the binary
    cross-entropy of that label alone, -log p[label], so the most confidently missed positives come first.
    """
    if truth_is_tags(dataset):
        if dataset.tags is None:
            return np.zeros(0, dtype=np.int64)
        members = np.flatnonzero((dataset.tags[:, class_index] > 0) & predictions.done)
        values = np.full(len(dataset), np.nan)
        values[members] = losses.binary_cross_entropy(np.ones(len(members)), predictions.scores[members, class_index])
        return worst_first(values, True, members)
    members = np.flatnonzero(dataset.targets == class_index) if dataset.targets is not None else np.zeros(0, int)
    return rank(scores_for(dataset.task)[0], dataset, predictions, members)


def histogram(
    values: np.ndarray, bins: int = 30, limits: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) of the defined values in ``bins`` equal bins [lo, hi) (the last one closed).

    ``limits``: (lo, hi) of a score with a known range (IoU: 0 to 1); default the values' min and max.
    Counts use :func:`bin_of`, so a bar's height always equals the number of samples it selects."""
    defined = values[~np.isnan(values)]
    if limits is not None:
        lo, hi = limits
    else:
        lo, hi = (float(defined.min()), float(defined.max())) if defined.size else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    return np.bincount(bin_of(defined, edges), minlength=bins), edges


def bin_of(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each value (values outside [edges[0], edges[-1]] go to the first or last bin)."""
    index = np.searchsorted(edges, values, side="right") - 1
    return np.clip(index, 0, len(edges) - 2)


def in_bin(values: np.ndarray, edges: np.ndarray, b: int) -> np.ndarray:
    """Indices of the samples counted in bar ``b`` of :func:`histogram`."""
    defined = np.flatnonzero(~np.isnan(values))
    return defined[bin_of(values[defined], edges) == b]


def in_range(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Indices of the samples whose value lies in [lo, hi]."""
    with np.errstate(invalid="ignore"):
        return np.flatnonzero((values >= lo) & (values <= hi))
