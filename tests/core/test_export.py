"""Exports read back with open_dataset equal the store's labels; they are atomic and say what changed."""

from __future__ import annotations

import csv
import errno
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.datasets import open_dataset
from core.labels import IGNORE, ExportError, open_project
from core.labels.export import export_labels, formats_for
from tests.core.test_labels_support import image_folder
from tests.fake_datasets import write_celeba, write_cifar10, write_food101, write_imagenet, write_mnist


def effective(project, split) -> dict[str, str]:
    """sample id -> class name (or sorted tag names) of the samples a folder export writes."""
    part = project.for_split(split)
    status = part.status()
    if part.tags() is not None:
        return {
            sid: part.codec.tags_stored(row)
            for sid, row, s in zip(part.dataset.sample_ids, part.tags(), status)
            if s != 3
        }
    return {
        sid: part.dataset.classes[t]
        for sid, t, s in zip(part.dataset.sample_ids, part.targets(), status)
        if t >= 0 and s != 3
    }


def read_back(result, split, exported) -> dict[str, object]:
    """The export's labels keyed by the original sample ids, matched through ``result.files``."""
    by_file = {relative: key for key, relative in result.files.items()}
    out = {}
    for i in range(len(exported)):
        exported_split, sample_id = by_file[exported.sample_path(i).relative_to(result.path).as_posix()]
        assert exported_split == (split or "")
        if exported.tags is not None:
            out[sample_id] = sorted(exported.classes[j] for j in np.flatnonzero(exported.tags[i]))
        else:
            out[sample_id] = exported.classes[exported.targets[i]]
    return out


def test_image_folder_export_reads_back_equal_and_summarizes_the_changes(tmp_path: Path) -> None:
    root = image_folder(tmp_path, splits=("train", "test"))
    project = open_project(open_dataset(root, split="test"))
    project.set_label([0, 1], "eel")
    project.set_label(3, IGNORE)
    project.set_label(4, "unlabeled")
    project.set_status(5, "excluded")
    project.for_split("train").set_label(8, "cat")
    result = export_labels(project, tmp_path / "out")
    for split in ("train", "test"):
        exported = open_dataset(tmp_path / "out", split=split)
        assert read_back(result, split, exported) == effective(project, split)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["samples_written"] == 18 - 3 and summary["samples_edited"] == 5
    assert summary["left_out"] == {"ignore": 1, "unlabeled": 1, "excluded": 1}
    assert summary["label_changes"] == {"cat → eel": 2, "dog → ignore": 1, "dog → unlabeled": 1, "eel → cat": 1}
    with open(tmp_path / "out" / "changes.csv", newline="") as handle:
        changes = list(csv.reader(handle))
    assert changes[0] == ["split", "sample_id", "field", "from", "to"] and len(changes) == 6
    assert ["test", "test/cat/cat_0.png", "label", "cat", "eel"] in changes
    assert ["train", "train/eel/eel_2.png", "label", "eel", "cat"] in changes
    with pytest.raises(ExportError, match="already exists"):
        export_labels(project, tmp_path / "out")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("link", ["hardlink", "symlink"])
def test_image_folder_export_can_link_the_images(tmp_path: Path, link: str) -> None:
    root = image_folder(tmp_path)
    project = open_project(open_dataset(root))
    project.set_label(0, "dog")
    result = export_labels(project, tmp_path / "out", link=link)
    exported = open_dataset(tmp_path / "out")
    assert read_back(result, None, exported) == effective(project, None)
    first = tmp_path / "out" / result.files[("", "cat/cat_0.png")]
    assert first.parent.name == "dog" and (first.is_symlink() if link == "symlink" else first.stat().st_nlink == 2)
    assert np.array_equal(exported[exported.sample_ids.index("dog/cat_0.png")].image(), project.dataset[0].image())


def test_two_files_of_the_same_name_in_one_class_are_both_kept(tmp_path: Path) -> None:
    root = image_folder(tmp_path)
    shutil.copyfile(root / "cat" / "cat_0.png", root / "dog" / "cat_0.png")
    project = open_project(open_dataset(root))
    index = project.dataset.sample_ids.index("dog/cat_0.png")
    project.set_label(0, "dog")
    result = export_labels(project, tmp_path / "out")
    assert {result.files[("", "cat/cat_0.png")], result.files[("", "dog/cat_0.png")]} == {
        "dog/cat_0.png",
        "dog/cat_0_2.png",
    }
    assert len(open_dataset(tmp_path / "out")) == len(project.dataset) and index >= 0


