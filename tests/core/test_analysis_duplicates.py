"""Exact and near duplicates across splits, without flooding (core.analysis.duplicates, .neighbours)."""

import cv2
import numpy as np
import pytest
from sklearn.datasets import load_digits

from core.analysis.duplicates import (
    find_duplicates,
    hash_dataset,
    hash_images,
    near_duplicate_distance,
    pixel_hash,
)
from core.analysis.neighbours import nearest_neighbours
from core.analysis.progress import Cancelled
from core.datasets import open_dataset


def picture(rng: np.random.Generator) -> np.ndarray:
    """A 32 x 32 colour picture: smooth random shapes, unlike any other."""
    small = rng.integers(0, 256, (4, 4, 3)).astype(np.uint8)
    return cv2.resize(small, (32, 32), interpolation=cv2.INTER_CUBIC)


def embed(images: list[np.ndarray]) -> np.ndarray:
    """A real if simple embedding: 8 x 8 grey thumbnails, centred on the data's mean."""
    x = np.stack(
        [cv2.resize(cv2.cvtColor(i, cv2.COLOR_RGB2GRAY), (8, 8), interpolation=cv2.INTER_AREA) for i in images]
    )
    x = x.reshape(len(images), -1).astype(np.float32)
    return x - x.mean(axis=0)


@pytest.fixture(scope="module")
def planted():
    """60 distinct pictures in train (40), val (10), test (10), then the planted copies:
    - 60: train picture 2 again, in test (exact leak);
    - 61: train picture 5 with three pixels changed, in val (near leak);
    - 62, 63, 64: train picture 7 three more times, in train (a group of four, no leak);
    - 65: val picture 41 with one pixel changed, in val (near, no leak).
    """
    rng = np.random.default_rng(0)
    images = [picture(rng) for _ in range(60)]
    splits = ["train"] * 40 + ["val"] * 10 + ["test"] * 10
    changed = images[5].copy()
    changed[3, 4], changed[10, 20], changed[30, 1] = (0, 0, 0), (255, 255, 255), (9, 9, 9)
    one_off = images[41].copy()
    one_off[16, 16] = 255 - one_off[16, 16]
    images += [images[2].copy(), changed, images[7].copy(), images[7].copy(), images[7].copy(), one_off]
    splits += ["test", "val", "train", "train", "train", "val"]
    return images, np.array(splits)


def pairs_of(result) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in zip(result.a, result.b)}


def test_exact_duplicates_by_pixels_one_pair_per_copy(planted):
    images, splits = planted
    result = find_duplicates(hashes=hash_images(images), splits=splits)
    assert pairs_of(result) == {(2, 60), (7, 62), (7, 63), (7, 64)}  # the group of four: three pairs, not six
    assert result.exact.all() and (result.distance == 0).all()
    assert pairs_of(result.leaks()) == {(2, 60)}


def test_near_duplicates_under_the_calibrated_threshold(planted):
    images, splits = planted
    x = embed(images)
    neighbours = nearest_neighbours(x, k=5)
    threshold = near_duplicate_distance(neighbours)
    assert threshold == pytest.approx(0.13 * np.median(neighbours.distances[:, 0]))  # Datalab's default
    result = find_duplicates(hashes=hash_images(images), embeddings=x, neighbours=neighbours, splits=splits)
    assert pairs_of(result) == {(2, 60), (5, 61), (7, 62), (7, 63), (7, 64), (41, 65)}
    assert pairs_of(result.leaks()) == {(2, 60), (5, 61)}
    assert np.all(np.diff(result.distance[~result.exact]) >= 0) and result.exact[:4].all()
    near = ~result.exact
    assert pairs_of(result.subset(near)) == {(5, 61), (41, 65)}
    assert (result.distance[near] > 0).all() and (result.distance[near] < threshold).all()


def test_the_threshold_is_a_slider_over_one_search(planted):
    images, splits = planted
    x = embed(images)
    neighbours = nearest_neighbours(x, k=5)
    none = find_duplicates(embeddings=x, neighbours=neighbours, max_distance=0.0, splits=splits)
    assert pairs_of(none) == {(2, 60), (7, 62), (7, 63), (7, 64)}  # identical embeddings are at distance 0
    median = float(np.median(neighbours.distances[:, 0]))
    wide = find_duplicates(embeddings=x, neighbours=neighbours, max_distance=median, splits=splits)
    assert len(wide) > 10
    # still no flooding: each group gives one pair per member but its representative
    members = np.concatenate([wide.a, wide.b])
    assert len(wide) == len(np.unique(members)) - len(np.unique(wide.group))


