"""COCO instances json -> semantic masks: polygons, crowd RLE, contiguous classes, tags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, SampleError, open_dataset
from core.datasets.readers.coco import rasterise
from tests.fake_datasets import COCO_CATEGORIES, write_coco

# pycocotools' own numpy-2 deprecation (np.array(copy=False) in its decode); the reader filters it at import.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")


def _expected_mask(annotation_file: Path, image_id: int) -> np.ndarray:
    """The semantic mask built with pycocotools' own COCO API, by the rules the reader documents."""
    from pycocotools.coco import COCO

    coco = COCO(str(annotation_file))
    index = {c["id"]: i + 1 for i, c in enumerate(sorted(coco.dataset["categories"], key=lambda c: c["id"]))}
    info = coco.imgs[image_id]
    mask = np.zeros((info["height"], info["width"]), np.uint8)
    seen = np.zeros((len(index) + 1, *mask.shape), bool)
    for ann in coco.imgToAnns[image_id]:
        seen[index[ann["category_id"]]] |= coco.annToMask(ann).astype(bool)
    for label in range(1, len(index) + 1):
        mask[seen[label]] = label
    mask[seen[1:].sum(axis=0) > 1] = 255  # two classes claim the pixel
    return mask


def test_coco_masks_classes_and_tags(tmp_path: Path) -> None:
    path = write_coco(tmp_path, n_images=4)
    write_coco(tmp_path, split="train2017", n_images=2, seed=1)
    ds = open_dataset(tmp_path, task="segmentation")
    assert ds.layout == "COCO" and ds.task == "segmentation"
    assert (ds.splits, ds.split) == (["train2017", "val2017"], "val2017")
    assert ds.classes == ["background", "person", "car", "dog"] and ds.palette.shape == (4, 3)
    data = json.loads(path.read_text())
    assert ds.sample_ids == [image["file_name"] for image in data["images"]]
    for i, sample in enumerate(ds):
        image_id = data["images"][i]["id"]
        np.testing.assert_array_equal(sample.mask(), _expected_mask(path, image_id))
        ids = {a["category_id"] for a in data["annotations"] if a["image_id"] == image_id}
        names = [c["name"] for c in COCO_CATEGORIES if c["id"] in ids]
        assert sample.meta["categories"] == names and sample.meta["coco_id"] == image_id
        assert [ds.classes[j] for j in sample.labels] == names
        assert sample.image().shape == (12, 16, 3)
    assert (ds[0].mask()[-3:, :5] != 0).all()  # the crowd region is drawn


def test_images_under_an_images_folder(tmp_path: Path) -> None:
    write_coco(tmp_path, images_subfolder=True)
    ds = open_dataset(tmp_path)
    assert ds[0].path == tmp_path / "images" / "val2017" / ds.sample_ids[0]


def test_rasterise_handles_every_segmentation_form() -> None:
    from pycocotools import mask as mask_utils

    truth = np.zeros((5, 7), np.uint8)
    truth[1:3, 2:5] = 1
    compressed = mask_utils.encode(np.asfortranarray(truth))
    compressed["counts"] = compressed["counts"].decode()  # as stored in json
    np.testing.assert_array_equal(rasterise(compressed, 5, 7), truth)
    np.testing.assert_array_equal(rasterise({"size": [5, 7], "counts": [11, 2, 3, 2, 3, 2, 12]}, 5, 7), truth)
    assert rasterise([], 5, 7).sum() == 0
    with pytest.raises(ValueError, match="RLE of size"):
        rasterise({"size": [4, 7], "counts": [28]}, 5, 7)