@pytest.mark.parametrize("writer", ["cifar", "mnist"])
def test_array_datasets_export_to_png_folders(tmp_path: Path, writer: str) -> None:
    if writer == "cifar":
        write_cifar10(tmp_path, per_batch=2, n_test=3)
        root = tmp_path / "cifar-10-batches-py"
    else:
        write_mnist(tmp_path / "mnist", n_train=4, n_test=3)
        root = tmp_path / "mnist"
    project = open_project(open_dataset(root))
    project.set_label(0, 3)
    project.for_split("train").set_label([0, 1], 7)
    result = export_labels(project, tmp_path / "out")
    for split in ("train", "test"):
        exported = open_dataset(tmp_path / "out", split=split)
        assert read_back(result, split, exported) == effective(project, split)
        source = project.for_split(split).dataset
        by_file = {relative: sample_id for (_, sample_id), relative in result.files.items()}
        for i in range(len(exported)):  # PNG: the pixels too
            original = by_file[exported.sample_path(i).relative_to(result.path).as_posix()]
            assert np.array_equal(exported[i].image(), source[source.sample_ids.index(original)].image())
    assert "csv" in formats_for(project) and "imagenet" not in formats_for(project)
    with pytest.raises(ExportError, match="JPEG images only"):
        export_labels(project, tmp_path / "food", "food101")
    assert not (tmp_path / "food").exists()


def test_celeba_export_writes_the_attribute_list(tmp_path: Path) -> None:
    write_celeba(tmp_path, n=9)
    project = open_project(open_dataset(tmp_path / "celeba", split="train"))
    project.toggle_tag([0, 1], "Bald")
    project.set_status(2, "excluded")
    project.for_split("test").set_tags(0, ["Attractive"])
    result = export_labels(project, tmp_path / "out", "celeba")
    for split in ("train", "valid", "test"):
        exported = open_dataset(tmp_path / "out", split=split)
        assert read_back(result, split, exported) == effective(project, split)
        assert exported.classes == project.dataset.classes
    assert open_dataset(tmp_path / "out", split="train")[0].meta["identity"] == project.dataset[0].meta["identity"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    edited = sum(int(project.for_split(s).edited().sum()) for s in ("train", "valid", "test"))
    assert summary["left_out"] == {"excluded": 1} and summary["samples_edited"] == edited >= 2
    with pytest.raises(ExportError, match="one class per sample"):
        export_labels(project, tmp_path / "folder", "image_folder")


def test_food101_export_writes_meta_lists(tmp_path: Path) -> None:
    root = write_food101(tmp_path)
    project = open_project(open_dataset(root))
    project.set_label(0, "waffles")
    project.for_split("train").set_label(0, "baby_back_ribs")
    result = export_labels(project, tmp_path / "out", "food101", link="hardlink")
    for split in ("train", "test"):
        exported = open_dataset(tmp_path / "out", split=split)
        assert exported.layout == "Food-101" and exported.classes == project.dataset.classes
        assert exported.class_labels == project.dataset.class_labels
        assert read_back(result, split, exported) == effective(project, split)


@pytest.mark.parametrize("kaggle", [False, True])
def test_imagenet_export_writes_synset_folders(tmp_path: Path, kaggle: bool) -> None:
    write_imagenet(tmp_path / "imagenet", kaggle=kaggle)
    project = open_project(open_dataset(tmp_path / "imagenet", split="val"))
    project.set_label([0, 1], project.dataset.classes[2])
    result = export_labels(project, tmp_path / "out", "imagenet")
    for split in ("train", "val"):
        exported = open_dataset(tmp_path / "out", split=split)
        assert exported.layout == "ImageNet" and exported.classes == project.dataset.classes
        assert read_back(result, split, exported) == effective(project, split)


def test_csv_export_lists_every_sample(tmp_path: Path) -> None:
    root = image_folder(tmp_path)
    project = open_project(open_dataset(root))
    project.set_label(0, "eel")
    project.set_label(1, IGNORE)
    project.set_label(2, "unlabeled")
    project.set_status(3, "flagged")
    project.set_note(4, 'says "dog", looks like a cat')
    export_labels(project, tmp_path / "out", "csv")
    with open(tmp_path / "out" / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["sample_id"] for r in rows] == project.dataset.sample_ids
    assert [r["label"] for r in rows[:5]] == ["eel", "<ignore>", "", "dog", "dog"]
    assert rows[3]["status"] == "flagged" and rows[4]["note"] == 'says "dog", looks like a cat'


def test_a_failed_export_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    project = open_project(open_dataset(image_folder(tmp_path)))
    calls = []

    def full_disk(source, dest):
        calls.append(dest)
        if len(calls) == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        Path(dest).write_bytes(Path(source).read_bytes())

    monkeypatch.setattr(shutil, "copyfile", full_disk)
    with pytest.raises(ExportError, match=r"No space left on device\. Nothing was left there"):
        export_labels(project, tmp_path / "exports" / "out")
    assert list((tmp_path / "exports").iterdir()) == []


def test_an_unreadable_image_is_listed_not_fatal(tmp_path: Path) -> None:
    root = image_folder(tmp_path)
    project = open_project(open_dataset(root))
    (root / "dog" / "dog_1.png").unlink()
    result = export_labels(project, tmp_path / "out")
    assert list(result.errors) == [("", "dog/dog_1.png")] and len(result.files) == 8
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["errors"][0]["sample_id"] == "dog/dog_1.png" and summary["samples_written"] == 8
