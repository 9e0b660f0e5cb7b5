"""The 2-D map of the embeddings: a PCA at once, then PaCMAP (or UMAP) in the background.

:func:`embedding_map` is a generator, like the inference jobs: it yields :class:`MapStep` s, first the PCA
layout (shown while the rest runs), then progress, then the final layout; stopping it between two yields
is cancelling. :func:`compute_map` drives it to the end (CLI, tests) with ``progress`` / ``stop``.
:func:`map_cache_key` names a map by its input and settings; the caller stores the layout under it.

Embeddings are scaled to unit length first, so that distances on the map follow the cosine distances the
duplicates and outliers use. PaCMAP (Wang, Huang, Rudin, Shaposhnikov, JMLR 2021) is run step by step
through the pacmap package's own functions (on our PCA to 100 dimensions, its neighbour / mid-near /
further pair sampling, then its 450 Adam iterations in three phases of weights) so that progress is real
and a stop lands within ten iterations; UMAP, when pacmap is missing, runs in one step. Measured on
60,000 x 512 (benchmarks/bench_analysis.py): PaCMAP is the faster of the two; see docs/analysis.md.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from core.analysis.neighbours import unit_rows
from core.analysis.progress import Cancelled, ProgressFn, StopFn, step

METHODS = ("pacmap", "umap", "pca")
#: PaCMAP's default schedule: iterations of its three phases (mid-near pairs fading, balanced, local).
PACMAP_ITERATIONS = (100, 100, 250)
ITERATIONS_PER_STEP = 10
#: The map is made from the embeddings' first principal axes, as PaCMAP's own preprocessing does.
MAP_DIMS = 100
#: The functions of pacmap (0.7 to 0.9) that the step-by-step run calls; without them it runs in one step.
_PACMAP_STEPS = ("PaCMAP", "preprocess_X", "find_weight", "pacmap_grad", "update_embedding_adam", "logger")


@dataclass(frozen=True)
class MapStep:
    """One report of a map in the making."""

    method: str  # "pca" for the first quick layout, then the method that makes the final one
    done: int  # steps done of ``total``
    total: int
    coords: np.ndarray | None = None  # (N, 2) float32 when a layout is ready: the PCA's, then the final one
    final: bool = False  # the last step: ``coords`` is the map


def available_methods() -> list[str]:
    """The map methods installed here, best first."""
    found = []
    for name in METHODS[:2]:
        try:
            __import__(name)
        except ImportError:
            continue
        found.append(name)
    return [*found, "pca"]


def pick_method(method: str = "auto") -> str:
    """``"auto"``: PaCMAP if installed (the faster on two cores), else UMAP, else the PCA alone."""
    if method == "auto":
        return available_methods()[0]
    if method not in METHODS:
        raise ValueError(f"unknown map method {method!r}; expected one of {METHODS} or 'auto'")
    if method not in available_methods():
        raise ValueError(f"{method} is not installed (pip install {'umap-learn' if method == 'umap' else method})")
    return method


def pca_2d(embeddings: np.ndarray) -> np.ndarray:
    """The first two principal components of the unit-length embeddings, as N x 2 float32."""
    return principal_components(embeddings, 2)


def principal_components(embeddings: np.ndarray, dims: int) -> np.ndarray:
    """The unit-length embeddings, centred, on their first ``dims`` principal axes (all axes when fewer).

    By the eigenvectors of the D x D covariance (D = 512: one matrix product and milliseconds) instead of
    an SVD of the N x D data; signs are fixed (largest loading positive) so that the same data always gives
    the same picture.
    """
    x = unit_rows(embeddings)
    if len(x) == 0:
        return np.zeros((0, dims), np.float32)
    x = x - x.mean(axis=0)
    _, vectors = np.linalg.eigh((x.T @ x).astype(np.float64))
    axes = vectors[:, ::-1][:, :dims]
    axes *= np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
    coords = (x @ axes.astype(np.float32)).astype(np.float32)
    return coords if coords.shape[1] >= dims else np.pad(coords, ((0, 0), (0, dims - coords.shape[1])))


def map_cache_key(embeddings: np.ndarray, method: str = "auto", seed: int = 0) -> str:
    """A name for the map of these embeddings made this way: a digest of their bytes, shape and dtype,
    the method, the seed and the installed version of the method's package."""
    x = np.ascontiguousarray(embeddings)
    method = pick_method(method)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{x.shape}{x.dtype.str}{method}{seed}{_version(method)}".encode())
    digest.update(x.data)
    return f"{method}-{digest.hexdigest()}"


