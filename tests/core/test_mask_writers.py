"""Masks saved in each dataset's own form read back equal, through our readers and torchvision's."""

from pathlib import Path

import numpy as np
import pytest

from core.datasets import open_dataset
from core.masks import MaskEditor
from core.masks.writers import MaskWriteError, WithSavedMasks, default_output_folder, save_mask
from tests.fake_datasets import write_cityscapes, write_voc


def painted(dataset, index):
    editor = MaskEditor(dataset.load_mask(index), num_classes=len(dataset.classes))
    editor.brush(2, 2, 9, 6, radius=2, value=15 % len(dataset.classes))
    editor.flood_fill(0, 9, 3)
    return editor.mask


def test_a_saved_voc_mask_is_read_back_by_torchvision_as_painted(tmp_path: Path):
    import torchvision.datasets as tv

    root, splits, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="train")
    mask = painted(dataset, 1)
    out = tmp_path / "out" / "VOCdevkit" / "VOC2012"
    written = save_mask(dataset, 1, mask, out)
    assert written == out / "SegmentationClass" / f"{splits['train'][1]}.png"
    # a full VOC tree whose masks are ours: images and lists linked from the original
    for part in ("JPEGImages", "ImageSets"):
        (out / part).symlink_to(root / part, target_is_directory=True)
    theirs = tv.VOCSegmentation(str(tmp_path / "out"), year="2012", image_set="train", download=False)
    np.testing.assert_array_equal(np.asarray(theirs[1][1]), mask)


def test_cityscapes_masks_are_written_as_label_ids_and_read_back_as_train_ids(tmp_path: Path):
    write_cityscapes(tmp_path / "cs")
    dataset = open_dataset(tmp_path / "cs", split="val")
    mask = painted(dataset, 0)
    written = save_mask(dataset, 0, mask, tmp_path / "out")
    assert written.name.endswith("_gtFine_labelIds.png") and "gtFine/val" in written.as_posix()
    again = WithSavedMasks(dataset, tmp_path / "out")
    np.testing.assert_array_equal(again.load_mask(0), mask)
    np.testing.assert_array_equal(again.load_mask(1), dataset.load_mask(1))  # unsaved: the original


def test_the_original_masks_are_not_overwritten_without_confirmation(tmp_path: Path):
    root, _, _ = write_voc(tmp_path)
    dataset = open_dataset(root, split="train")
    original = (root / "SegmentationClass" / f"{dataset.sample_ids[0]}.png").read_bytes()
    with pytest.raises(MaskWriteError, match="original"):
        save_mask(dataset, 0, painted(dataset, 0), root)
    assert (root / "SegmentationClass" / f"{dataset.sample_ids[0]}.png").read_bytes() == original
    save_mask(dataset, 0, painted(dataset, 0), root, overwrite_originals=True)
    np.testing.assert_array_equal(open_dataset(root, split="train").load_mask(0), painted(dataset, 0))
    assert default_output_folder(dataset).parent == root.parent


def test_values_that_are_no_class_and_unwritable_folders_are_clear_errors(tmp_path: Path):
    root, _, _ = write_voc(tmp_path / "d")
    dataset = open_dataset(root, split="train")
    with pytest.raises(MaskWriteError, match="not classes"):
        save_mask(dataset, 0, np.full((10, 12), 40, np.uint8), tmp_path / "o")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    with pytest.raises(MaskWriteError, match="cannot write"):
        save_mask(dataset, 0, dataset.load_mask(0), blocked)


@pytest.mark.parametrize("file_name", ["../../victim/owned.jpg", "../../../victim/owned.jpg"])
def test_a_mask_is_never_written_outside_the_output_folder(tmp_path: Path, file_name: str):
    import json

    from tests.fake_datasets import write_coco

    path = write_coco(tmp_path / "data" / "coco")
    data = json.loads(path.read_text())
    data["images"][0]["file_name"] = file_name
    path.write_text(json.dumps(data))
    victim = tmp_path / "victim" / "owned.png"
    victim.parent.mkdir()
    victim.write_bytes(b"the user's own file")
    dataset = open_dataset(tmp_path / "data" / "coco", task="segmentation")
    out = tmp_path / "data" / "out" / "masks-edited"
    with pytest.raises(MaskWriteError, match="outside the output folder"):
        save_mask(dataset, 0, np.zeros((12, 16), np.uint8), out)
    assert victim.read_bytes() == b"the user's own file"
    assert not list(tmp_path.rglob("owned.png"))[1:]  # nothing written anywhere else either
    assert save_mask(dataset, 1, np.zeros((12, 16), np.uint8), out).is_relative_to(out)


def test_a_link_inside_the_output_folder_is_not_followed_out_of_it(tmp_path: Path):
    root, _, _ = write_voc(tmp_path / "voc")
    dataset = open_dataset(root, split="val")
    out = tmp_path / "out"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (out / "SegmentationClass").parent.mkdir(parents=True, exist_ok=True)
    (out / "SegmentationClass").symlink_to(outside, target_is_directory=True)
    mask = np.zeros(dataset[0].mask().shape, np.uint8)
    with pytest.raises(MaskWriteError, match="outside the output folder"):
        save_mask(dataset, 0, mask, out)
    assert not any(outside.iterdir())


def test_a_file_in_the_output_folder_that_cv_lens_did_not_write_is_replaced_only_when_asked(tmp_path: Path):
    from core.labels import open_project
    from core.masks.writers import MaskExistsError, relative_mask_path

    root, _, _ = write_voc(tmp_path / "voc")
    dataset = open_dataset(root, split="val")
    project = open_project(dataset)
    out = tmp_path / "out"
    mask = np.zeros(dataset[0].mask().shape, np.uint8)
    target = out / relative_mask_path(dataset, 0)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"the user's own file")
    with pytest.raises(MaskExistsError, match="did not write; replace it"):
        save_mask(dataset, 0, mask, out, project=project)
    assert target.read_bytes() == b"the user's own file"
    save_mask(dataset, 0, mask, out, project=project, replace=True)  # the user said yes

    # What CV Lens wrote there (a saved version) is replaced by the next save without a question.
    project.save_mask(0, mask)
    mask2 = mask.copy()
    mask2[:3] = 1
    project.save_mask(0, mask2)
    assert save_mask(dataset, 0, mask2, out, project=project) == target
    project.store.close()
