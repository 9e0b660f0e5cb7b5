"""Which images of a segmentation run have a suspect mask (core.analysis.mask_issues): a region painted as the
wrong class and an object left as background are flagged, border disagreement is not; thresholds pooled from
two halves (two torchrun ranks) give what one pass over all gives; the report writes the per-image rows."""

from __future__ import annotations

import csv

import cv2
import numpy as np

from core.analysis.mask_issues import SIZE, MaskIssues, find_mask_issues, image_summary, pooled_thresholds
from core.analysis.mask_quality import RunMasks, run_label_quality
from core.analysis.pixel_issues import segmentation_label_quality
from core.analysis.report import HELD_OUT, IN_SAMPLE, AnalysisInput, write_reports
from core.analysis.session import analyze
from core.inference.mask_store import SegmentationPredictions, quantise

H, W, K = 48, 64, 4
CLASSES = ["background", "square", "disc", "bar"]


def scene(rng: np.random.Generator) -> np.ndarray:
    """A square of class 1 and a disc of class 2 on background 0."""
    mask = np.zeros((H, W), np.uint8)
    x, y = int(rng.integers(2, W // 2 - 14)), int(rng.integers(2, H - 16))
    mask[y : y + 14, x : x + 14] = 1
    cv2.circle(mask, (int(rng.integers(W // 2 + 8, W - 9)), int(rng.integers(9, H - 9))), 7, 2, -1)
    return mask


def model(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A good model's probabilities for the clean truth: blurred at the borders, some noise, softmaxed."""
    logits = np.stack([cv2.GaussianBlur((mask == k).astype(np.float32), (5, 5), 1.5) for k in range(K)]) * 6
    logits += rng.normal(0, 0.5, logits.shape).astype(np.float32)
    e = np.exp(logits - logits.max(axis=0))
    return e / e.sum(axis=0)


def dataset(n: int = 24, seed: int = 0):
    """(images, painted, missing): the disc painted as a bar in some masks, left as background in others."""
    rng = np.random.default_rng(seed)
    images, painted, missing = [], [2, 9, 17], [5, 20]
    for i in range(n):
        truth = scene(rng)
        mask = truth.copy()
        if i in painted:
            mask[truth == 2] = 3
        if i in missing:
            mask[truth == 2] = 0
        images.append((mask, model(truth, rng)))
    return images, painted, missing


def test_painted_and_missing_regions_are_flagged_and_named_border_noise_is_not():
    images, painted, missing = dataset()
    issues = find_mask_issues(lambda: iter(images), np.arange(len(images)))
    assert sorted(np.flatnonzero(issues.flagged).tolist()) == sorted(painted + missing)
    assert set(issues.ranked()[:5].tolist()) == set(painted + missing)
    assert (issues.given[painted] == 3).all() and (issues.suggested[painted] == 2).all()  # as the mask, the model
    assert (issues.given[missing] == 0).all() and (issues.suggested[missing] == 2).all()
    clean = np.setdiff1d(np.arange(len(images)), painted + missing)
    assert issues.suspect[clean].max() < issues.suspect[painted].min()
    assert np.all((issues.uncertainty >= 0) & (issues.uncertainty <= 1))


def test_thresholds_pooled_from_two_halves_are_those_of_one_pass():
    images, _, _ = dataset()
    whole = segmentation_label_quality(images)
    halves = [segmentation_label_quality(part) for part in (images[:10], images[10:])]
    pooled = pooled_thresholds([(h.thresholds, h.pixels) for h in halves] + [(np.zeros(0), np.zeros(0))])
    np.testing.assert_allclose(pooled, whole.thresholds, rtol=1e-6)
    seen = []

    def pool(thresholds, pixels):  # what a rank does: pools its own with the others'
        seen.append(pixels.sum())
        return whole.thresholds

    first = find_mask_issues(lambda: iter(images[:10]), np.arange(10), pool=pool)
    alone = [image_summary(m, p, whole.thresholds) for m, p in images[:10]]
    assert seen and first.flagged.tolist() == [s[3] for s in alone]


def test_the_report_lists_flagged_images_with_their_classes_and_says_the_source(tmp_path):
    images, painted, missing = dataset()
    n = len(images)
    issues = find_mask_issues(lambda: iter(images), np.arange(n))
    rng = np.random.default_rng(1)
    splits = np.array(["train"] * 12 + ["test"] * 12)
    inp = AnalysisInput(
        [f"{i:03d}.png" for i in range(n)], splits, CLASSES, rng.normal(size=(n, 8)).astype(np.float32), None,
        np.ones(n, bool), None, trained=splits == "train", mask_issues=issues,
    )  # fmt: skip
    report = analyze(inp, map_method="pca")
    assert report.issue_count == len(painted + missing) and IN_SAMPLE in report.source
    assert any("in-sample" in note for note in report.notes)
    assert report.outliers.ood is not None  # the mean pixel entropy takes part in the outlier score
    write_reports(tmp_path, inp, report)
    with open(tmp_path / "label_issues.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["sample_id", "split", "given", "suggested", "score", "suspect_share"]
    assert {row[0] for row in rows[1:]} == {f"{i:03d}.png" for i in painted + missing}
    assert [float(row[4]) for row in rows[1:]] == sorted(float(row[4]) for row in rows[1:])  # most suspect first
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id["002.png"][2:4] == ["bar", "disc"] and by_id["005.png"][2:4] == ["background", "disc"]
    held = AnalysisInput(inp.sample_ids, splits, CLASSES, inp.embeddings, None, inp.predicted, None,
                         mask_issues=issues)  # fmt: skip
    assert analyze(held, map_method="pca").source == HELD_OUT


def test_concat_keeps_each_parts_rows():
    images, _, _ = dataset(6)
    a = find_mask_issues(lambda: iter(images[:3]), np.array([0, 1, 2]))
    b = find_mask_issues(lambda: iter(images[3:]), np.array([7, 8, 9]))
    both = MaskIssues.concat([a, b])
    assert both.indices.tolist() == [0, 1, 2, 7, 8, 9] and both.score.tolist() == [*a.score, *b.score]


class Masks:
    """A dataset's side of RunMasks: its true masks (None for a sample whose mask is gone)."""

    def __init__(self, masks):
        self.masks = masks

    def load_mask(self, index):
        if self.masks[index] is None:
            raise OSError("gone")
        return self.masks[index]


def test_strided_pairs_read_the_probability_grid_at_every_sth_pixel(tmp_path):
    """A 300 x 500 image whose probabilities were kept on a 64 x 64 grid is read at 75 x 125 pixels (every 4th:
    the long side <= 128), each pixel from its grid cell as the hover reads it; never K x 300 x 500."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, K, (300, 500)).astype(np.uint8)
    probs = rng.integers(0, 256, (K, 64, 64)).astype(np.uint8)
    preds = SegmentationPredictions.empty(CLASSES, ["a", "b"], tmp_path)
    preds.record(0, truth, probs, None)
    lookup = np.arange(256, dtype=np.uint8)
    lookup[1] = 2  # a class map: dataset class 1 is the model's class 2
    (mask, p), (lost_mask, lost_p) = RunMasks(preds, Masks([truth, None]), size=SIZE, lookup=lookup).pairs([0, 1])
    assert mask.shape == (75, 125) and p.shape == (K, 75, 125)
    assert (mask == np.where(truth == 1, 2, truth)[::4, ::4]).all()
    pixels = preds.pixels(0, truth.shape)
    np.testing.assert_array_equal(p[:, 10, 20], pixels.at(40, 80))
    assert (lost_mask == 255).all() and lost_p.shape == (K, 1, 1)  # a mask gone since the run: no score


def test_the_strided_image_and_the_stored_grid_rank_a_run_alike(tmp_path):
    """Images 5x the size of their stored 48 x 64 probabilities (240 x 320): ``analyze`` reads every 3rd pixel
    of the image, the Label quality view the grid; the painted and missing masks rank first, in the same order,
    and the scores of the clean ones follow each other (their order among themselves is border noise)."""
    images, painted, missing = dataset()
    preds = SegmentationPredictions.empty(CLASSES, [f"{i}.png" for i in range(len(images))], tmp_path)
    masks = []
    for i, (mask, probs) in enumerate(images):
        masks.append(np.repeat(np.repeat(mask, 5, axis=0), 5, axis=1))
        preds.record(
            i, np.repeat(np.repeat(probs.argmax(0).astype(np.uint8), 5, axis=0), 5, axis=1), quantise(probs), None
        )
    run = Masks(masks)
    run.classes = CLASSES
    grid = run_label_quality(preds, run)
    indices = np.arange(len(images))
    strided = find_mask_issues(lambda: RunMasks(preds, run, size=SIZE).pairs(indices), indices)
    by_stride = np.argsort(strided.score, kind="stable")
    bad = len(painted + missing)
    assert by_stride[:bad].tolist() == grid.ranked[:bad].tolist() and set(by_stride[:bad]) == {*painted, *missing}
    assert np.corrcoef(strided.score, grid.score)[0, 1] > 0.95