def embedding_map(embeddings: np.ndarray, *, method: str = "auto", seed: int = 0) -> Iterator[MapStep]:
    """Yield the PCA layout at once, then progress, then the final map (see :class:`MapStep`)."""
    method = pick_method(method)
    # one eigendecomposition for both the first layout and the map's input (PaCMAP's own PCA to 100
    # dimensions, done again by pacmap with a randomized SVD, cost 11 s of 75 on 60,000 x 512)
    reduced = principal_components(embeddings, 2 if method == "pca" else MAP_DIMS)
    first = np.ascontiguousarray(reduced[:, :2])
    if method == "pca" or len(first) < 4:
        yield MapStep("pca", 1, 1, first, final=True)
        return
    if method == "pacmap":
        yield from _pacmap_steps(reduced, first, seed)
    else:
        yield from _umap_steps(reduced, first, seed)


def compute_map(
    embeddings: np.ndarray,
    *,
    method: str = "auto",
    seed: int = 0,
    progress: ProgressFn | None = None,
    stop: StopFn | None = None,
) -> tuple[np.ndarray, str]:
    """Drive :func:`embedding_map` to its end: (N x 2 coordinates, the method that made them)."""
    steps = embedding_map(embeddings, method=method, seed=seed)
    try:
        for s in steps:
            if s.final:
                return s.coords, s.method
            step(s.done, s.total, progress, stop)
    except Cancelled:
        steps.close()
        raise
    raise RuntimeError("the map ended without a layout")


def _pacmap_steps(x: np.ndarray, first: np.ndarray, seed: int) -> Iterator[MapStep]:
    """PaCMAP in steps: preprocessing and pair sampling, then its Adam iterations ten at a time."""
    from pacmap import pacmap as impl

    if not all(hasattr(impl, name) for name in _PACMAP_STEPS):  # another pacmap inside: run it whole
        yield MapStep("pca", 0, 1, first)
        coords = impl.PaCMAP(n_components=2, n_neighbors=10, num_iters=PACMAP_ITERATIONS).fit_transform(x)
        yield MapStep("pacmap", 1, 1, np.asarray(coords, np.float32), final=True)
        return
    iterations = sum(PACMAP_ITERATIONS)
    total = 2 + iterations // ITERATIONS_PER_STEP
    yield MapStep("pca", 0, total, first)
    n, dim = x.shape
    # apply_pca=False: ``x`` is on its principal axes already; pacmap only scales it and fits the 2-D PCA
    # that initialises the layout. (Its "high-dimensional data" warning is about inputs over 100-d.)
    with _quiet(impl.logger):
        reducer = impl.PaCMAP(n_components=2, n_neighbors=10, num_iters=PACMAP_ITERATIONS, apply_pca=False)
    reducer.random_state = seed  # only for its PCA; a global random state would pin faiss to one thread
    xp, pca_solution, tsvd, *_ = impl.preprocess_X(x.copy(), "euclidean", False, False, seed, dim, 2)
    reducer.decide_num_pairs(n)
    yield MapStep("pacmap", 1, total)
    reducer.sample_pairs(xp, False)
    yield MapStep("pacmap", 2, total)
    y = 0.01 * (xp[:, :2] if pca_solution else tsvd.transform(xp))
    y = np.ascontiguousarray(y, dtype=np.float32)
    m, v = np.zeros_like(y), np.zeros_like(y)
    for itr in range(iterations):
        w_mn, w_nb, w_fp = impl.find_weight(1000.0, itr, num_iters=PACMAP_ITERATIONS)
        grad = impl.pacmap_grad(y, reducer.pair_neighbors, reducer.pair_MN, reducer.pair_FP, w_nb, w_mn, w_fp)
        impl.update_embedding_adam(y, grad, m, v, 0.9, 0.999, reducer.lr, itr)
        if (itr + 1) % ITERATIONS_PER_STEP == 0 and itr + 1 < iterations:
            yield MapStep("pacmap", 2 + (itr + 1) // ITERATIONS_PER_STEP, total)
    yield MapStep("pacmap", total, total, y, final=True)


def _umap_steps(x: np.ndarray, first: np.ndarray, seed: int) -> Iterator[MapStep]:
    """UMAP in one step (it offers no progress between its epochs), initialised from nothing of ours."""
    import umap

    yield MapStep("pca", 0, 1, first)
    coords = umap.UMAP(n_components=2, n_neighbors=15, random_state=None, n_jobs=-1).fit_transform(x)
    yield MapStep("umap", 1, 1, np.asarray(coords, np.float32), final=True)


@contextmanager
def _quiet(logger: logging.Logger):
    """The logger's warnings silenced for a moment (pacmap warns of settings we chose on purpose)."""
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _version(method: str) -> str:
    if method == "pca":
        return "1"
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("umap-learn" if method == "umap" else method)
    except PackageNotFoundError:
        return "?"
