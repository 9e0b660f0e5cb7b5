"""k nearest neighbours of every sample in embedding space, by cosine distance; shared by duplicates,
outliers and anything else that asks "which samples look alike".

Never an N x N matrix: the exact search compares blocks of rows with all rows (``block`` x N floats at a
time) and keeps each row's k best; above ``EXACT_UP_TO`` samples a faiss inverted file on the principal
axes finds candidates in a fraction of the time, re-ranked by exact distance (a recall near 1 for close
pairs, which are the ones duplicates and outliers care about). Without faiss the exact numpy search is used at any size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.analysis.progress import ProgressFn, StopFn, step

#: Cosine distances under this are float32 rounding (1 - u.u of a unit row is ~1e-7): they read 0, so that
#: identical embeddings are at distance 0.
ROUNDING = 1e-6
#: Above this many samples the search is approximate (faiss IVF) when faiss is installed: the exact search
#: costs 2 N^2 d flops (3.7e12 for 60,000 x 512, a minute or more on two cores).
EXACT_UP_TO = 15_000
#: The approximate search compares samples on this many principal axes, then re-ranks in full dimension.
SEARCH_DIMS = 128
#: Coarse cells searched per query (of sqrt(N)).
NPROBE = 8


@dataclass(frozen=True)
class Neighbours:
    """Each sample's k nearest other samples, nearest first."""

    indices: np.ndarray  # (N, k) int64; never the sample itself; -1 where there are fewer than k others
    distances: np.ndarray  # (N, k) float32 cosine distances 1 - cos(a, b), in [0, 2], ascending per row
    exact: bool  # False when an approximate index (faiss IVF) answered

    @property
    def k(self) -> int:
        return self.indices.shape[1]

    def median_nearest(self) -> float:
        """The median distance of a sample to its nearest neighbour: the data's own scale of "close"."""
        nearest = self.distances[:, 0]
        nearest = nearest[self.indices[:, 0] >= 0]
        return float(np.median(nearest)) if len(nearest) else 0.0


def unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 as float32 (rows of zeros stay zeros: at distance 1 from everything)."""
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be N x D, got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, np.float32(1e-12))


def cosine_distances(unit: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - cos between rows ``a[i]`` and ``b[i]`` of unit-length embeddings, pair by pair."""
    return _distances(np.einsum("ij,ij->i", unit[a], unit[b]))


def _distances(similarities: np.ndarray) -> np.ndarray:
    d = np.clip(1.0 - similarities, 0.0, 2.0).astype(np.float32)
    d[d < ROUNDING] = 0.0
    return d


def nearest_neighbours(
    embeddings: np.ndarray,
    k: int = 10,
    *,
    exact: bool | None = None,
    block: int = 1024,
    progress: ProgressFn | None = None,
    stop: StopFn | None = None,
) -> Neighbours:
    """The ``k`` nearest other samples of every sample by cosine distance.

    ``exact``: None picks by size (exact up to :data:`EXACT_UP_TO` samples, above that the approximate
    :func:`_ivf_search` when faiss is installed). ``progress(done, total)`` counts steps of work;
    ``stop()`` cancels between blocks.
    """
    unit = unit_rows(embeddings)
    n = len(unit)
    k = int(min(k, max(n - 1, 0)))
    if k == 0:
        return Neighbours(np.zeros((n, 0), np.int64), np.zeros((n, 0), np.float32), True)
    faiss = _faiss()
    if exact is None:
        exact = n <= EXACT_UP_TO or faiss is None
    if exact or faiss is None:
        indices, sims = _exact_search(unit, k, block, progress, stop)
        exact = True
    else:
        indices, sims = _ivf_search(faiss, unit, k, block * 2, progress, stop)
    distances = _distances(sims)
    distances[indices < 0] = np.inf
    return Neighbours(indices.astype(np.int64), distances, exact)


def _faiss():
    try:
        import faiss
    except ImportError:  # optional: the numpy search answers the same, only slower on large sets
        return None
    return faiss


