"""Pixel confusion matrices, IoU, Dice and the accumulator, against torchmetrics (a test-only dependency)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchmetrics.functional.classification import (
    multiclass_accuracy,
    multiclass_confusion_matrix,
    multiclass_jaccard_index,
)
from torchmetrics.functional.segmentation import dice_score, mean_iou

from core.metrics import SegmentationConfusion, dice, iou, pixel_confusion_matrix, segmentation_report

C, IGNORE = 5, 255


def _masks(seed: int, n: int = 4, shape=(24, 32), dtype=np.uint8) -> tuple[np.ndarray, np.ndarray]:
    """Truth with ignored pixels; predictions right about 60% of the time."""
    rng = np.random.default_rng(seed)
    target = rng.integers(0, C, (n, *shape)).astype(dtype)
    pred = np.where(rng.random(target.shape) < 0.6, target, rng.integers(0, C, target.shape)).astype(dtype)
    target[rng.random(target.shape) < 0.1] = IGNORE
    return target, pred


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.int64])
def test_pixel_confusion_matches_torchmetrics(seed: int, dtype) -> None:
    target, pred = _masks(seed, dtype=dtype)
    expected = multiclass_confusion_matrix(
        torch.as_tensor(pred.astype(np.int64)), torch.as_tensor(target.astype(np.int64)), C, ignore_index=IGNORE
    )
    cm = pixel_confusion_matrix(target, pred, C, ignore_index=IGNORE)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, expected.numpy())


def test_dataset_level_report_matches_torchmetrics() -> None:
    target, pred = _masks(7)
    report = segmentation_report(pixel_confusion_matrix(target, pred, C))
    t, p = torch.as_tensor(target.astype(np.int64)), torch.as_tensor(pred.astype(np.int64))
    jaccard = multiclass_jaccard_index(p, t, C, average="none", ignore_index=IGNORE).numpy()
    np.testing.assert_allclose(report["iou"], jaccard, rtol=1e-6)
    assert report["mean_iou"] == pytest.approx(multiclass_jaccard_index(p, t, C, ignore_index=IGNORE).item())
    accuracy = multiclass_accuracy(p, t, C, average="none", ignore_index=IGNORE).numpy()
    np.testing.assert_allclose(report["accuracy"], accuracy, rtol=1e-6)
    assert report["mean_accuracy"] == pytest.approx(
        multiclass_accuracy(p, t, C, average="macro", ignore_index=IGNORE).item()
    )
    assert report["pixel_accuracy"] == pytest.approx(
        multiclass_accuracy(p, t, C, average="micro", ignore_index=IGNORE).item()
    )
    weighted = multiclass_jaccard_index(p, t, C, average="weighted", ignore_index=IGNORE).item()
    assert report["fw_iou"] == pytest.approx(weighted, rel=1e-6)
    valid = target != IGNORE
    dice_global = dice_score(
        torch.as_tensor(pred[valid].astype(np.int64))[None],
        torch.as_tensor(target[valid].astype(np.int64))[None],
        C,
        average="none",
        input_format="index",
    )
    np.testing.assert_allclose(report["dice"], dice_global[0].numpy(), rtol=1e-6)


def test_per_image_iou_and_dice_match_torchmetrics() -> None:
    target, pred = _masks(11, n=3)
    target[target == IGNORE] = 0  # torchmetrics' segmentation metrics have no ignore index
    pred[0][pred[0] == 4] = 3  # image 0: class 4 in the truth, never predicted
    target[1][target[1] == 2] = 1  # image 1: class 2 only predicted
    target[2][target[2] == 3] = 0
    pred[2][pred[2] == 3] = 0  # image 2: class 3 absent from both
    acc = SegmentationConfusion(C, ignore_index=None)
    for t, p in zip(target, pred):
        acc.update(t, p)
    scores = acc.per_image_scores()
    tm_iou = mean_iou(
        torch.as_tensor(pred.astype(np.int64)),
        torch.as_tensor(target.astype(np.int64)),
        C,
        per_class=True,
        input_format="index",
    ).numpy()
    np.testing.assert_allclose(scores["iou"], np.where(tm_iou == -1, np.nan, tm_iou), rtol=1e-6)
    tm_dice = dice_score(
        torch.as_tensor(pred.astype(np.int64)),
        torch.as_tensor(target.astype(np.int64)),
        C,
        average="none",
        input_format="index",
    ).numpy()
    present = ~np.isnan(scores["dice"])
    np.testing.assert_allclose(scores["dice"][present], tm_dice[present], rtol=1e-6)
    assert np.isnan(scores["iou"][2, 3]) and scores["iou"][1, 2] == 0 and scores["iou"][0, 4] == 0


def test_absent_class_is_nan_and_left_out_of_the_means() -> None:
    cm = np.array([[3, 1, 0], [0, 4, 0], [0, 0, 0]])
    report = segmentation_report(cm)
    assert report["present"].tolist() == [True, True, False]
    assert np.isnan(report["iou"][2]) and np.isnan(report["dice"][2])
    assert report["iou"][:2].tolist() == [3 / 4, 4 / 5]
    assert report["dice"][:2].tolist() == [6 / 7, 8 / 9]
    assert report["mean_iou"] == pytest.approx((3 / 4 + 4 / 5) / 2)
    assert report["mean_accuracy"] == pytest.approx((3 / 4 + 1) / 2)
    assert report["pixel_accuracy"] == 7 / 8
    assert report["fw_iou"] == pytest.approx(4 / 8 * 3 / 4 + 4 / 8 * 4 / 5)
    predicted_only = segmentation_report(np.array([[2, 1], [0, 0]]))
    assert predicted_only["iou"][1] == 0 and np.isnan(predicted_only["accuracy"][1])
    assert predicted_only["mean_iou"] == pytest.approx(2 / 3 / 2)
    empty = segmentation_report(np.zeros((2, 2), int))
    assert np.isnan(empty["mean_iou"]) and np.isnan(empty["pixel_accuracy"]) and np.isnan(empty["fw_iou"])


def test_iou_and_dice_follow_the_lecture_set_formulas() -> None:
    a = np.zeros((8, 8), np.uint8)
    b = np.zeros((8, 8), np.uint8)
    a[:4, :4] = 1  # |A| = 16
    b[2:6, 2:6] = 1  # |B| = 16, |A n B| = 4
    cm = pixel_confusion_matrix(a, b, 2, ignore_index=None)
    assert iou(cm)[1] == 4 / (16 + 16 - 4)
    assert dice(cm)[1] == 2 * 4 / (16 + 16)


def test_out_of_range_labels_are_errors() -> None:
    with pytest.raises(ValueError, match="target holds label 7"):
        pixel_confusion_matrix(np.array([[7]], np.uint8), np.array([[0]], np.uint8), 3)
    with pytest.raises(ValueError, match="prediction holds label 255"):
        pixel_confusion_matrix(np.array([[1]], np.uint8), np.array([[255]], np.uint8), 3)
    with pytest.raises(ValueError, match="prediction holds label -1"):
        pixel_confusion_matrix(np.array([[1]]), np.array([[-1]]), 3)
    with pytest.raises(ValueError, match="shape"):
        pixel_confusion_matrix(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8), 3)
    # an ignored pixel may carry any prediction
    assert pixel_confusion_matrix(np.array([255, 1], np.uint8), np.array([255, 1], np.uint8), 3).sum() == 1


def test_accumulator_sums_subsets_and_maps_cells_to_images() -> None:
    target, pred = _masks(5, n=6)
    acc = SegmentationConfusion(C, ignore_index=IGNORE)
    per_image = [acc.update(t, p) for t, p in zip(target, pred)]
    assert len(acc) == 6
    np.testing.assert_array_equal(acc.compute(), pixel_confusion_matrix(target, pred, C))
    np.testing.assert_array_equal(acc.compute([1, 4]), per_image[1] + per_image[4])
    np.testing.assert_array_equal(acc.per_image([2]), per_image[2][None])
    pred[3][target[3] == 1] = 2
    pred[:3][target[:3] == 1] = 1
    pred[4:][target[4:] == 1] = 1
    acc.reset()
    per_image = [acc.update(t, p) for t, p in zip(target, pred)]
    np.testing.assert_array_equal(acc.images_in_cell(1, 2), [3])
    np.testing.assert_array_equal(acc.images_in_cell(0, 0), range(6))
    assert acc.report([0, 3])["iou"].tolist() == segmentation_report(per_image[0] + per_image[3])["iou"].tolist()
    assert acc.compute([]).sum() == 0 and acc.per_image_scores([]).get("iou").shape == (0, C)
