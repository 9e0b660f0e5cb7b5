"""Exports of the objects as edited: COCO, YOLO, VOC. The written files hold exactly the store's objects; a
folder that holds anything is refused; nothing is written outside the chosen folder; images are copies."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml

from core.datasets import open_dataset
from core.labels import ExportError, open_project
from core.labels.export import export_labels, formats_for
from tests.box_fakes import CLASSES, BrokenB, TinyBoxes, write_tiny_boxes
from tests.core.test_labels_support import image_folder


@pytest.fixture
def project(tmp_path: Path):
    """Edited objects: a.png gets a third box (a bird), b.png's crowd region becomes a dog; d.png (val) excluded."""
    root = write_tiny_boxes(tmp_path / "data")
    project = open_project(TinyBoxes(root))
    boxes, classes = project.boxes(0)
    project.set_boxes(0, [*boxes.tolist(), [5, 6, 25, 30]], [*classes.tolist(), 2], flags={"difficult": [0, 1, 0]})
    project.set_boxes(1, [[0, 0, 16, 16]], ["dog"], flags={"iscrowd": [False]})
    project.for_split("val").set_status(0, "excluded")
    yield project
    project.store.close()


def expected(project) -> dict[str, tuple[list, list[str]]]:
    """image file name -> (boxes, class names) of every image an export writes (not excluded)."""
    out = {}
    for split in ("train", "val"):
        part = project.for_split(split)
        for i, sample_id in enumerate(part.dataset.sample_ids):
            if part.status()[i] != 3:
                boxes, classes = part.boxes(i)
                out[sample_id] = (boxes.tolist(), [CLASSES[c] for c in classes])
    return out


