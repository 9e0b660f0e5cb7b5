"""MNIST / Fashion-MNIST IDX files: torchvision's layout, flat folders, gzip, broken headers."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, open_dataset
from tests.fake_datasets import idx_bytes, write_mnist


def _check(ds, expected) -> None:
    images, labels = expected
    assert len(ds) == len(images)
    np.testing.assert_array_equal(ds.targets, labels)
    for i in range(len(ds)):
        image = ds[i].image()
        assert image.shape == (*images[i].shape, 3) and image.dtype == np.uint8
        np.testing.assert_array_equal(image[:, :, 1], images[i])


@pytest.mark.parametrize("gz", [False, True])
def test_torchvision_layout_picked_at_its_root(tmp_path: Path, gz: bool) -> None:
    expected = write_mnist(tmp_path / "MNIST" / "raw", gz=gz)
    ds = open_dataset(tmp_path)  # torchvision's root: holds MNIST/raw
    assert ds.layout == "MNIST" and ds.classes[0] == "0 - zero" and len(ds.classes) == 10
    assert (ds.splits, ds.split) == (["train", "test"], "test")
    _check(ds, expected["test"])
    _check(open_dataset(tmp_path / "MNIST", split="train"), expected["train"])


def test_fashion_mnist_flat_folder_has_fashion_class_names(tmp_path: Path) -> None:
    expected = write_mnist(tmp_path / "fashion-mnist", gz=True)
    ds = open_dataset(tmp_path / "fashion-mnist", split="train")
    assert ds.layout == "Fashion-MNIST"
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    _check(ds, expected["train"])
    assert ds[3].id == "train/00003"


def test_torchvision_fashion_layout(tmp_path: Path) -> None:
    write_mnist(tmp_path / "FashionMNIST" / "raw")
    assert open_dataset(tmp_path).layout == "Fashion-MNIST"


def test_uncompressed_file_preferred_when_both_exist(tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    expected = write_mnist(folder, gz=False)
    write_mnist(folder, gz=True, seed=1)  # different content in the .gz files
    _check(open_dataset(folder), expected["test"])


def test_bad_magic_names_the_file(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x01" + path.read_bytes()[4:])
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte: not an IDX file of 3 dimension\(s\)"):
        open_dataset(tmp_path)


def test_truncated_file_names_the_file_and_sizes(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=True)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-10]))
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte.gz: header says 3 x 28 x 28 values"):
        open_dataset(tmp_path)


def test_corrupt_gzip_is_a_dataset_error(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=True)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte.gz: cannot read"):
        open_dataset(tmp_path)


def test_image_and_label_counts_must_agree(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(2, np.uint8)))
    with pytest.raises(DatasetError, match="3 images but t10k-labels-idx1-ubyte 2 labels"):
        open_dataset(tmp_path)


def test_missing_labels_file_is_named(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte"):
        open_dataset(tmp_path)


def test_label_out_of_range_is_named(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.array([1, 12, 3], np.uint8)))
    with pytest.raises(DatasetError, match="label 12 at row 1"):
        open_dataset(tmp_path)
