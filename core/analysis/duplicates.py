"""Exact and near duplicates, and the leaks among them (the same picture in two splits).

Exact: a hash of the decoded pixels (shape, dtype and bytes), so the same picture saved twice, under another name or
in another lossless format, matches; a re-encoded JPEG does not (that is a near duplicate).
Near: cosine distance of embeddings under ``max_distance``; the default is calibrated on the data as
cleanlab's Datalab does (``NearDuplicateIssueManager``: ``threshold x median distance to the nearest
neighbour``, threshold 0.13), and the GUI's slider moves ``fraction`` without searching again.

No flooding: duplicates are grouped (connected components of the "is a duplicate of" pairs) and a group of
k samples gives k - 1 pairs, each member against one representative: the member of the earliest split
(the order of ``split_order``; a training image is the natural original) closest to the others. A pair
is a leak when its two samples lie in different splits; a group with members in several splits gives a
leak pair for each member outside the representative's split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from core.analysis.neighbours import Neighbours, cosine_distances, unit_rows
from core.analysis.progress import ProgressFn, StopFn, step

#: Datalab's default: near duplicates lie within 0.13 x the median nearest-neighbour distance.
DEFAULT_FRACTION = 0.13


@dataclass(frozen=True)
class DuplicatePairs:
    """Duplicate pairs, closest first (exact ones first, at distance 0)."""

    a: np.ndarray  # int64 the group's representative
    b: np.ndarray  # int64 another member of the group
    distance: np.ndarray  # float32 cosine distance of their embeddings (0 for exact pairs without embeddings)
    exact: np.ndarray  # bool: same decoded pixels
    leak: np.ndarray  # bool: a and b lie in different splits
    group: np.ndarray  # int64 group number (0, 1, ... by first appearance in this order)

    def __len__(self) -> int:
        return len(self.a)

    def leaks(self) -> DuplicatePairs:
        """Only the pairs across splits."""
        return self.subset(self.leak)

    def subset(self, keep: np.ndarray) -> DuplicatePairs:
        return DuplicatePairs(*(field[keep] for field in self._fields()))

    def _fields(self):
        return self.a, self.b, self.distance, self.exact, self.leak, self.group


def pixel_hash(image: np.ndarray) -> bytes:
    """A 16-byte digest of an image's decoded pixels, its shape and dtype."""
    image = np.ascontiguousarray(image)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{image.shape}{image.dtype.str}".encode())
    digest.update(image.data)
    return digest.digest()


def hash_images(
    images: Iterable[np.ndarray | None],
    *,
    total: int | None = None,
    progress: ProgressFn | None = None,
    stop: StopFn | None = None,
) -> list[bytes | None]:
    """:func:`pixel_hash` of each image (None stays None: an image that could not be read has no twin)."""
    hashes: list[bytes | None] = []
    for i, image in enumerate(images):
        if i % 64 == 0:
            step(i, total or i + 1, progress, stop)
        hashes.append(None if image is None else pixel_hash(image))
    step(len(hashes), total or len(hashes), progress, None)
    return hashes


def hash_dataset(dataset, *, progress: ProgressFn | None = None, stop: StopFn | None = None) -> list[bytes | None]:
    """:func:`hash_images` over ``dataset.load_image(i)``; an unreadable sample hashes to None."""

    def images():
        for i in range(len(dataset)):
            try:
                yield dataset.load_image(i)
            except Exception:  # one unreadable file must not stop the whole pass; it just has no twin
                yield None

    return hash_images(images(), total=len(dataset), progress=progress, stop=stop)


def near_duplicate_distance(neighbours: Neighbours, fraction: float = DEFAULT_FRACTION) -> float:
    """The calibrated threshold: ``fraction`` x the median distance of a sample to its nearest neighbour."""
    return float(fraction) * max(neighbours.median_nearest(), 1e-6)


def find_duplicates(
    *,
    hashes: Sequence[bytes | None] | None = None,
    embeddings: np.ndarray | None = None,
    neighbours: Neighbours | None = None,
    max_distance: float | None = None,
    splits: Sequence[str] | np.ndarray | None = None,
    split_order: Sequence[str] = ("train", "training", "val", "valid", "validation", "test"),
) -> DuplicatePairs:
    """Exact duplicates (equal ``hashes``) and near ones (``neighbours`` closer than ``max_distance``,
    default :func:`near_duplicate_distance`), grouped, k - 1 pairs per group of k, closest first.

    ``embeddings`` give each pair's distance to its representative and pick the group's medoid; without
    them exact pairs are at distance 0. ``splits``: the split of each sample (for leaks).
    """
    n = _count(hashes, embeddings, neighbours, splits)
    edges = [_exact_edges(hashes)]
    if neighbours is not None:
        if max_distance is None:
            max_distance = near_duplicate_distance(neighbours)
        edges.append(_near_edges(neighbours, max_distance))
    a, b = np.concatenate([e[0] for e in edges]), np.concatenate([e[1] for e in edges])
    split_rank = _split_rank(splits, split_order, n)
    unit = None if embeddings is None else unit_rows(embeddings)
    return _pairs(_groups(a, b, n), hashes, unit, split_rank, splits)