def test_bad_annotations_are_sample_errors(tmp_path: Path) -> None:
    path = write_coco(tmp_path)
    data = json.loads(path.read_text())
    data["annotations"][0]["segmentation"] = {"size": [3, 3], "counts": [9]}
    data["images"][1]["width"] = 99
    path.write_text(json.dumps(data))
    ds = open_dataset(tmp_path, task="segmentation")
    with pytest.raises(SampleError, match="annotation 0 cannot be drawn"):
        ds[0].mask()
    with pytest.raises(SampleError, match="the json says 99x12 but the image is 16x12"):
        ds[1].mask()
    assert ds[2].mask().shape == (12, 16)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda d: d["annotations"][2].update(category_id=77),
            r"annotations\[2\] \(id 3\): category_id 77 is not in categories",
        ),
        (lambda d: d["annotations"][1].update(image_id=5), r"annotations\[1\] \(id 2\): image_id 5 is not in images"),
        (lambda d: d["images"][0].pop("height"), r"images\[0\] has no 'height'"),
        (lambda d: d.pop("categories"), "has no list 'categories'"),
    ],
)
def test_malformed_json_names_the_key(tmp_path: Path, change, message: str) -> None:
    path = write_coco(tmp_path)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=message):
        open_dataset(tmp_path)


def test_broken_json_names_line_and_column(tmp_path: Path) -> None:
    path = write_coco(tmp_path)
    path.write_text('{"images": [\n  {"id": 1,}\n]}')
    with pytest.raises(DatasetError, match=r"instances_val2017.json is not valid JSON \(line 2, column 12"):
        open_dataset(tmp_path)


def test_captions_only_is_reported(tmp_path: Path) -> None:
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "captions_val2017.json").write_text("{}")
    with pytest.raises(DatasetError, match=r"COCO: found annotations/ but no annotations/instances_<split>.json"):
        open_dataset(tmp_path)


def test_matches_torchvision_coco_detection(tmp_path: Path) -> None:
    tv_datasets = pytest.importorskip("torchvision.datasets")
    path = write_coco(tmp_path)
    theirs = tv_datasets.CocoDetection(str(tmp_path / "val2017"), str(path))
    ours = open_dataset(tmp_path)
    assert len(ours) == len(theirs)
    for i, sample in enumerate(ours):
        image, anns = theirs[i]
        assert sample.meta["annotations"] == len(anns)
        np.testing.assert_array_equal(sample.image(), np.asarray(image))


def test_a_large_file_is_streamed_and_reads_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above STREAM_BYTES the json is read entry by entry (ijson); the dataset must not change."""
    pytest.importorskip("ijson")
    from core.datasets.readers import coco

    write_coco(tmp_path)
    whole, objects = open_dataset(tmp_path, task="segmentation"), open_dataset(tmp_path)
    monkeypatch.setattr(coco, "STREAM_BYTES", 0)
    streamed = open_dataset(tmp_path, task="segmentation")
    assert streamed.sample_ids == whole.sample_ids and streamed.classes == whole.classes
    np.testing.assert_array_equal(streamed.tags, whole.tags)
    for i in range(len(whole)):
        np.testing.assert_array_equal(streamed.load_mask(i), whole.load_mask(i))
    whole, streamed = objects, open_dataset(tmp_path)  # boxes, flags and areas are kept too
    for i in range(len(whole)):
        for ours, theirs in zip(whole.load_boxes(i), streamed.load_boxes(i)):
            np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(whole.load_instances(i), streamed.load_instances(i))
        assert whole.sample_meta(i) == streamed.sample_meta(i) and streamed.sample_meta(i)["area"][0] == 1.0


# -- the object tasks -------------------------------------------------------------------------
def _torchvision_objects(root: Path, path: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(boxes x0 y0 x1 y1, class indices, crowd flags, masks) per image, from torchvision's CocoDetection targets
    through the reader's documented conversion, masks by pycocotools' own annToMask."""
    from torchvision.datasets import CocoDetection

    theirs = CocoDetection(str(root / "val2017"), str(path))
    index = {c["id"]: i for i, c in enumerate(sorted(theirs.coco.dataset["categories"], key=lambda c: c["id"]))}
    out = []
    for i in range(len(theirs)):
        _, anns = theirs[i]
        boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)], np.float32)
        classes = np.array([index[a["category_id"]] for a in anns], np.int64)
        masks = np.stack([theirs.coco.annToMask(a).astype(bool) for a in anns])
        out.append((boxes.reshape(-1, 4), classes, np.array([bool(a["iscrowd"]) for a in anns]), masks))
    return out


