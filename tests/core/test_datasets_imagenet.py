"""ImageNet: synset folders (torchvision), Kaggle's CLS-LOC with a flat val/ and a solution csv."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, open_dataset
from tests.fake_datasets import write_imagenet, write_images


def test_synset_folders_without_mapping_use_synsets_as_names(tmp_path: Path) -> None:
    truth = write_imagenet(tmp_path)
    ds = open_dataset(tmp_path)
    assert ds.layout == "ImageNet" and (ds.splits, ds.split) == (["train", "val"], "val")
    assert ds.classes == ds.synsets == ["n01440764", "n01443537", "n02012849"]
    assert dict(zip(ds.sample_ids, (ds.synsets[t] for t in ds.targets))) == truth["val"]
    assert ds[0].image().shape == (6, 8, 3)


def test_kaggle_layout_flat_val_labelled_by_solution_csv(tmp_path: Path) -> None:
    truth = write_imagenet(tmp_path, kaggle=True)
    write_images(tmp_path / "ILSVRC" / "Data" / "CLS-LOC" / "val", ["ILSVRC2012_val_00000099.JPEG"])  # not in the csv
    ds = open_dataset(tmp_path)
    assert ds.classes == ["tench", "goldfish", "crane"]
    labelled = {sid: ds.synsets[t] for sid, t in zip(ds.sample_ids, ds.targets) if t >= 0}
    assert labelled == truth["val"]
    assert ds[len(ds) - 1].label is None  # the image the csv does not list: unlabeled, not dropped
    assert ds[0].path == tmp_path / "ILSVRC" / "Data" / "CLS-LOC" / ds.sample_ids[0]
    train = ds.with_split("train")
    assert dict(zip(train.sample_ids, (train.synsets[t] for t in train.targets))) == truth["train"]


def test_the_1000_synsets_get_torchvision_category_names(tmp_path: Path) -> None:
    pytest.importorskip("torchvision")
    from core.datasets.readers.torchvision_names import torchvision_literal

    rng = np.random.default_rng(0)
    wnids = sorted({f"n{v:08d}" for v in rng.choice(10**8, 1000, replace=False)})
    for wnid in wnids:
        (tmp_path / "val" / wnid).mkdir(parents=True)
    write_images(tmp_path / "val", [f"{wnids[0]}/a.JPEG", f"{wnids[-1]}/b.JPEG"])
    ds = open_dataset(tmp_path)
    categories = torchvision_literal("models._meta", "_IMAGENET_CATEGORIES")
    assert len(ds.classes) == 1000 and ds.classes[0] == "tench" and ds.classes[1] == categories[1]
    assert ds.targets.tolist() == [0, 999]
    assert ds.classes == categories


def test_repeated_names_in_the_mapping_are_told_apart(tmp_path: Path) -> None:
    write_imagenet(tmp_path, kaggle=True)
    (tmp_path / "LOC_synset_mapping.txt").write_text("n01440764 crane\nn01443537 goldfish\nn02012849 crane, bird\n")
    assert open_dataset(tmp_path).classes == ["crane (n01440764)", "goldfish", "crane (n02012849)"]


def test_matches_torchvision_image_folder_on_train(tmp_path: Path) -> None:
    tv_datasets = pytest.importorskip("torchvision.datasets")
    write_imagenet(tmp_path)
    theirs = tv_datasets.ImageFolder(str(tmp_path / "train"))
    ours = open_dataset(tmp_path, split="train")
    assert ours.synsets == theirs.classes
    assert [(str(ours[i].path), ours[i].label) for i in range(len(ours))] == theirs.samples


def test_bad_solution_rows_and_mapping_lines_are_named(tmp_path: Path) -> None:
    write_imagenet(tmp_path, kaggle=True)
    csv = tmp_path / "LOC_val_solution.csv"
    csv.write_text(csv.read_text() + "ILSVRC2012_val_00000007,\n")
    with pytest.raises(DatasetError, match=r"LOC_val_solution.csv:7: no synset"):
        open_dataset(tmp_path)
    csv.write_text("id,label\n")
    with pytest.raises(DatasetError, match="should start with the header 'ImageId,PredictionString'"):
        open_dataset(tmp_path)
    (tmp_path / "LOC_synset_mapping.txt").write_text("n01440764 tench\ntench goldfish\n")
    with pytest.raises(DatasetError, match=r"LOC_synset_mapping.txt:2: expected"):
        open_dataset(tmp_path, split="train")


def test_mapping_without_images_is_reported(tmp_path: Path) -> None:
    (tmp_path / "LOC_synset_mapping.txt").write_text("n01440764 tench\n")
    write_images(tmp_path / "other", ["a.png"])
    with pytest.raises(DatasetError, match=r"ImageNet: found LOC_synset_mapping.txt but no train/"):
        open_dataset(tmp_path)