def _count(hashes, embeddings, neighbours, splits) -> int:
    sizes = {len(x) for x in (hashes, embeddings, splits) if x is not None}
    if neighbours is not None:
        sizes.add(len(neighbours.indices))
    if len(sizes) > 1:
        raise ValueError(f"hashes, embeddings, neighbours and splits disagree on the number of samples: {sizes}")
    if not sizes:
        raise ValueError("give hashes, or embeddings with their neighbours")
    return sizes.pop()


def _exact_edges(hashes) -> tuple[np.ndarray, np.ndarray]:
    """Each sample with a hash seen before -> the first sample with that hash."""
    first: dict[bytes, int] = {}
    a, b = [], []
    for i, h in enumerate(hashes or ()):
        if h is None:
            continue
        j = first.setdefault(h, i)
        if j != i:
            a.append(j)
            b.append(i)
    return np.asarray(a, np.int64), np.asarray(b, np.int64)


def _near_edges(neighbours: Neighbours, max_distance: float) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.nonzero((neighbours.distances <= max_distance) & (neighbours.indices >= 0))
    return rows.astype(np.int64), neighbours.indices[rows, cols]


def _groups(a: np.ndarray, b: np.ndarray, n: int) -> list[np.ndarray]:
    """Connected components with more than one member, each sorted, in order of their first member."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(a) == 0:
        return []
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    involved = np.flatnonzero(np.bincount(np.concatenate([a, b]), minlength=n))  # np.unique, in O(n)
    order = np.argsort(label[involved], kind="stable")
    members = involved[order]
    cuts = np.flatnonzero(np.diff(label[members])) + 1
    groups = np.split(members, cuts)
    return sorted(groups, key=lambda g: g[0])


def _split_rank(splits, split_order, n) -> np.ndarray:
    """A rank per sample: the known splits in ``split_order``, others after them, alphabetically."""
    if splits is None:
        return np.zeros(n, np.int64)
    names = np.asarray(splits, dtype=object)
    known = {s: i for i, s in enumerate(split_order)}
    others = sorted(set(names.tolist()) - set(known), key=str)
    known.update({s: len(split_order) + i for i, s in enumerate(others)})
    return np.fromiter((known[s] for s in names), np.int64, n)


def _representative(group: np.ndarray, unit, split_rank) -> int:
    """The member of the earliest split; among those, the one closest on average to the whole group, then
    the earliest."""
    first = group[split_rank[group] == split_rank[group].min()]
    if unit is None or len(first) == 1:
        return int(first[0])
    # The mean cosine of u to the group is u · (the group's mean vector): O(k) for a group of k, not a k x k matrix.
    mean_cos = unit[first] @ unit[group].mean(axis=0)
    return int(first[np.argmax(np.round(mean_cos, 5))])  # ties (a pair, float noise): the earliest sample


def _pairs(groups, hashes, unit, split_rank, splits) -> DuplicatePairs:
    a, b, g = [], [], []
    for number, group in enumerate(groups):
        rep = _representative(group, unit, split_rank)
        others = group[group != rep]
        a.append(np.full(len(others), rep, np.int64))
        b.append(others)
        g.append(np.full(len(others), number, np.int64))
    if not groups:
        none = np.zeros(0, np.int64)
        return DuplicatePairs(none, none, np.zeros(0, np.float32), none.astype(bool), none.astype(bool), none)
    a, b, g = np.concatenate(a), np.concatenate(b), np.concatenate(g)
    exact = np.fromiter((_same_pixels(hashes, i, j) for i, j in zip(a, b)), bool, len(a))
    distance = np.zeros(len(a), np.float32) if unit is None else cosine_distances(unit, a, b)
    names = None if splits is None else np.asarray(splits, dtype=object)
    leak = np.zeros(len(a), bool) if names is None else (names[a] != names[b]).astype(bool)
    order = np.lexsort((b, a, distance, ~exact))
    return DuplicatePairs(a[order], b[order], distance[order], exact[order], leak[order], g[order])


def _same_pixels(hashes, i: int, j: int) -> bool:
    return hashes is not None and hashes[i] is not None and hashes[i] == hashes[j]
