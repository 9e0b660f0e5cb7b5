"""Per-image label quality of segmentation masks and the suspect-pixel overlay (core.analysis.pixel_issues)."""

import cv2
import numpy as np
import pytest

from core.analysis.pixel_issues import pixel_label_quality, segmentation_label_quality, suspect_pixels
from core.analysis.progress import Cancelled

H, W, K = 48, 64, 3


def scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A mask with a rectangle of class 1 and a disc of class 2 on background 0; returns (mask, disc)."""
    mask = np.zeros((H, W), np.uint8)
    x, y = rng.integers(2, W // 2 - 14), rng.integers(2, H - 16)
    mask[y : y + 14, x : x + 14] = 1
    disc = np.zeros((H, W), np.uint8)
    cv2.circle(disc, (int(rng.integers(W // 2 + 8, W - 9)), int(rng.integers(9, H - 9))), 7, 1, -1)
    mask[disc > 0] = 2
    mask[:, :1] = 255  # an ignored border, as VOC draws
    return mask, disc.astype(bool)


def model_probabilities(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What a good model says: the clean truth, blurred at the borders, with some noise, softmaxed."""
    truth = np.where(mask == 255, 0, mask)
    logits = np.stack([cv2.GaussianBlur((truth == k).astype(np.float32), (5, 5), 1.5) for k in range(K)]) * 6
    logits += rng.normal(0, 0.5, logits.shape).astype(np.float32)
    e = np.exp(logits - logits.max(axis=0))
    return e / e.sum(axis=0)


@pytest.fixture(scope="module")
def dataset():
    rng = np.random.default_rng(0)
    images, planted, discs = [], [3, 11, 17, 26], {}
    for i in range(30):
        mask, disc = scene(rng)
        probs = model_probabilities(mask, rng)
        if i in planted:  # the annotator called the disc a rectangle
            mask = mask.copy()
            mask[disc] = 1
            discs[i] = disc
        images.append((mask, probs))
    return images, planted, discs


def test_images_with_a_mislabeled_region_rank_first(dataset):
    images, planted, _ = dataset
    result = segmentation_label_quality(iter(images), total=len(images), size=32)
    assert sorted(result.indices[: len(planted)].tolist()) == planted
    assert result.score.shape == (30,) and np.all((result.score >= 0) & (result.score <= 1))
    assert result.score[planted].max() < np.delete(result.score, planted).min()
    assert result.size == 32


def test_suspect_pixels_cover_the_mislabeled_region(dataset):
    images, planted, discs = dataset
    result = segmentation_label_quality(images, size=32)
    for i in planted:
        mask, probs = images[i]
        suspect = suspect_pixels(mask, probs, result.thresholds)
        iou = (suspect & discs[i]).sum() / (suspect | discs[i]).sum()
        assert iou > 0.7, (i, iou)
    clean_mask, clean_probs = images[0]
    assert suspect_pixels(clean_mask, clean_probs, result.thresholds).mean() < 0.02


def test_ignored_pixels_take_no_part(dataset):
    images, _, _ = dataset
    mask, probs = images[0]
    quality = pixel_label_quality(mask, probs)
    assert np.isnan(quality[:, 0]).all() and not np.isnan(quality[:, 1:]).any()
    assert not suspect_pixels(mask, probs, np.full(K, 0.9))[:, 0].any()
    only_ignored = np.full((H, W), 255, np.uint8)
    result = segmentation_label_quality([(only_ignored, probs), images[1]])
    assert np.isnan(result.score[0]) and result.indices[-1] == 0


def test_progress_counts_images_and_stop_cancels(dataset):
    images, _, _ = dataset
    seen = []
    segmentation_label_quality(images[:3], total=3, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    with pytest.raises(Cancelled):
        segmentation_label_quality(images, stop=lambda: True)
