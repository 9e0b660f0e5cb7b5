"""Oxford Flowers-102 (.mat label files) and Food-101 (meta/ json or txt lists)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, SampleError, open_dataset
from tests.fake_datasets import FOOD_CLASSES, write_flowers102, write_food101


def test_flowers_splits_labels_and_files(tmp_path: Path) -> None:
    root, labels, splits = write_flowers102(tmp_path)
    ds = open_dataset(tmp_path)  # torchvision's root, holding flowers-102/
    assert ds.layout == "Flowers-102" and (ds.splits, ds.split) == (["train", "val", "test"], "test")
    assert len(ds.classes) == 102 and ds.classes[0] == "pink primrose"
    ids = splits["tstid"]
    assert ds.sample_ids == [f"image_{i:05d}.jpg" for i in ids]
    assert ds.targets.tolist() == [labels[i - 1] - 1 for i in ids]
    assert ds[0].path == root / "jpg" / f"image_{ids[0]:05d}.jpg"
    assert ds[0].image().shape == (6, 8, 3)
    assert len(open_dataset(root, split="train")) == len(splits["trnid"])


def test_flowers_missing_image_is_a_sample_error(tmp_path: Path) -> None:
    root, _, splits = write_flowers102(tmp_path)
    (root / "jpg" / f"image_{splits['tstid'][0]:05d}.jpg").unlink()
    ds = open_dataset(root)
    with pytest.raises(SampleError, match=f"image_{splits['tstid'][0]:05d}.jpg"):
        ds[0].image()


def test_flowers_bad_mat_files(tmp_path: Path) -> None:
    from scipy.io import savemat

    root, _, _ = write_flowers102(tmp_path)
    savemat(root / "setid.mat", {"trnid": np.array([[1, 2]]), "valid": np.array([[3]]), "tstid": np.array([[4, 99]])})
    with pytest.raises(DatasetError, match=r"setid.mat 'tstid' names image 99"):
        open_dataset(root)
    savemat(root / "setid.mat", {"trnid": np.array([[1]])})
    with pytest.raises(DatasetError, match=r"setid.mat has no key 'tstid'"):
        open_dataset(root)
    (root / "imagelabels.mat").write_bytes(b"not a mat file")
    with pytest.raises(DatasetError, match=r"cannot read .*imagelabels.mat"):
        open_dataset(root)


def test_flowers_probe_says_what_is_missing(tmp_path: Path) -> None:
    root, _, _ = write_flowers102(tmp_path)
    (root / "setid.mat").unlink()
    with pytest.raises(DatasetError, match=r"Flowers-102: found jpg, imagelabels.mat but no setid.mat"):
        open_dataset(root)


@pytest.mark.parametrize("txt", [False, True])
def test_food101_from_json_or_txt(tmp_path: Path, txt: bool) -> None:
    root = write_food101(tmp_path, txt=txt)
    ds = open_dataset(tmp_path)
    assert ds.layout == "Food-101" and (ds.splits, ds.split) == (["train", "test"], "test")
    assert ds.classes == FOOD_CLASSES and ds.class_labels[0] == "Apple pie"
    assert ds.sample_ids == [
        "apple_pie/1001.jpg",
        "apple_pie/1002.jpg",
        "baby_back_ribs/1101.jpg",
        "waffles/1202.jpg",
        "waffles/1203.jpg",
    ]
    assert ds.targets.tolist() == [0, 0, 1, 2, 2]
    assert ds[2].path == root / "images" / "baby_back_ribs" / "1101.jpg" and ds[2].image().shape == (6, 8, 3)
    assert len(ds.with_split("train")) == 4


def test_food101_unknown_class_and_broken_json(tmp_path: Path) -> None:
    root = write_food101(tmp_path)
    (root / "meta" / "test.json").write_text(json.dumps({"pizza": ["pizza/1"]}))
    with pytest.raises(DatasetError, match=r"test.json names class 'pizza'"):
        open_dataset(root)
    (root / "meta" / "test.json").write_text('{"waffles": [\n"waffles/1",\n}')
    with pytest.raises(DatasetError, match=r"test.json is not valid JSON \(line 3"):
        open_dataset(root)


def test_food101_malformed_txt_line_is_named(tmp_path: Path) -> None:
    root = write_food101(tmp_path, txt=True)
    (root / "meta" / "test.txt").write_text("apple_pie/1001\njust-a-name\n")
    with pytest.raises(DatasetError, match=r"test.txt:2: expected 'class/id'"):
        open_dataset(root)