def _exact_search(unit, k, block, progress, stop):
    """Blocked exact search: ``block`` rows against all rows at a time, top k by argpartition."""
    n = len(unit)
    indices = np.empty((n, k), np.int64)
    sims = np.empty((n, k), np.float32)
    for start in range(0, n, block):
        step(start, n, progress, stop)
        rows = slice(start, min(start + block, n))
        s = unit[rows] @ unit.T
        s[np.arange(s.shape[0]), np.arange(rows.start, rows.stop)] = -np.inf  # not one's own neighbour
        top = np.argpartition(-s, k - 1, axis=1)[:, :k] if k < n else np.argsort(-s, axis=1)[:, :k]
        top_s = np.take_along_axis(s, top, axis=1)
        order = np.argsort(-top_s, axis=1, kind="stable")
        indices[rows] = np.take_along_axis(top, order, axis=1)
        sims[rows] = np.take_along_axis(top_s, order, axis=1)
    step(n, n, progress, None)
    return indices, sims


def _ivf_search(faiss, unit, k, block, progress, stop):
    """faiss inverted-file search on the first :data:`SEARCH_DIMS` principal axes, its candidates
    re-ranked by their exact cosine distance in full dimension.

    The projection shortens every distance (an orthogonal projection never lengthens one), so a pair
    close in full dimension is close on the axes and found; the coarse cells (sqrt(N) of them, k-means on
    a sample) and ``NPROBE`` cells searched per query cut the comparisons from N^2 to about
    N^2 x NPROBE / sqrt(N). Asks 2k + 1 candidates and keeps the k best after re-ranking.
    """
    n = len(unit)
    z = _principal_axes(unit, SEARCH_DIMS)
    cells = int(np.clip(np.sqrt(n), 16, 4096))
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(z.shape[1]), z.shape[1], cells, faiss.METRIC_L2)
    index.cp.niter = 10
    index.cp.max_points_per_centroid = 40
    sample = np.random.default_rng(0).choice(n, min(n, 40 * cells), replace=False)
    index.train(z[np.sort(sample)])
    total = 2 * n
    for start in range(0, n, block):
        step(start, total, progress, stop)
        index.add(z[start : start + block])
    index.nprobe = NPROBE
    candidates = min(2 * k + 1, n)
    indices = np.empty((n, k), np.int64)
    sims = np.empty((n, k), np.float32)
    for start in range(0, n, block):
        step(n + start, total, progress, stop)
        rows = np.arange(start, min(start + block, n))
        _, found = index.search(z[rows], candidates)
        indices[rows], sims[rows] = _reranked(unit, rows, found, k)
    step(total, total, progress, None)
    return indices, sims


def _principal_axes(unit: np.ndarray, dims: int) -> np.ndarray:
    """The rows on their first ``dims`` principal axes (fitted on at most 20,000 of them)."""
    if unit.shape[1] <= dims:
        return np.ascontiguousarray(unit)
    sample = unit[:: max(1, len(unit) // 20_000)]
    centred = sample - sample.mean(axis=0)
    _, _, vt = np.linalg.svd(centred.T @ centred, hermitian=True)
    return np.ascontiguousarray(unit @ vt[:dims].T.astype(np.float32))


def _reranked(unit, rows, found, k):
    """Exact cosine similarities of each row's candidates; self and missing (-1) ones last; k best."""
    safe = np.where(found >= 0, found, 0)
    s = np.einsum("id,ikd->ik", unit[rows], unit[safe])
    s[(found < 0) | (found == rows[:, None])] = -np.inf
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    i, s = np.take_along_axis(found, order, axis=1), np.take_along_axis(s, order, axis=1)
    i[~np.isfinite(s)] = -1
    return i, s


def _drop_self(rows: np.ndarray, i: np.ndarray, s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove each row's own index from its k + 1 answers (the last one where it is absent: ties among
    identical samples may push it out)."""
    is_self = i == rows[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones_like(is_self)
    keep[np.arange(len(rows)), drop] = False
    return i[keep].reshape(len(rows), k), s[keep].reshape(len(rows), k)
