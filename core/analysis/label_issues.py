"""Label issues: samples whose given label the model's out-of-sample probabilities contradict.

Confident learning (Northcutt, Jiang, Chuang, "Confident Learning: Estimating Uncertainty in Dataset
Labels", JAIR 2021) through cleanlab: a sample is an issue when it falls off the diagonal of the confident
joint (its probability for another class reaches that class's mean self-confidence) and the count pruned
from its cell is within the estimated noise (``filter_by="prune_by_noise_rate"``); on rows scored by the
cross-validated linear probe, also where the probe's argmax is not the given label (``find_label_issues``
says why). Issues are ranked by cleanlab's label quality: self-confidence ``p[given]`` or normalized margin
``p[given] - max_{j != given} p[j]``.

The probabilities must be out-of-sample. A run's predictions on a split the model was not trained on are
that already; for the split it was trained on, :func:`cross_validated_probabilities` fits K logistic
regressions on the embeddings, each predicting the fold it did not see. The result names its ``source``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from core.analysis.progress import ProgressFn, StopFn, step

#: What :attr:`LabelIssues.source` says, for the view and the CSV's readers.
HELD_OUT = "predictions of the model on a split it was not trained on"
CROSS_VALIDATED = "cross-validated logistic regression on the embeddings"

RANKINGS = ("self_confidence", "normalized_margin")


@dataclass(frozen=True)
class LabelIssues:
    """Suspect labels, most suspect first (single-label tasks)."""

    indices: np.ndarray  # int64 sample indices of the issues, most suspect first
    given: np.ndarray  # int64 the label each issue carries
    suggested: np.ndarray  # int64 the class its probabilities favour (argmax)
    score: np.ndarray  # float32 label quality in [0, 1], ascending: lower = more suspect
    quality: np.ndarray  # float32 (N,) label quality of every sample (NaN where unlabeled): for the map's colour
    source: str  # where the probabilities came from: HELD_OUT, CROSS_VALIDATED or the caller's words
    ranked_by: str

    def __len__(self) -> int:
        return len(self.indices)


@dataclass(frozen=True)
class MultilabelIssues:
    """Suspect tag sets, most suspect first: a sample is an issue if any of its tags looks wrong."""

    indices: np.ndarray  # int64 sample indices, most suspect first
    given: np.ndarray  # bool (issues, K): the tags each issue carries
    suggested: np.ndarray  # bool (issues, K): the tags whose probability reaches ``threshold``
    score: np.ndarray  # float32 label quality in [0, 1], ascending
    quality: np.ndarray  # float32 (N,) label quality of every sample
    source: str
    ranked_by: str
    threshold: float

    def __len__(self) -> int:
        return len(self.indices)


def find_label_issues(
    labels: np.ndarray,
    probabilities: np.ndarray,
    *,
    ranked_by: str = "self_confidence",
    source: str = HELD_OUT,
    probed: np.ndarray | None = None,
) -> LabelIssues:
    """Confident learning on N labels (int, -1 = unlabeled, left out) and N x K out-of-sample probabilities.

    ``ranked_by``: ``"self_confidence"`` (p of the given class) or ``"normalized_margin"`` (p of the
    given class minus the largest other p). Rows of ``probabilities`` need not be exactly normalized.
    ``probed``: True for rows whose probabilities come from :func:`cross_validated_probabilities`; those are
    also issues where the probe's most probable class is not the given one (cleanlab's
    ``filter_by="predicted_neq_given"``). A linear probe is underconfident: the true class of a flipped label
    gets p ~ 0.55 against per-class confident thresholds of 0.82-0.93, so confident learning alone flagged 4
    of the 72 flipped labels of the noisy digits demo, and the probe's argmax 58, all of them real.
    """
    from cleanlab.filter import find_label_issues as cl_find
    from cleanlab.rank import get_label_quality_scores

    labels, probs, labeled = _check(labels, probabilities, ranked_by)
    quality = np.full(len(labels), np.nan, np.float32)
    if labeled.sum() < 2:
        return _empty_issues(quality, source, ranked_by)
    y, p = labels[labeled], _normalized(probs[labeled])
    # n_jobs=1: cleanlab forks a pool otherwise, which is unsafe inside a GUI worker thread
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "class k has fewer than 5 examples": the ranking still stands
        flagged = np.asarray(cl_find(y, p, n_jobs=1), dtype=bool)
        scores = get_label_quality_scores(y, p, method=ranked_by).astype(np.float32)
    if probed is not None:
        flagged |= np.asarray(probed, dtype=bool)[labeled] & (p.argmax(axis=1) != y)
    rows = np.flatnonzero(labeled)
    quality[rows] = scores
    ranked = np.flatnonzero(flagged)[np.argsort(scores[flagged], kind="stable")]  # most suspect first
    issues = rows[ranked]
    return LabelIssues(
        indices=issues.astype(np.int64),
        given=labels[issues],
        suggested=probs[issues].argmax(axis=1).astype(np.int64),
        score=scores[ranked],
        quality=quality,
        source=source,
        ranked_by=ranked_by,
    )


def find_multilabel_issues(
    tags: np.ndarray,
    probabilities: np.ndarray,
    *,
    ranked_by: str = "self_confidence",
    threshold: float = 0.5,
    source: str = HELD_OUT,
) -> MultilabelIssues:
    """cleanlab's multilabel confident learning on N x K tags (0/1) and N x K per-tag probabilities
    (sigmoids; one-vs-rest per tag, a sample's quality the softmin over its tags' qualities)."""
    from cleanlab.multilabel_classification.filter import find_label_issues as cl_find
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    tags = np.asarray(tags).astype(bool)
    probs = np.asarray(probabilities, dtype=np.float64)
    if tags.shape != probs.shape or tags.ndim != 2:
        raise ValueError(f"tags {tags.shape} and probabilities {probs.shape} must both be N x K")
    if ranked_by not in RANKINGS:
        raise ValueError(f"ranked_by must be one of {RANKINGS}, not {ranked_by!r}")
    given = [np.flatnonzero(row).tolist() for row in tags]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ranked = np.asarray(cl_find(given, probs, return_indices_ranked_by=ranked_by, n_jobs=1), np.int64)
        quality = get_label_quality_scores(given, probs, method=ranked_by).astype(np.float32)
    return MultilabelIssues(
        indices=ranked,
        given=tags[ranked],
        suggested=probs[ranked] >= threshold,
        score=quality[ranked],
        quality=quality,
        source=source,
        ranked_by=ranked_by,
        threshold=float(threshold),
    )


def cross_validated_probabilities(
    embeddings: np.ndarray,
    labels: np.ndarray,
    folds: int = 5,
    *,
    num_classes: int | None = None,
    max_dims: int = 256,
    C: float = 1.0,
    max_iter: int = 200,
    seed: int = 0,
    progress: ProgressFn | None = None,
    stop: StopFn | None = None,
) -> np.ndarray:
    """Out-of-sample N x K probabilities from K-fold logistic regression on the embeddings.

    Each fold's model is fitted on the other folds' labeled samples and predicts this fold only, so no
    sample is scored by a model that saw its label. ``labels``: N ints (-1 = unlabeled: predicted, never
    fitted) or N x K tags (multilabel: one logistic regression per tag, sigmoid probabilities). Embeddings
    are centred, reduced to ``max_dims`` principal axes (fitted without labels, so nothing leaks: it keeps
    60,000 x 512 within minutes on two cores) and scaled to a mean row length of 1 (one scale for every
    axis: per-axis standardisation inflates the noise axes; on digits with 5% flipped labels it cost
    a fifth of the precision). ``progress`` counts folds.
    """
    x = _reduced(np.asarray(embeddings, dtype=np.float32), max_dims)
    labels = np.asarray(labels)
    multilabel = labels.ndim == 2
    k = labels.shape[1] if multilabel else int(num_classes or labels.max() + 1)
    out = np.zeros((len(x), k), np.float32)
    for fold, (train, test) in enumerate(_folds(labels, folds, seed)):
        step(fold, folds, progress, stop)
        if multilabel:
            out[test] = _fit_tags(x[train], labels[train], x[test], C, max_iter, seed)
        else:
            train = train[labels[train] >= 0]
            out[test] = _fit_classes(x[train], labels[train], x[test], k, C, max_iter, seed)
    step(folds, folds, progress, None)
    return out


def _folds(labels: np.ndarray, folds: int, seed: int):
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(labels)
    if n < 2 * folds:
        raise ValueError(f"{n} samples are too few for {folds}-fold cross-validation")
    if labels.ndim == 1:
        counts = np.bincount(labels[labels >= 0] if (labels >= 0).any() else [0])
        if counts[counts > 0].min() >= folds:
            return StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(n), labels)
    return KFold(folds, shuffle=True, random_state=seed).split(np.zeros(n))


def _reduced(x: np.ndarray, max_dims: int) -> np.ndarray:
    """Centred, projected on the first ``max_dims`` principal axes when wider, rows of mean length 1."""
    x = x - x.mean(axis=0)
    if x.shape[1] > max_dims:
        _, _, vt = np.linalg.svd(x.T @ x, hermitian=True)
        x = x @ vt[:max_dims].T
    return x / max(float(np.sqrt((x * x).sum(axis=1).mean())), 1e-12)


def _fit_classes(x, y, x_test, k, C, max_iter, seed) -> np.ndarray:
    """One multinomial logistic regression; columns of classes absent from this fold stay 0."""
    out = np.zeros((len(x_test), k), np.float32)
    present = np.unique(y)
    if len(present) == 1:  # one class seen: it is all this fold can say
        out[:, present[0]] = 1.0
        return out
    model = _logistic(C, max_iter, seed).fit(x, y)
    out[:, model.classes_] = model.predict_proba(x_test)
    return out


def _fit_tags(x, tags, x_test, C, max_iter, seed) -> np.ndarray:
    """One logistic regression per tag; a tag always or never present in the fold keeps that rate."""
    out = np.empty((len(x_test), tags.shape[1]), np.float32)
    for j in range(tags.shape[1]):
        t = tags[:, j].astype(bool)
        if t.all() or not t.any():
            out[:, j] = float(t.mean())
            continue
        out[:, j] = _logistic(C, max_iter, seed).fit(x, t).predict_proba(x_test)[:, 1]
    return out


def _logistic(C: float, max_iter: int, seed: int):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=max_iter, tol=1e-3, random_state=seed)


def _check(labels, probabilities, ranked_by):
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probabilities, dtype=np.float32)
    if ranked_by not in RANKINGS:
        raise ValueError(f"ranked_by must be one of {RANKINGS}, not {ranked_by!r}")
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ValueError(f"probabilities {probs.shape} must be N x K for N = {len(labels)} labels")
    if labels.max(initial=-1) >= probs.shape[1]:
        raise ValueError(f"label {labels.max()} has no column among {probs.shape[1]} probabilities")
    return labels, probs, labels >= 0


def _normalized(p: np.ndarray) -> np.ndarray:
    """Rows that sum to 1 (cleanlab checks it; stored float16 scores are off by rounding)."""
    p = np.clip(p.astype(np.float64), 0.0, None)
    total = p.sum(axis=1, keepdims=True)
    return np.where(total > 0, p / np.where(total > 0, total, 1), 1.0 / p.shape[1])


def _empty_issues(quality, source, ranked_by) -> LabelIssues:
    none = np.zeros(0, np.int64)
    return LabelIssues(none, none, none, np.zeros(0, np.float32), quality, source, ranked_by)
