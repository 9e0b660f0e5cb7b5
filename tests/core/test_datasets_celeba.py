"""CelebA: 40 attributes as a multilabel task, partition splits, identity/bbox/landmarks as meta."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, open_dataset
from tests.fake_datasets import CELEBA_ATTRIBUTES, write_celeba


def test_attributes_splits_and_meta(tmp_path: Path) -> None:
    truth = write_celeba(tmp_path)
    ds = open_dataset(tmp_path)  # torchvision's root, holding celeba/
    assert ds.layout == "CelebA" and ds.task == "multilabel"
    assert (ds.splits, ds.split) == (["train", "valid", "test"], "test")
    assert ds.classes == CELEBA_ATTRIBUTES
    rows = np.flatnonzero(truth["partition"] == 2)
    assert ds.sample_ids == [f"{i + 1:06d}.jpg" for i in rows]
    np.testing.assert_array_equal(ds.tags, truth["attrs"][rows] == 1)
    sample = ds[1]
    assert sample.labels == tuple(np.flatnonzero(truth["attrs"][rows[1]] == 1))
    assert sample.label is None and ds.targets is None
    meta = sample.meta
    assert meta["identity"] == truth["identity"][rows[1]]
    assert meta["bbox"] == dict(zip(["x_1", "y_1", "width", "height"], truth["bbox"][rows[1]].tolist()))
    assert meta["landmarks"]["nose_y"] == truth["landmarks"][rows[1]][5]
    assert sample.image().shape == (6, 8, 3)
    assert ds.class_counts().tolist() == (truth["attrs"][rows] == 1).sum(0).tolist()
    assert len(ds.with_split("train")) == int((truth["partition"] == 0).sum())


def test_kaggle_nested_image_folder_and_no_partition(tmp_path: Path) -> None:
    write_celeba(tmp_path)
    root = tmp_path / "celeba"
    (root / "img_align_celeba").rename(tmp_path / "inner")
    (root / "img_align_celeba").mkdir()
    (tmp_path / "inner").rename(root / "img_align_celeba" / "img_align_celeba")
    (root / "list_eval_partition.txt").unlink()
    ds = open_dataset(root)
    assert (ds.splits, ds.split, len(ds)) == ([], None, 7)
    assert ds[0].path == root / "img_align_celeba" / "img_align_celeba" / "000001.jpg"
    assert ds[0].image().shape == (6, 8, 3)


def test_malformed_rows_are_named_with_their_line(tmp_path: Path) -> None:
    write_celeba(tmp_path)
    path = tmp_path / "celeba" / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    lines[4] = lines[4].rsplit(" ", 1)[0] + " x"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"list_attr_celeba.txt:5: expected 40 integers"):
        open_dataset(tmp_path)
    lines[4] = lines[4].rsplit(" ", 1)[0] + " 0"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"000003.jpg has a value other than -1 or 1"):
        open_dataset(tmp_path)


def test_partition_missing_an_image_is_named(tmp_path: Path) -> None:
    write_celeba(tmp_path)
    path = tmp_path / "celeba" / "list_eval_partition.txt"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(DatasetError, match=r"list_eval_partition.txt has no row for 000007.jpg"):
        open_dataset(tmp_path)


def test_attribute_list_without_images_is_reported(tmp_path: Path) -> None:
    write_celeba(tmp_path)
    (tmp_path / "celeba" / "img_align_celeba").rename(tmp_path / "elsewhere")
    with pytest.raises(DatasetError, match=r"CelebA: found list_attr_celeba.txt but no img_align_celeba/"):
        open_dataset(tmp_path / "celeba")
