"""Under torchrun rank 0 lists the dataset for all ranks: the others open it from its packed listings
without listing the tree again, and see rank 0's samples even when files were added since. Every layout whose
reader looks into folders is checked: each folder is listed once in the whole job."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from core.datasets import open_dataset
from core.datasets.layouts import open_dataset_from, open_dataset_listed
from tests.fake_datasets import (
    write_celeba,
    write_cityscapes,
    write_coco,
    write_food101,
    write_imagenet,
    write_images,
    write_voc,
    write_voc_detection,
    write_yolo,
)


def tree(root, per_class: int = 30) -> None:
    for name in ("cat", "dog", "fox"):
        folder = root / "test" / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            (folder / f"{i:03d}.png").touch()


def test_a_rank_opening_from_rank_0s_listing_lists_nothing_and_sees_the_same_samples(tmp_path, monkeypatch):
    tree(tmp_path / "data")
    dataset, listed = open_dataset_listed(tmp_path / "data")
    assert dataset.sample_ids == open_dataset(tmp_path / "data").sample_ids and len(dataset) == 90
    assert len(listed) < 90 * 12  # compact: a few bytes a file name
    listed_folders = []
    real = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: listed_folders.append(str(path)) or real(path))
    (tmp_path / "data" / "test" / "cat" / "999.png").touch()  # added after rank 0 listed
    again = open_dataset_from(listed, tmp_path / "data")
    assert listed_folders == []
    assert again.sample_ids == dataset.sample_ids and again.classes == dataset.classes
    assert len(open_dataset(tmp_path / "data")) == 91  # a plain open lists afresh
    assert listed_folders  # and that is the open that listed


def test_folders_rank_0_did_not_list_are_listed_by_the_rank_that_needs_them(tmp_path):
    tree(tmp_path / "data")
    (tmp_path / "data" / "train" / "cat").mkdir(parents=True)
    (tmp_path / "data" / "train" / "cat" / "0.png").touch()
    _, listed = open_dataset_listed(tmp_path / "data", split="test")
    train = open_dataset_from(listed, tmp_path / "data", split="train")
    assert train.split == "train" and train.sample_ids == open_dataset(tmp_path / "data", split="train").sample_ids


def multilabel_csv(root):
    """The CSV layout with names written without their extension, in sub-folders (found by walking images/)."""
    from tests.core.test_datasets_multilabel_csv import write_listing

    write_listing(root, [("a/one", "cat"), ("a/two", "dog cat"), ("b/three", "")])
    return root


def cityscapes(root):
    write_cityscapes(root)
    return root


def yolo(root, roboflow=False):
    write_yolo(root / "yolo", roboflow=roboflow)
    (root / "yolo" / "images" / "val" / "nested").mkdir(parents=True, exist_ok=True)  # walked at every depth
    write_images(root / "yolo" / "images" / "val" / "nested", ["deep.png"])
    return root / "yolo"


def coco(root):
    write_coco(root / "coco")
    write_coco(root / "coco", split="train2017", seed=1)
    return root / "coco"


def image_folder(root):
    tree(root / "folder", per_class=5)
    return root / "folder"


def imagenet(root):
    write_imagenet(root / "imagenet", kaggle=True)
    return root / "imagenet"


#: Every layout whose reader looks into folders (the others read index files, which every rank reads).
LAYOUTS = {
    "image folder": image_folder,
    "ImageNet (Kaggle)": imagenet,
    "Cityscapes": cityscapes,
    "YOLO": yolo,
    "YOLO (Roboflow)": lambda root: yolo(root, roboflow=True),
    "COCO": coco,
    "VOC segmentation": lambda root: write_voc(root)[0],
    "VOC detection": lambda root: write_voc_detection(root)[0],
    "Multilabel CSV": multilabel_csv,
    "Food-101": write_food101,
    "CelebA": lambda root: write_celeba(root, wild=True) and root / "celeba",
}


def count_listings(monkeypatch) -> list[str]:
    """Every folder listed from now on (os.scandir, which glob, pathlib and os.walk use, and os.listdir)."""
    listed: list[str] = []
    for name in ("scandir", "listdir"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda path=".", real=real: listed.append(os.fspath(path)) or real(path))
    return listed


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_folder_of_a_layout_is_listed_once_in_the_whole_job(layout, tmp_path, monkeypatch):
    """Rank 0 lists each folder once; a rank opening from its broadcast listing lists none, on every split."""
    root = LAYOUTS[layout](tmp_path)
    splits = open_dataset(root).splits or [None]
    for split in splits:
        listed = count_listings(monkeypatch)
        dataset, packed = open_dataset_listed(root, split=split)
        assert listed and max(Counter(listed).values()) == 1, Counter(listed).most_common(3)
        assert dataset.layout == open_dataset(root).layout
        listed.clear()
        again = open_dataset_from(packed, root, split=split)
        assert listed == [], f"{layout} {split}: another rank listed {listed}"
        assert again.sample_ids == dataset.sample_ids and again.classes == dataset.classes
        monkeypatch.undo()


def test_a_reader_walking_nested_folders_follows_a_link_but_not_a_loop(tmp_path):
    root = yolo(tmp_path)
    (root / "images" / "val" / "nested" / "loop").symlink_to(root / "images" / "val", target_is_directory=True)
    ids = open_dataset(root, split="val").sample_ids
    assert ids == sorted(ids) and ids.count("images/val/nested/deep.png") == 1
    assert not any("loop" in i for i in ids)
