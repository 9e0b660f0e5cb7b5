"""Pascal VOC detection: Annotations/*.xml + ImageSets/Main, against torchvision's VOCDetection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, SampleError, open_dataset
from tests.fake_datasets import VOC_OBJECTS, voc_xml, write_voc_detection


def _torchvision_objects(parent: Path, split: str) -> dict[str, tuple[np.ndarray, np.ndarray, list, list]]:
    """id -> (boxes, classes, difficult, truncated) from torchvision's VOCDetection target (the raw XML as a
    dict of strings), through the reader's documented conversion x0 = xmin - 1, y0 = ymin - 1, x1 = xmax,
    y1 = ymax."""
    from torchvision.datasets import VOCDetection

    theirs = VOCDetection(str(parent), year="2012", image_set=split)
    out = {}
    for i in range(len(theirs)):
        annotation = theirs[i][1]["annotation"]
        objects = annotation.get("object", [])
        boxes = [[float(o["bndbox"][k]) for k in ("xmin", "ymin", "xmax", "ymax")] for o in objects]
        boxes = np.array(boxes, np.float32).reshape(-1, 4) - np.array([1, 1, 0, 0], np.float32)
        classes = np.array([VOC_OBJECTS.index(o["name"]) for o in objects], np.int64)
        flags = [[o[k] == "1" for o in objects] for k in ("difficult", "truncated")]
        out[Path(annotation["filename"]).stem] = (boxes, classes, *flags)
    return out


@pytest.mark.parametrize("split", ["train", "val"])
def test_detection_matches_torchvision_voc_detection(tmp_path: Path, split: str) -> None:
    root, splits, _ = write_voc_detection(tmp_path)
    ds = open_dataset(tmp_path, split=split)
    assert (ds.layout, ds.task, ds.tasks, ds.root) == ("Pascal VOC", "detection", ("detection",), root)
    assert ds.splits == ["train", "trainval", "val"]  # not the per-class lists aeroplane_train.txt...
    assert ds.classes == list(VOC_OBJECTS) and len(ds.classes) == 20
    theirs = _torchvision_objects(tmp_path, split)
    assert ds.sample_ids == splits[split] == list(theirs)
    for i, sample in enumerate(ds):
        boxes, classes, difficult, truncated = theirs[sample.id]
        ours_boxes, ours_classes = sample.boxes()
        np.testing.assert_array_equal(ours_boxes, boxes)
        np.testing.assert_array_equal(ours_classes, classes)
        extras = ds.box_extras(i)
        assert extras["difficult"].tolist() == difficult and extras["truncated"].tolist() == truncated
        assert sample.meta["difficult"] == difficult and sample.meta["truncated"] == truncated
        assert sample.instances() is None and sample.mask() is None
        assert sample.image().shape == (10, 12, 3)


def test_an_image_without_objects_and_the_tags(tmp_path: Path) -> None:
    _, _, objects = write_voc_detection(tmp_path)
    ds = open_dataset(tmp_path, split="trainval")
    boxes, classes = ds[4].boxes()
    assert boxes.shape == (0, 4) and boxes.dtype == np.float32 and classes.dtype == np.int64
    for i, image_id in enumerate(ds.sample_ids):
        names = sorted({o["name"] for o in objects[image_id]}, key=VOC_OBJECTS.index)
        assert [ds.classes[c] for c in ds[i].labels] == names


def test_a_whole_image_box_is_the_whole_image(tmp_path: Path) -> None:
    root, _, _ = write_voc_detection(tmp_path)
    whole = [{"name": "cat", "bbox": (1, 1, 12, 10), "difficult": False, "truncated": False}]
    (root / "Annotations" / "2012_000001.xml").write_text(voc_xml("2012_000001.jpg", (10, 12), whole))
    np.testing.assert_array_equal(open_dataset(root, split="train")[0].boxes()[0], [[0, 0, 12, 10]])


def test_segmentation_and_detection_in_one_tree(tmp_path: Path) -> None:
    write_voc_detection(tmp_path, segmentation=True)
    ds = open_dataset(tmp_path, split="val")
    assert ds.tasks == ("segmentation", "detection") and ds.task == "segmentation"  # the richer first
    assert ds.classes[0] == "background" and ds[0].boxes() is None
    detection = ds.with_task("detection")
    assert (detection.task, detection.split, detection.classes) == ("detection", "val", list(VOC_OBJECTS))
    assert detection[0].mask() is None and detection.with_task("segmentation")[0].mask().shape == (10, 12)
    assert detection.with_split("train").task == "detection"  # another split keeps the task
    assert open_dataset(tmp_path, task="detection").task == "detection"


def test_a_task_the_files_lack_names_what_they_offer(tmp_path: Path) -> None:
    write_voc_detection(tmp_path)
    with pytest.raises(DatasetError, match="offers detection, not segmentation"):
        open_dataset(tmp_path, task="segmentation")
    with pytest.raises(DatasetError, match="offers detection, not instance_segmentation"):
        open_dataset(tmp_path).with_task("instance_segmentation")


def test_names_outside_the_twenty_become_classes_after_them(tmp_path: Path) -> None:
    root, _, _ = write_voc_detection(tmp_path)
    custom = [{"name": "zebra", "bbox": (2, 2, 5, 5), "difficult": False, "truncated": False}]
    (root / "Annotations" / "2012_000002.xml").write_text(voc_xml("2012_000002.jpg", (10, 12), custom))
    ds = open_dataset(root, split="train")
    assert ds.classes == [*VOC_OBJECTS, "zebra"]
    assert ds[1].boxes()[1].tolist() == [20]
    assert any("not among VOC's 20 classes and were added after them: zebra" in n for n in ds.notices)


def test_a_list_with_words_after_the_id_is_refused(tmp_path: Path) -> None:
    root, _, _ = write_voc_detection(tmp_path)
    (root / "ImageSets" / "Main" / "val.txt").write_text("2012_000004 1 extra\n")
    with pytest.raises(DatasetError, match=r"val.txt:1: expected one image id"):
        open_dataset(root, split="val")


def test_a_missing_annotation_is_its_sample_error(tmp_path: Path) -> None:
    root, _, _ = write_voc_detection(tmp_path)
    (root / "Annotations" / "2012_000002.xml").unlink()
    ds = open_dataset(root, split="train")
    with pytest.raises(SampleError, match=r"2012_000002\.xml: the annotation file is missing"):
        ds[1].boxes()
    assert len(ds[0].boxes()[0]) and any("1 of 3 annotation files cannot be read" in n for n in ds.notices)
