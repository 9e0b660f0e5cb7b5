"""Under torchrun rank 0 lists the dataset for all ranks: the others open it from its packed listings
without listing the tree again, and see rank 0's samples even when files were added since."""

from __future__ import annotations

import os

from core.datasets import open_dataset
from core.datasets.layouts import open_dataset_from, open_dataset_listed


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
