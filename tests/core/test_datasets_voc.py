"""Pascal VOC segmentation: palette masks, void 255, splits from ImageSets, per-sample mask errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, SampleError, open_dataset
from core.datasets.readers.masks import bit_palette
from tests.fake_datasets import png_bytes, write_images, write_voc


def test_voc_splits_classes_palette_and_masks(tmp_path: Path) -> None:
    root, splits, masks = write_voc(tmp_path)
    ds = open_dataset(tmp_path)  # torchvision's root, holding VOCdevkit/
    assert ds.layout == "Pascal VOC" and ds.root == root and ds.task == "segmentation"
    assert (ds.splits, ds.split) == (["train", "trainval", "val"], "val")
    assert len(ds.classes) == 21 and ds.classes[0] == "background" and ds.classes[15] == "person"
    assert ds.palette.tolist()[:3] == [[0, 0, 0], [128, 0, 0], [0, 128, 0]]
    assert ds.palette.tolist()[15] == [192, 128, 128]  # person
    assert ds.sample_ids == splits["val"]
    for sample in ds:
        mask = sample.mask()
        assert mask.dtype == np.uint8
        np.testing.assert_array_equal(mask, masks[sample.id])
        assert (mask[0] == 255).all()
        assert sample.image().shape == (10, 12, 3)
    assert open_dataset(root / "..", split="train").sample_ids == splits["train"]  # VOCdevkit picked


def test_rgb_mask_is_mapped_through_the_voc_colours(tmp_path: Path) -> None:
    root, splits, masks = write_voc(tmp_path)
    image_id = splits["val"][0]
    colours = bit_palette(256)[masks[image_id]]
    colours[masks[image_id] == 255] = (224, 224, 192)
    (root / "SegmentationClass" / f"{image_id}.png").write_bytes(png_bytes(colours))
    np.testing.assert_array_equal(open_dataset(root)[0].mask(), masks[image_id])


def test_mask_problems_are_sample_errors(tmp_path: Path) -> None:
    root, splits, masks = write_voc(tmp_path)
    a, b = splits["val"]
    (root / "SegmentationClass" / f"{a}.png").write_bytes(png_bytes(np.zeros((5, 5), np.uint8)))
    bad = masks[b].copy()
    bad[3, 3] = 40
    (root / "SegmentationClass" / f"{b}.png").write_bytes(png_bytes(bad))
    ds = open_dataset(root)
    with pytest.raises(SampleError, match=rf"{a}.png: mask is 5x5 but the image is 12x10"):
        ds[0].mask()
    with pytest.raises(SampleError, match=rf"{b}.png: mask value 40 is not a class \(0..20\) or 255"):
        ds[1].mask()
    (root / "SegmentationClass" / f"{b}.png").unlink()
    with pytest.raises(SampleError, match=rf"{b}.png: mask file is missing"):
        ds[1].mask()
    colours = np.full((10, 12, 3), 7, np.uint8)
    (root / "SegmentationClass" / f"{b}.png").write_bytes(png_bytes(colours))
    with pytest.raises(SampleError, match=r"mask colour \(7, 7, 7\) is not in the palette"):
        ds[1].mask()
    assert ds[0].image().shape == (10, 12, 3)  # the image itself still reads


def test_annotations_without_lists_say_what_is_missing(tmp_path: Path) -> None:
    root = tmp_path / "VOCdevkit" / "VOC2007"
    write_images(root / "JPEGImages", ["000001.jpg"])
    (root / "Annotations").mkdir()
    with pytest.raises(DatasetError, match="Pascal VOC: found JPEGImages, Annotations but no ImageSets/Main"):
        open_dataset(root)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "cat_train.txt").write_text("000001  1\n")  # only per-class lists
    with pytest.raises(DatasetError, match=r"Pascal VOC: found .* but no ImageSets/Main/<split>\.txt"):
        open_dataset(root)


def test_malformed_split_file_names_the_line(tmp_path: Path) -> None:
    root, _, _ = write_voc(tmp_path)
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text("2012_000004\n2012_000005  1\n")
    with pytest.raises(DatasetError, match=r"val.txt:2: expected one image id"):
        open_dataset(root)
