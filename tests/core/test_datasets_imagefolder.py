"""Plain image folders: classes from sub-folders, split folders, unlabeled folders."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, open_dataset
from tests.fake_datasets import write_images


def test_class_folders_are_numbered_in_sorted_order(tmp_path: Path) -> None:
    written = write_images(tmp_path, ["dog/b.png", "cat/a.png", "cat/c.jpg", "bird/x.png", "bird/y.png"])
    (tmp_path / "cat" / "readme.txt").write_text("not an image")
    (tmp_path / "cat" / ".hidden.png").write_bytes(b"")
    ds = open_dataset(tmp_path)
    assert ds.layout == "Image folder" and ds.task == "multiclass"
    assert ds.classes == ["bird", "cat", "dog"] and ds.splits == [] and ds.split is None
    assert ds.sample_ids == ["bird/x.png", "bird/y.png", "cat/a.png", "cat/c.jpg", "dog/b.png"]
    assert ds.targets.tolist() == [0, 0, 1, 1, 2]
    for sample in ds:
        np.testing.assert_array_equal(sample.image(), written[sample.id])
        assert sample.path == tmp_path / sample.id


def test_two_classes_make_a_binary_task(tmp_path: Path) -> None:
    write_images(tmp_path, ["no/a.png", "yes/b.png"])
    assert open_dataset(tmp_path).task == "binary"


def test_split_folders_share_one_class_list(tmp_path: Path) -> None:
    write_images(
        tmp_path, ["train/cat/a.png", "train/dog/b.png", "train/eel/e.png", "test/dog/c.png", "test/cat/d.png"]
    )
    ds = open_dataset(tmp_path)
    assert (ds.splits, ds.split) == (["test", "train"], "test")
    assert ds.classes == ["cat", "dog", "eel"]
    assert ds.sample_ids == ["test/cat/d.png", "test/dog/c.png"] and ds.targets.tolist() == [0, 1]
    train = ds.with_split("train")
    assert len(train) == 3 and train.targets.tolist() == [0, 1, 2]
    with pytest.raises(DatasetError, match="no split 'val'"):
        open_dataset(tmp_path, split="val")


def test_unlabeled_folder(tmp_path: Path) -> None:
    written = write_images(tmp_path, ["b.png", "a.jpg"])
    ds = open_dataset(tmp_path)
    assert ds.layout == "Unlabeled images" and len(ds) == 2
    assert ds[0].id == "a.jpg" and ds[0].label is None and ds[0].labels == ()
    np.testing.assert_array_equal(ds[1].image(), written["b.png"])
    assert ds.class_counts().tolist() == []


def test_matches_torchvision_image_folder(tmp_path: Path) -> None:
    tv_datasets = pytest.importorskip("torchvision.datasets")
    write_images(tmp_path, ["b/2.png", "b/1.png", "a/z.png", "c/k.png", "a/y.png"], size=(5, 7))
    theirs = tv_datasets.ImageFolder(str(tmp_path))
    ours = open_dataset(tmp_path)
    assert ours.classes == theirs.classes and len(ours) == len(theirs)
    for i, (path, label) in enumerate(theirs.samples):
        assert ours[i].path == Path(path) and ours[i].label == label
        np.testing.assert_array_equal(ours[i].image(), np.asarray(theirs[i][0]))


def test_a_broken_image_is_a_sample_error_not_an_open_error(tmp_path: Path) -> None:
    write_images(tmp_path, ["cat/a.png", "dog/b.png"])
    (tmp_path / "dog" / "b.png").write_bytes(b"garbage")
    ds = open_dataset(tmp_path)
    from core.datasets import SampleError

    with pytest.raises(SampleError, match=r"b.png"):
        ds[1].image()
    assert ds[0].image().shape == (6, 8, 3)


# -- one listing a folder per open (core.datasets.scan) -------------------------------------------------
@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """How many times each folder is listed with os.scandir (the real one, counted)."""
    counts: Counter = Counter()
    real = os.scandir

    def counting(path=".", *args):
        counts[os.path.normpath(os.fspath(path))] += 1
        return real(path, *args)

    monkeypatch.setattr(os, "scandir", counting)
    return counts


def _empty_files(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


@pytest.mark.parametrize(
    "files",
    [
        [f"{c}/{i}.png" for c in ("cat", "dog", "eel") for i in range(3)],  # root/<class>/*
        [f"{s}/{c}/{i}.jpg" for s in ("train", "test") for c in ("cat", "dog") for i in range(2)],  # with splits
        [f"{i}.png" for i in range(5)],  # flat
    ],
    ids=["classes", "splits", "flat"],
)
def test_each_folder_is_listed_once_per_open(tmp_path: Path, scans: Counter, files: list[str]) -> None:
    for file in files:
        _empty_files(tmp_path / Path(file).parent, [Path(file).name])
    ds = open_dataset(tmp_path)
    assert len(ds) == len([f for f in files if not f.startswith("train/")])
    assert scans and max(scans.values()) == 1, scans


def test_a_later_open_sees_files_added_meanwhile(tmp_path: Path, scans: Counter) -> None:
    _empty_files(tmp_path / "cat", ["a.png"])
    _empty_files(tmp_path / "dog", ["b.png"])
    assert len(open_dataset(tmp_path)) == 2
    _empty_files(tmp_path / "dog", ["c.png"])
    ds = open_dataset(tmp_path)
    assert ds.sample_ids == ["cat/a.png", "dog/b.png", "dog/c.png"]
    assert scans[os.path.normpath(tmp_path / "dog")] == 2  # once per open


def test_image_names_by_suffix_any_case_and_folders_named_like_images(tmp_path: Path) -> None:
    _empty_files(tmp_path / "cat", ["A.PNG", "b.Jpeg", "c.tar.jpg", "d.png.txt", "png", "e.", ".f.png", "g.JFIF"])
    _empty_files(tmp_path / "photos.jpg", ["h.webp"])  # a class folder whose name ends like an image
    ds = open_dataset(tmp_path)
    assert ds.classes == ["cat", "photos.jpg"]
    assert ds.sample_ids == ["cat/A.PNG", "cat/b.Jpeg", "cat/c.tar.jpg", "cat/g.JFIF", "photos.jpg/h.webp"]
