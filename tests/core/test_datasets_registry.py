"""Recognising layouts: what is looked for, and which folder the user may pick."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.datasets import DatasetError, find_layout, layouts, open_dataset
from tests.fake_datasets import write_cifar10, write_images, write_mnist


def test_folder_that_is_no_dataset_names_every_layout_and_what_it_missed(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.txt").write_text("hello")
    with pytest.raises(DatasetError) as info:
        open_dataset(tmp_path)
    message = str(info.value)
    assert "is not a dataset CV Lens knows" in message
    for layout in layouts():
        assert f"  - {layout.name}: " in message
    assert "CIFAR-10: no batches.meta" in message
    assert "Image folder: no class sub-folders with images" in message


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        open_dataset(tmp_path / "nope")


def test_picking_the_parent_of_an_image_folder(tmp_path: Path) -> None:
    write_images(tmp_path / "pets", ["cat/a.png", "dog/b.png"])
    layout, root = find_layout(tmp_path)
    assert (layout.name, root) == ("Image folder", tmp_path / "pets")
    assert open_dataset(tmp_path).classes == ["cat", "dog"]


def test_picking_a_file_inside_the_dataset(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    assert open_dataset(tmp_path / "cifar-10-batches-py" / "batches.meta").layout == "CIFAR-10"


def test_specific_layout_wins_over_generic_folder_of_the_parent(tmp_path: Path) -> None:
    # A folder holding MNIST next to a stray class-folder-looking directory is still MNIST.
    write_mnist(tmp_path / "MNIST" / "raw")
    write_images(tmp_path / "extras", ["a.png"])
    assert open_dataset(tmp_path).layout == "MNIST"


def test_partial_dataset_reason_says_what_was_found(tmp_path: Path) -> None:
    (tmp_path / "batches.meta").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"CIFAR-10: found batches.meta but no data_batch_1 or test_batch"):
        open_dataset(tmp_path)


def test_a_broken_dataset_is_not_read_as_plain_images(tmp_path: Path) -> None:
    # jpg/ alone would open as "Unlabeled images"; with imagelabels.mat beside it, it is a broken Flowers-102.
    write_images(tmp_path / "flowers-102" / "jpg", ["image_00001.jpg"])
    (tmp_path / "flowers-102" / "imagelabels.mat").write_bytes(b"")
    with pytest.raises(
        DatasetError, match=r"Flowers-102: in flowers-102/: found jpg, imagelabels.mat but no setid.mat"
    ):
        open_dataset(tmp_path)  # the folder above it, as torchvision's root
    with pytest.raises(DatasetError, match=r"Flowers-102: found jpg, imagelabels.mat but no setid.mat"):
        open_dataset(tmp_path / "flowers-102")


def test_every_layout_is_registered() -> None:
    names = {layout.name for layout in layouts()}
    assert names >= {
        "CIFAR-10",
        "CIFAR-100",
        "MNIST / Fashion-MNIST",
        "Flowers-102",
        "Food-101",
        "ImageNet",
        "CelebA",
        "Pascal VOC",
        "Cityscapes",
        "COCO",
        "Segmentation pairs",
        "Image folder",
        "Unlabeled images",
        "YOLO",
    }
