"""Our readers against torchvision's own, on the same fake files: same samples, labels, pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.datasets import open_dataset
from tests.fake_datasets import (
    write_celeba,
    write_cifar10,
    write_cifar100,
    write_cityscapes,
    write_flowers102,
    write_food101,
    write_mnist,
    write_voc,
)


@pytest.fixture
def tv(monkeypatch: pytest.MonkeyPatch):
    """torchvision.datasets (imported here, not at collection: it takes seconds), md5 checks off.

    The fake files cannot match the real md5 sums that torchvision checks.
    """
    tv_datasets = pytest.importorskip("torchvision.datasets")
    import torchvision.datasets.utils as tv_utils

    always = lambda *args, **kwargs: True  # noqa: E731
    for module in (tv_utils, tv_datasets.cifar, tv_datasets.flowers102, tv_datasets.celeba):
        monkeypatch.setattr(module, "check_integrity", always, raising=False)
    return tv_datasets


def _same(ours, theirs) -> None:
    assert len(ours) == len(theirs)
    for i in range(len(ours)):
        image, label = theirs[i]
        expected = np.asarray(image.convert("RGB"))
        sample = ours[i]
        assert sample.label == label, f"sample {i}"
        np.testing.assert_array_equal(sample.image(), expected, err_msg=f"sample {i}")


@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar10_matches_torchvision(tmp_path: Path, tv, split: str) -> None:
    write_cifar10(tmp_path)
    theirs = tv.CIFAR10(str(tmp_path), train=split == "train", download=False)
    ours = open_dataset(tmp_path, split=split)
    assert ours.classes == theirs.classes
    _same(ours, theirs)


def test_cifar100_matches_torchvision(tmp_path: Path, tv) -> None:
    write_cifar100(tmp_path)
    theirs = tv.CIFAR100(str(tmp_path), train=True, download=False)
    ours = open_dataset(tmp_path, split="train")
    assert ours.classes == theirs.classes
    _same(ours, theirs)


@pytest.mark.parametrize("folder, cls", [("MNIST", "MNIST"), ("FashionMNIST", "FashionMNIST")])
@pytest.mark.parametrize("split", ["train", "test"])
def test_mnist_matches_torchvision(tmp_path: Path, tv, folder: str, cls: str, split: str) -> None:
    write_mnist(tmp_path / folder / "raw", gz=False)
    theirs = getattr(tv, cls)(str(tmp_path), train=split == "train", download=False)
    ours = open_dataset(tmp_path, split=split)
    assert ours.classes == theirs.classes
    _same(ours, theirs)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_flowers102_matches_torchvision(tmp_path: Path, tv, split: str) -> None:
    write_flowers102(tmp_path)
    theirs = tv.Flowers102(str(tmp_path), split=split, download=False)
    ours = open_dataset(tmp_path, split=split)
    assert ours.classes == theirs.classes
    assert [p.name for p in theirs._image_files] == ours.sample_ids
    _same(ours, theirs)


@pytest.mark.parametrize("split", ["train", "test"])
def test_food101_matches_torchvision(tmp_path: Path, tv, split: str) -> None:
    write_food101(tmp_path)
    theirs = tv.Food101(str(tmp_path), split=split, download=False)
    ours = open_dataset(tmp_path, split=split)
    assert ours.classes == theirs.classes
    _same(ours, theirs)


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_celeba_matches_torchvision(tmp_path: Path, tv, split: str) -> None:
    write_celeba(tmp_path)
    theirs = tv.CelebA(str(tmp_path), split=split, target_type=["attr", "identity", "bbox", "landmarks"])
    ours = open_dataset(tmp_path, split=split)
    assert ours.classes == theirs.attr_names[: len(ours.classes)]
    assert ours.sample_ids == list(theirs.filename)
    for i, sample in enumerate(ours):
        image, (attr, identity, bbox, landmarks) = theirs[i]
        np.testing.assert_array_equal(ours.tags[i], attr.numpy())
        assert sample.meta["identity"] == int(identity)
        assert list(sample.meta["bbox"].values()) == bbox.tolist()
        assert list(sample.meta["landmarks"].values()) == landmarks.tolist()
        np.testing.assert_array_equal(sample.image(), np.asarray(image))


@pytest.mark.parametrize("split", ["train", "val"])
def test_voc_segmentation_matches_torchvision(tmp_path: Path, tv, split: str) -> None:
    write_voc(tmp_path)
    theirs = tv.VOCSegmentation(str(tmp_path), year="2012", image_set=split, download=False)
    ours = open_dataset(tmp_path, split=split)
    assert len(ours) == len(theirs)
    for i, sample in enumerate(ours):
        image, mask = theirs[i]
        np.testing.assert_array_equal(sample.mask(), np.asarray(mask))
        np.testing.assert_array_equal(sample.image(), np.asarray(image))


def test_cityscapes_matches_torchvision_through_the_train_id_table(tmp_path: Path, tv) -> None:
    write_cityscapes(tmp_path)
    theirs = tv.Cityscapes(str(tmp_path), split="val", mode="fine", target_type="semantic")
    ours = open_dataset(tmp_path)
    train_ids = {c.id: c.train_id for c in tv.Cityscapes.classes if c.id >= 0}
    assert ours.classes == [
        c.name for c in sorted(tv.Cityscapes.classes, key=lambda c: c.train_id) if 0 <= c.train_id < 255
    ]
    position = {path: i for i, path in enumerate(theirs.images)}  # torchvision lists in os.listdir order
    assert sorted(str(sample.path) for sample in ours) == sorted(position)
    for sample in ours:
        image, label_ids = theirs[position[str(sample.path)]]
        expected = np.vectorize(lambda v: train_ids[v] if 0 <= train_ids[v] < 255 else 255)(np.asarray(label_ids))
        np.testing.assert_array_equal(sample.mask(), expected)
        np.testing.assert_array_equal(sample.image(), np.asarray(image))