def files_of(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_the_formats_of_a_box_dataset(project) -> None:
    assert formats_for(project) == ["coco", "yolo", "voc"]


def test_coco_holds_the_edited_objects(project, tmp_path: Path) -> None:
    result = export_labels(project, tmp_path / "out", "coco")
    data = json.loads((result.path / "annotations" / "instances_train.json").read_text())
    assert [c["name"] for c in data["categories"]] == CLASSES and [c["id"] for c in data["categories"]] == [1, 2, 3]
    names = {img["id"]: img["file_name"] for img in data["images"]}
    assert set(names.values()) == {"a.png", "b.png", "c.png"}
    assert {img["height"] for img in data["images"]} == {32} and {img["width"] for img in data["images"]} == {40}
    got: dict[str, tuple[list, list]] = {name: ([], []) for name in names.values()}
    for ann in data["annotations"]:
        x, y, w, h = ann["bbox"]
        got[names[ann["image_id"]]][0].append([x, y, x + w, y + h])
        got[names[ann["image_id"]]][1].append(CLASSES[ann["category_id"] - 1])
        assert ann["iscrowd"] == 0 and "segmentation" not in ann  # no instance masks in a detection dataset
    assert got == {k: v for k, v in expected(project).items() if k != "d.png"}
    val = json.loads((result.path / "annotations" / "instances_val.json").read_text())
    assert val["images"] == [] and val["annotations"] == []  # d.png is excluded
    assert files_of(result.path) >= {"images/train/a.png", "images/train/b.png", "images/train/c.png"}
    assert result.summary["objects_written"] == 4 and result.summary["images_with_edited_objects"] == 2
    assert (result.path / "changes.csv").read_text().splitlines()[1:] == [
        "train,a.png,boxes,2 objects,3 objects",
        "train,b.png,boxes,1 object,1 object",
    ]
    source = project.dataset.sample_path(0)
    assert (result.path / "images/train/a.png").read_bytes() == source.read_bytes()
    assert not (result.path / "images/train/a.png").is_symlink()


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools' own, not ours
def test_coco_of_instance_masks_writes_polygons_and_crowd_rles(tmp_path: Path) -> None:
    root = write_tiny_boxes(tmp_path / "data")
    project = open_project(TinyBoxes(root, task="instance_segmentation"))
    result = export_labels(project, tmp_path / "out", "coco")
    data = json.loads((result.path / "annotations" / "instances_train.json").read_text())
    by_image = {img["file_name"]: img["id"] for img in data["images"]}
    a = [ann for ann in data["annotations"] if ann["image_id"] == by_image["a.png"]]
    # The fake's masks are the left half of each box: the polygon's x extent is half the box's.
    xs = np.asarray(a[0]["segmentation"][0][0::2])
    assert xs.min() == 2 and xs.max() == 10 and a[0]["area"] == int(project.dataset.load_instances(0)[0].sum())
    crowd = next(ann for ann in data["annotations"] if ann["image_id"] == by_image["b.png"])
    assert crowd["iscrowd"] == 1 and set(crowd["segmentation"]) == {"size", "counts"}
    from pycocotools import mask as coco_mask

    rle = {"size": crowd["segmentation"]["size"], "counts": crowd["segmentation"]["counts"].encode()}
    assert np.array_equal(coco_mask.decode(rle).astype(bool), project.dataset.load_instances(1)[0])
    project.store.close()


def test_yolo_holds_the_edited_objects_normalised(project, tmp_path: Path) -> None:
    result = export_labels(project, tmp_path / "out", "yolo")
    data = yaml.safe_load((result.path / "data.yaml").read_text())
    assert data["names"] == dict(enumerate(CLASSES)) and data["nc"] == 3
    assert data["train"] == "images/train" and data["val"] == "images/val"
    for name, (boxes, classes) in expected(project).items():
        lines = (result.path / "labels" / "train" / name.replace(".png", ".txt")).read_text().splitlines()
        got_boxes, got_classes = [], []
        for line in lines:
            c, xc, yc, w, h = line.split()
            xc, yc, w, h = float(xc) * 40, float(yc) * 32, float(w) * 40, float(h) * 32
            got_boxes.append([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2])
            got_classes.append(CLASSES[int(c)])
        assert got_classes == classes
        assert np.allclose(np.reshape(got_boxes, (-1, 4)), np.reshape(boxes, (-1, 4)), atol=1e-3)
    assert not (result.path / "labels" / "val").exists() and "images/train/c.png" in files_of(result.path)


def test_yolo_leaves_crowd_regions_out_and_says_so(tmp_path: Path) -> None:
    project = open_project(TinyBoxes(write_tiny_boxes(tmp_path / "data")))
    result = export_labels(project, tmp_path / "out", "yolo")
    assert (result.path / "labels/train/b.txt").read_text() == ""
    assert result.summary["crowd_regions_left_out"] == 1
    project.store.close()


def test_voc_holds_the_edited_objects(project, tmp_path: Path) -> None:
    result = export_labels(project, tmp_path / "out", "voc")
    assert (result.path / "ImageSets/Main/train.txt").read_text().split() == ["a", "b", "c"]
    assert (result.path / "ImageSets/Main/val.txt").read_text() == ""
    for name, (boxes, classes) in expected(project).items():
        root = ET.parse(result.path / "Annotations" / name.replace(".png", ".xml")).getroot()
        jpeg = name.replace(".png", ".jpg")
        assert root.findtext("filename") == jpeg and (result.path / "JPEGImages" / jpeg).read_bytes()[:2] == b"\xff\xd8"
        assert root.findtext("size/width") == "40" and root.findtext("size/height") == "32"
        objects = root.findall("object")
        assert [o.findtext("name") for o in objects] == classes
        got = [[int(o.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")] for o in objects]
        assert [[x0 - 1, y0 - 1, x1, y1] for x0, y0, x1, y1 in got] == boxes
    a = ET.parse(result.path / "Annotations/a.xml").getroot()
    assert [o.findtext("difficult") for o in a.findall("object")] == ["0", "1", "0"]
    assert result.summary["reencoded_as_jpeg"] == 3  # the PNGs: VOC's images are JPEG files


@pytest.mark.parametrize("format", ["coco", "yolo", "voc"])
def test_a_folder_holding_anything_is_refused_and_nothing_is_written_outside(project, tmp_path, format) -> None:
    out = tmp_path / "exports" / "mine"
    out.mkdir(parents=True)
    (out / "keep.txt").write_text("the user's")
    with pytest.raises(ExportError, match="already exists and is not an empty folder"):
        export_labels(project, out, format)
    assert files_of(tmp_path / "exports") == {"mine/keep.txt"}
    (out / "keep.txt").unlink()
    result = export_labels(project, out, format)  # an empty folder (made in a folder dialog) is fine
    assert result.path == out and sorted(p.name for p in (tmp_path / "exports").iterdir()) == ["mine"]
    assert "summary.json" in files_of(out)


def test_an_unreadable_image_is_an_error_and_a_dataset_without_boxes_is_refused(project, tmp_path: Path) -> None:
    project.dataset.sample_path(2).unlink()  # c.png is gone: an error for it, the rest is written
    result = export_labels(project, tmp_path / "out", "voc")
    assert list(result.errors) == [("train", "c.png")] and not (result.path / "Annotations/c.xml").exists()
    other = open_project(open_dataset(image_folder(tmp_path / "folder")))
    with pytest.raises(ExportError, match="holds objects"):
        export_labels(other, tmp_path / "out2", "coco")
    other.store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "folder", "out"]


# -- read back through the readers ----------------------------------------------------------------
def read_objects(dataset) -> dict[str, tuple[list, list[str], list[bool]]]:
    """image stem -> (boxes, class names, difficult-or-crowd flags) as a reader gives them."""
    out = {}
    for i, sample_id in enumerate(dataset.sample_ids):
        boxes, classes = dataset.load_boxes(i)
        extras = dataset.box_extras(i)
        flags = extras.get("difficult", extras.get("iscrowd", np.zeros(len(boxes), bool)))
        out[Path(sample_id).stem] = (boxes.tolist(), [dataset.classes[c] for c in classes], flags.tolist())
    return out


def stored_objects(project, flag: str) -> dict[str, tuple[list, list[str], list[bool]]]:
    part = project.for_split("train")
    out = {}
    for i, sample_id in enumerate(part.dataset.sample_ids):
        objects = part.objects(i)
        names = [CLASSES[c] for c in objects.classes]
        out[Path(sample_id).stem] = (objects.boxes.tolist(), names, objects.flag(flag).tolist())
    return out


def test_coco_reads_back_equal_through_the_coco_reader(project, tmp_path: Path) -> None:
    project.set_boxes(2, [[1.25, 2.5, 10.75, 20.0]], ["cat"], flags={"iscrowd": [True]})
    result = export_labels(project, tmp_path / "out", "coco")
    exported = open_dataset(result.path, split="train")
    assert exported.layout == "COCO" and exported.tasks == ("detection",) and exported.classes == CLASSES
    assert read_objects(exported) == stored_objects(project, "iscrowd")


def test_voc_reads_back_equal_through_the_voc_reader(project, tmp_path: Path) -> None:
    result = export_labels(project, tmp_path / "out", "voc")
    exported = open_dataset(result.path, split="train", task="detection")
    assert exported.sample_ids == ["a", "b", "c"]
    assert read_objects(exported) == stored_objects(project, "difficult")
    assert exported.load_image(0).shape == (32, 40, 3)


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools' own, not ours
def test_instance_masks_read_back_through_the_coco_reader(tmp_path: Path) -> None:
    project = open_project(TinyBoxes(write_tiny_boxes(tmp_path / "data"), task="instance_segmentation"))
    result = export_labels(project, tmp_path / "out", "coco")
    exported = open_dataset(result.path, split="train")
    assert exported.task == "instance_segmentation"
    for i in range(len(exported)):
        ours, theirs = project.boxes_dataset().load_instances(i), exported.load_instances(i)
        assert ours.shape == theirs.shape
        for a, b in zip(ours, theirs):
            # Polygons run through pixel centres: a border of half a pixel may go; a crowd RLE is exact.
            assert (a & b).sum() / (a | b).sum() > 0.5 and (b & ~a).sum() == 0
    assert np.array_equal(exported.load_instances(1), project.dataset.load_instances(1))  # the crowd region
    project.store.close()


def test_yolo_reads_back_equal_through_the_yolo_reader(project, tmp_path: Path) -> None:
    project.set_boxes(2, [[1.25, 2.5, 10.75, 20.0]], ["cat"])
    result = export_labels(project, tmp_path / "out", "yolo")
    exported = open_dataset(result.path, split="train")
    assert exported.task == "detection" and exported.classes == CLASSES
    got, want = read_objects(exported), stored_objects(project, "none")
    assert got.keys() == want.keys()
    for name, (boxes, classes, _) in want.items():
        assert got[name][1] == classes
        assert np.allclose(np.reshape(got[name][0], (-1, 4)), np.reshape(boxes, (-1, 4)), atol=1e-3)


def test_an_image_whose_annotation_is_broken_is_an_error_not_a_failed_export(tmp_path: Path) -> None:
    project = open_project(BrokenB(write_tiny_boxes(tmp_path / "data")))
    result = export_labels(project, tmp_path / "out", "coco")
    assert list(result.errors) == [("train", "b.png")] and "not well-formed" in result.errors[("train", "b.png")]
    data = json.loads((result.path / "annotations" / "instances_train.json").read_text())
    assert [img["file_name"] for img in data["images"]] == ["a.png", "c.png"]
    project.set_boxes(1, [[0, 0, 5, 5]], ["cat"])  # its objects can still be given by hand
    assert project.boxes(1)[1].tolist() == [0]
    assert [(e.old, e.new) for e in project.history(1)] == [("the dataset's objects", "1 object")]
    project.store.close()