def test_instances_match_torchvision_coco_detection(tmp_path: Path) -> None:
    path = write_coco(tmp_path, n_images=4)
    ds = open_dataset(tmp_path)
    assert ds.task == "instance_segmentation" and ds.tasks == ("instance_segmentation", "detection", "segmentation")
    assert ds.classes == ["person", "car", "dog"]  # no background in a box task
    for i, (boxes, classes, crowd, masks) in enumerate(_torchvision_objects(tmp_path, path)):
        ours_boxes, ours_classes = ds[i].boxes()
        assert ours_boxes.dtype == np.float32 and ours_classes.dtype == np.int64
        np.testing.assert_array_equal(ours_boxes, boxes)
        np.testing.assert_array_equal(ours_classes, classes)
        np.testing.assert_array_equal(ds.box_extras(i)["iscrowd"], crowd)
        np.testing.assert_array_equal(ds[i].instances(), masks)
        assert ds[i].meta["iscrowd"] == crowd.tolist() and ds[i].meta["objects"] == len(classes)
        assert ds[i].meta["object_classes"] == [ds.classes[c] for c in classes]
        assert [ds.classes[j] for j in ds[i].labels] == [ds.classes[c] for c in sorted(set(classes))]
    assert ds[0].mask() is None  # an instance dataset has no class mask


def test_each_task_of_the_files(tmp_path: Path) -> None:
    write_coco(tmp_path)
    instances = open_dataset(tmp_path)
    detection = instances.with_task("detection")
    assert detection.task == "detection" and detection.classes == instances.classes
    assert detection[0].instances() is None
    np.testing.assert_array_equal(detection[0].boxes()[0], instances[0].boxes()[0])
    segmentation = detection.with_task("segmentation")
    assert segmentation.classes[0] == "background" and segmentation[0].boxes() is None
    assert segmentation.box_extras(0) == {} and segmentation[0].mask().shape == (12, 16)
    assert open_dataset(tmp_path, task="detection").task == "detection"
    with pytest.raises(DatasetError, match="offers instance_segmentation, detection, segmentation, not localization"):
        open_dataset(tmp_path, task="localization")
    with pytest.raises(DatasetError, match="offers instance_segmentation, detection, segmentation, not multiclass"):
        instances.with_task("multiclass")


def test_a_detection_only_export_offers_detection(tmp_path: Path) -> None:
    write_coco(tmp_path, segmentation=False)
    ds = open_dataset(tmp_path)
    assert ds.tasks == ("detection",) and ds.task == "detection"
    assert len(ds[0].boxes()[0]) == 4
    with pytest.raises(DatasetError, match=r"offers detection, not segmentation \(its annotations have no segm"):
        open_dataset(tmp_path, task="segmentation")


def test_an_annotation_without_bbox_gets_its_segmentation_extent(tmp_path: Path) -> None:
    path = write_coco(tmp_path)
    data = json.loads(path.read_text())
    first = data["annotations"][0]
    x, y, w, h = first.pop("bbox")
    path.write_text(json.dumps(data))
    np.testing.assert_array_equal(open_dataset(tmp_path)[0].boxes()[0][0], [x, y, x + w, y + h])


def test_an_image_without_annotations_has_no_objects(tmp_path: Path) -> None:
    path = write_coco(tmp_path)
    data = json.loads(path.read_text())
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != data["images"][1]["id"]]
    path.write_text(json.dumps(data))
    ds = open_dataset(tmp_path)
    boxes, classes = ds[1].boxes()
    assert boxes.shape == (0, 4) and boxes.dtype == np.float32 and classes.shape == (0,)
    assert ds[1].instances().shape == (0, 12, 16) and ds.box_extras(1)["iscrowd"].shape == (0,)


def test_without_a_val_split_the_test_split_opens_for_evaluation(tmp_path):
    for split in ("train", "test"):
        write_coco(tmp_path, split=split)
    assert open_dataset(tmp_path).split == "test"
    write_coco(tmp_path, split="val")
    assert open_dataset(tmp_path).split == "val"  # COCO's own evaluation split first
