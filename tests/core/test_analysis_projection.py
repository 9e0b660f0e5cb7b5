"""The 2-D map: PCA at once, PaCMAP in steps, near points stay near (core.analysis.projection)."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from core.analysis.progress import Cancelled
from core.analysis.projection import compute_map, embedding_map, map_cache_key, pca_2d, pick_method


@pytest.fixture(scope="module")
def blobs():
    """1,200 points in 64 dimensions around 6 centres (non-negative, like a ReLU network's features)."""
    x, y = make_blobs(1200, n_features=64, centers=6, cluster_std=1.5, random_state=0)
    return (x - x.min()).astype(np.float32), y


def separable(coords: np.ndarray, y: np.ndarray) -> float:
    """How well the clusters can be told apart on the map: 5-NN accuracy, cross-validated."""
    return cross_val_score(KNeighborsClassifier(5), coords, y, cv=5).mean()


def test_pacmap_keeps_the_clusters_apart(blobs):
    x, y = blobs
    coords, method = compute_map(x, method="pacmap")
    assert method == "pacmap" and coords.shape == (1200, 2) and coords.dtype == np.float32
    assert np.isfinite(coords).all()
    assert separable(coords, y) > 0.98
    # neighbours on the map are neighbours in the embedding space: most of a point's 10 nearest on the
    # map share its cluster
    d = ((coords[:, None] - coords[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    near = np.argsort(d, axis=1)[:, :10]
    assert (y[near] == y[:, None]).mean() > 0.95


def test_the_pca_comes_first_then_progress_then_the_map(blobs):
    x, _ = blobs
    steps = list(embedding_map(x, method="pacmap"))
    first, last = steps[0], steps[-1]
    assert first.method == "pca" and not first.final and first.coords.shape == (1200, 2)
    # the same axes; the 2- and 100-column products may round the last float32 bit apart
    assert np.allclose(first.coords, pca_2d(x), atol=1e-6)
    assert last.final and last.method == "pacmap" and last.done == last.total
    assert all(s.coords is None for s in steps[1:-1]) and len(steps) > 20
    done = [s.done for s in steps]
    assert done == sorted(done)


def test_a_stop_cancels_between_steps(blobs):
    x, _ = blobs
    seen = []
    with pytest.raises(Cancelled):
        compute_map(x, method="pacmap", progress=lambda d, t: seen.append(d), stop=lambda: len(seen) >= 5)
    assert len(seen) == 5


def test_pca_matches_scikit_learn_up_to_sign(blobs):
    x, _ = blobs
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    ours, theirs = pca_2d(x), PCA(2).fit_transform(unit)
    for axis in range(2):
        assert abs(np.corrcoef(ours[:, axis], theirs[:, axis])[0, 1]) > 0.999
    assert np.array_equal(pca_2d(x), pca_2d(x.copy()))  # the same data, the same picture
    coords, method = compute_map(x, method="pca")
    assert method == "pca" and np.array_equal(coords, ours)


def test_the_cache_key_names_the_data_and_the_method(blobs):
    x, _ = blobs
    key = map_cache_key(x, "pacmap")
    assert key == map_cache_key(x.copy(), "pacmap") and key.startswith("pacmap-")
    changed = x.copy()
    changed[7, 3] += 1
    assert map_cache_key(changed, "pacmap") != key
    assert map_cache_key(x, "pca") != key
    assert map_cache_key(x, "pacmap", seed=1) != key
    assert pick_method("auto") == "pacmap"
    with pytest.raises(ValueError):
        pick_method("tsne")
