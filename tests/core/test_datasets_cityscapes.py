"""Cityscapes: label ids mapped to the 19 train ids, everything else 255."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, SampleError, open_dataset
from tests.fake_datasets import png_bytes, write_cityscapes, write_images


def test_cityscapes_val_by_default_with_train_ids(tmp_path: Path) -> None:
    truth = write_cityscapes(tmp_path / "cityscapes")
    ds = open_dataset(tmp_path)
    assert ds.layout == "Cityscapes" and ds.task == "segmentation"
    assert (ds.splits, ds.split) == (["train", "val"], "val")
    assert len(ds.classes) == 19 and ds.classes[0] == "road" and ds.classes[18] == "bicycle"
    assert ds.palette.shape == (19, 3) and ds.palette[0].tolist() == [128, 64, 128]
    assert list(truth["val"]) == ds.sample_ids
    for sample in ds:
        label_ids = truth["val"][sample.id]
        mask = sample.mask()
        np.testing.assert_array_equal(mask[label_ids == 7], 0)  # road
        np.testing.assert_array_equal(mask[label_ids == 33], 18)  # bicycle
        np.testing.assert_array_equal(
            mask[np.isin(label_ids, [0, 1, 2, 3, 4, 5, 6, 9, 10, 14, 15, 16, 18, 29, 30])], 255
        )
        assert set(np.unique(mask)) <= set(range(19)) | {255}
        assert sample.image().shape == (8, 16, 3)
    assert len(ds.with_split("train")) == 4


def test_missing_or_mismatched_label_is_a_sample_error(tmp_path: Path) -> None:
    write_cityscapes(tmp_path)
    ds = open_dataset(tmp_path)
    ds.mask_path(0).unlink()
    with pytest.raises(SampleError, match=r"gtFine_labelIds.png: mask file is missing"):
        ds[0].mask()
    ds.mask_path(1).write_bytes(png_bytes(np.zeros((4, 4), np.uint8)))
    with pytest.raises(SampleError, match="mask is 4x4 but the image is 16x8"):
        ds[1].mask()


def test_images_without_gtfine_are_reported(tmp_path: Path) -> None:
    write_images(tmp_path / "leftImg8bit" / "val" / "x", ["x_000000_000019_leftImg8bit.png"])
    with pytest.raises(DatasetError, match="Cityscapes: found leftImg8bit/ but no gtFine/"):
        open_dataset(tmp_path)
