"""Multilabel CSV layout: labels.csv + images/, with or without split folders; bad rows named by line."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.datasets import DatasetError, SampleError, open_dataset
from core.models.cards import RESOURCES

TAGS = ["cat", "dog", "person"]


def write_listing(folder: Path, rows: list[tuple[str, str]], header: str = "image,labels", seed: int = 0) -> dict:
    """``folder/labels.csv`` and ``folder/images/<name>`` (random 5 x 7 RGB PNGs); returns name -> pixels."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    pixels = {}
    for name, _ in rows:
        image = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
        path = folder / "images" / (name if Path(name).suffix else name + ".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), image[:, :, ::-1])
        pixels[name] = image
    lines = [header] + [f"{name},{tags}" for name, tags in rows]
    (folder / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return pixels


def test_split_folders_with_classes_txt(tmp_path):
    root = tmp_path / "tags"
    train = write_listing(root / "train", [("a.png", "cat dog"), ("b.png", ""), ("sub/c.png", "person")])
    test = write_listing(root / "test", [("d.png", "dog"), ("e.png", "person cat")], seed=1)
    (root / "classes.txt").write_text("\n".join(TAGS) + "\n")
    ds = open_dataset(root)
    assert ds.layout == "Multilabel CSV" and ds.task == "multilabel"
    assert (ds.splits, ds.split, ds.classes) == (["test", "train"], "test", TAGS)
    assert ds.sample_ids == ["d.png", "e.png"]
    np.testing.assert_array_equal(ds.tags, [[0, 1, 0], [1, 0, 1]])
    assert ds[1].labels == (0, 2) and ds[1].label is None
    np.testing.assert_array_equal(ds[0].image(), test["d.png"])
    tr = ds.with_split("train")
    assert tr.sample_ids == ["a.png", "b.png", "sub/c.png"]
    np.testing.assert_array_equal(tr.tags, [[1, 1, 0], [0, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(tr[2].image(), train["sub/c.png"])
    assert tr.class_counts().tolist() == [1, 1, 1]
    # Picking the folder that holds the dataset works too.
    assert open_dataset(tmp_path, split="train").sample_ids == tr.sample_ids


def test_single_split_form_without_classes_txt_sorts_the_tags(tmp_path):
    pixels = write_listing(tmp_path, [("x.png", "zebra ant"), ("y.png", "ant")], header="filename,tags,notes")
    ds = open_dataset(tmp_path)
    assert (ds.splits, ds.split, ds.classes) == ([], None, ["ant", "zebra"])
    np.testing.assert_array_equal(ds.tags, [[1, 1], [1, 0]])
    np.testing.assert_array_equal(ds[0].image(), pixels["x.png"])
    with pytest.raises(DatasetError, match="no split folders"):
        open_dataset(tmp_path, split="train")


def test_classes_without_classes_txt_are_the_same_in_every_split(tmp_path):
    write_listing(tmp_path / "train", [("a.png", "b c")])
    write_listing(tmp_path / "val", [("z.png", "a")])
    assert open_dataset(tmp_path, split="val").classes == ["a", "b", "c"]
    assert open_dataset(tmp_path, split="train").classes == ["a", "b", "c"]


def test_names_without_extension_are_matched_by_stem(tmp_path):
    """Kaggle's lists (Planet: ``image_name,tags`` with ``train_0``) give the stem only."""
    pixels = write_listing(tmp_path, [("train_0", "haze"), ("train_1", "clear primary")], header="image_name,tags")
    ds = open_dataset(tmp_path)
    assert ds.sample_ids == ["train_0.png", "train_1.png"]
    np.testing.assert_array_equal(ds[1].image(), pixels["train_1"])


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([("a.png", "cat bird")], "image,labels", r"labels.csv:2: tag 'bird' is not in classes.txt"),
        (
            [("a.png", "cat"), ("a.png", "dog")],
            "image,labels",
            r"labels.csv:3: a.png is listed again \(first on line 2\)",
        ),
        ([("a.png", "cat")], "picture,labels", r"labels.csv: line 1 needs a column named 'image'"),
        ([("a.png", "cat")], "image,classes", r"labels.csv: line 1 needs a column named 'labels'"),
    ],
)
def test_bad_listings_name_the_file_and_line(tmp_path, rows, header, message):
    write_listing(tmp_path, rows, header=header)
    (tmp_path / "classes.txt").write_text("\n".join(TAGS) + "\n")
    with pytest.raises(DatasetError, match=message):
        open_dataset(tmp_path)


def test_a_row_without_image_is_named(tmp_path):
    write_listing(tmp_path, [("a.png", "cat")])
    with open(tmp_path / "labels.csv", "a") as file:
        file.write(",dog\n")
    with pytest.raises(DatasetError, match=r"labels.csv:3: no image"):
        open_dataset(tmp_path)


def test_a_missing_or_broken_image_is_a_sample_error(tmp_path):
    write_listing(tmp_path, [("a.png", "cat"), ("b.png", "dog"), ("c.png", "")])
    (tmp_path / "images" / "a.png").unlink()
    (tmp_path / "images" / "b.png").write_bytes(b"not a png")
    ds = open_dataset(tmp_path)
    assert len(ds) == 3
    for index in (0, 1):
        with pytest.raises(SampleError, match=ds.sample_ids[index]):
            ds[index].image()
    assert ds[2].image().shape == (5, 7, 3)


def test_labels_csv_without_images_folder_is_explained(tmp_path):
    (tmp_path / "labels.csv").write_text("image,labels\na.png,cat\n")
    with pytest.raises(DatasetError, match=r"found labels.csv but no images/"):
        open_dataset(tmp_path)


def test_the_bundled_scene_tags_demo():
    root = RESOURCES / "demo" / "scene_tags"
    test = open_dataset(root)
    train = open_dataset(root, split="train")
    assert test.layout == "Multilabel CSV" and (test.split, test.splits) == ("test", ["test", "train"])
    assert test.classes == [str(d) for d in range(10)] == train.classes
    assert (len(train), len(test)) == (600, 200)
    # Every scene holds 1 to 4 digits, so 1 to 4 distinct tags; every tag occurs in both splits.
    for ds in (train, test):
        assert ds.tags.sum(axis=1).min() >= 1 and ds.tags.sum(axis=1).max() <= 4
        assert (ds.class_counts() > 20).all()
    assert test[0].image().shape == (64, 64, 3)
