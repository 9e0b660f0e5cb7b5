"""CelebA: 40 attributes as a multilabel task, partition splits, identity/bbox/landmarks as meta."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, SampleError, open_dataset
from tests.fake_datasets import CELEBA_ATTRIBUTES, CELEBA_WILD_SIZE, write_celeba


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


# -- faces in the wild: localization ----------------------------------------------------------------
def test_faces_match_torchvision_celeba_bbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision's CelebA checks the md5 of the real list files, which a fixture cannot have: its integrity
    check is switched off, its parsing (the part compared) is its own."""
    from torchvision.datasets import CelebA

    truth = write_celeba(tmp_path, wild=True)
    monkeypatch.setattr(CelebA, "_check_integrity", lambda self: True)
    for split in ("train", "valid", "test"):
        theirs = CelebA(str(tmp_path), split=split, target_type=["bbox", "attr"])
        ours = open_dataset(tmp_path, split=split)
        assert (ours.task, ours.tasks, ours.classes) == ("localization", ("localization", "multilabel"), ["face"])
        assert ours.sample_ids == theirs.filename
        for i, sample in enumerate(ours):
            (x, y, w, h), attributes = (t.tolist() for t in theirs[i][1])
            boxes, classes = sample.boxes()
            np.testing.assert_array_equal(boxes, np.array([[x, y, x + w, y + h]], np.float32))
            assert classes.tolist() == [0] and sample.labels == (0,)
            assert sample.meta["attributes"] == [name for name, on in zip(theirs.attr_names, attributes) if on]
            assert sample.image().shape == (*CELEBA_WILD_SIZE, 3)  # the in-the-wild image, not the aligned crop
    assert len(truth["bbox"]) == 7


def test_the_aligned_images_stay_multilabel(tmp_path: Path) -> None:
    truth = write_celeba(tmp_path, wild=True)
    faces = open_dataset(tmp_path)
    aligned = faces.with_task("multilabel")
    assert (aligned.task, aligned.split, aligned.classes) == ("multilabel", "test", CELEBA_ATTRIBUTES)
    np.testing.assert_array_equal(aligned.tags, truth["attrs"][truth["partition"] == 2] == 1)
    assert aligned[0].boxes() is None and aligned[0].image().shape == (6, 8, 3)
    with pytest.raises(DatasetError, match="offers localization, multilabel, not detection"):
        open_dataset(tmp_path, task="detection")


def test_faces_without_the_aligned_set(tmp_path: Path) -> None:
    write_celeba(tmp_path, wild=True)
    root = tmp_path / "celeba"
    for name in ("list_attr_celeba.txt", "list_eval_partition.txt"):
        (root / name).unlink()
    ds = open_dataset(root)
    assert ds.tasks == ("localization",) and ds.splits == [] and len(ds) == 7 and "attributes" not in ds[0].meta
    with pytest.raises(DatasetError, match="offers localization, not multilabel"):
        ds.with_task("multilabel")


def test_aligned_images_without_boxes_offer_multilabel_only(tmp_path: Path) -> None:
    write_celeba(tmp_path)  # torchvision's download: no img_celeba/
    assert open_dataset(tmp_path).tasks == ("multilabel",)


def test_a_face_box_outside_its_image_is_clipped_and_a_negative_one_is_an_error(tmp_path: Path) -> None:
    write_celeba(tmp_path, wild=True)
    path = tmp_path / "celeba" / "list_bbox_celeba.txt"
    lines = path.read_text().splitlines()
    lines[2] = "000001.jpg   30   -5   40   20"  # the image is 50 x 40
    lines[3] = "000002.jpg   30    5   -4   20"
    path.write_text("\n".join(lines) + "\n")
    ds = open_dataset(tmp_path, split="train")  # 000001 and 000004 and 000007
    np.testing.assert_array_equal(ds[0].boxes()[0], [[30, 0, 50, 15]])
    assert ds[0].meta["boxes_clipped"] == 1
    with pytest.raises(SampleError, match=r"000002\.jpg: object 0 has a negative width or height"):
        open_dataset(tmp_path, split="valid")[0].boxes()