def test_the_representative_is_from_the_earliest_split():
    x = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    splits = ["test", "val", "train", "train", "train"]
    result = find_duplicates(embeddings=x, neighbours=nearest_neighbours(x, k=2), max_distance=1e-6, splits=splits)
    assert pairs_of(result) == {(2, 0), (2, 1)} and result.leak.all()


def test_a_large_group_is_represented_by_its_medoid():
    """A group of 3,000 near copies (a burst of video frames): its pairs go to the member closest to the rest,
    not to the first one (a k x k matrix of cosines would be 72 MB here, a mean vector is not)."""
    rng = np.random.default_rng(3)
    centre = rng.normal(size=16)
    x = centre + 0.1 * rng.normal(size=(3000, 16))
    x[0] += 0.3  # the first member lies off centre
    middle = 1234
    x[middle] = centre
    hashes = [bytes([i % 256, i // 256]) for i in range(len(x))]
    pairs = find_duplicates(hashes=hashes, embeddings=x, neighbours=nearest_neighbours(x, k=5), max_distance=0.05)
    assert len(pairs) == len(x) - 1 and set(pairs.a.tolist()) == {middle}
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert middle == int(np.argmax((unit @ unit.T).mean(axis=1)))  # the medoid as the k x k matrix says


def test_hash_dataset_reads_the_decoded_pixels(tmp_path, planted):
    images, _ = planted
    for split, names in (("train", [0, 1, 2]), ("test", [2, 3])):
        for n, i in enumerate(names):
            folder = tmp_path / split / "pictures"
            folder.mkdir(parents=True, exist_ok=True)
            ext = ".png" if n % 2 == 0 else ".bmp"  # the same pixels in another lossless format match too
            cv2.imwrite(str(folder / f"{split}{n}{ext}"), images[i][:, :, ::-1])
    train, test = open_dataset(tmp_path, split="train"), open_dataset(tmp_path, split="test")
    hashes = hash_dataset(train) + hash_dataset(test)
    splits = ["train"] * len(train) + ["test"] * len(test)
    result = find_duplicates(hashes=hashes, splits=splits)
    assert len(result) == 1 and result.leak.all()
    a, b = train.sample_ids[result.a[0]], test.sample_ids[result.b[0] - len(train)]
    assert pixel_hash(train.load_image(result.a[0])) == pixel_hash(test.load_image(result.b[0] - len(train)))
    assert a != b


def test_unreadable_images_have_no_twin():
    assert hash_images([None, None, np.zeros((2, 2), np.uint8)])[:2] == [None, None]
    assert len(find_duplicates(hashes=[None, None])) == 0
    assert pixel_hash(np.zeros((2, 3), np.uint8)) != pixel_hash(np.zeros((3, 2), np.uint8))
    assert pixel_hash(np.zeros((2, 2), np.uint8)) != pixel_hash(np.zeros((2, 2), np.uint16))


def test_approximate_search_agrees_with_the_exact_one():
    x = load_digits().data.astype(np.float32)
    x -= x.mean(axis=0)
    exact = nearest_neighbours(x, k=10, exact=True, block=256)
    for i in range(50):  # brute force for a few rows, against the blocked search
        d = 1 - (x @ x[i]) / (np.linalg.norm(x, axis=1) * np.linalg.norm(x[i]))
        d[i] = np.inf
        assert np.allclose(np.sort(d)[:10], exact.distances[i], atol=1e-5)
    approximate = nearest_neighbours(x, k=10, exact=False)
    assert not approximate.exact and exact.exact
    recall = np.mean([len(np.intersect1d(a, e)) / 10 for a, e in zip(approximate.indices, exact.indices)])
    assert recall > 0.9
    assert (approximate.indices != np.arange(len(x))[:, None]).all()
    assert np.all(np.diff(approximate.distances, axis=1) >= 0)


def test_the_search_reports_progress_and_stops():
    x = np.random.default_rng(0).standard_normal((3000, 16))
    seen = []
    nearest_neighbours(x, k=3, exact=True, block=1000, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 3000), (1000, 3000), (2000, 3000), (3000, 3000)]
    with pytest.raises(Cancelled):
        nearest_neighbours(x, k=3, exact=False, stop=lambda: True)
