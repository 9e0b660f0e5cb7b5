"""Hostile and broken object annotations (COCO, VOC, YOLO, CelebA): one bad object is its sample's error,
boxes outside the image are clipped, nothing hangs or crashes the dataset."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, SampleError, open_dataset
from tests.fake_datasets import voc_xml, write_coco, write_voc_detection, write_yolo

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")


def _coco_with_bbox(root: Path, bbox) -> Path:
    path = write_coco(root)
    data = json.loads(path.read_text())
    data["annotations"][0]["bbox"] = bbox
    path.write_text(json.dumps(data).replace('"NaN"', "NaN"))
    return root


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        ("NaN", "object 0 has a box coordinate that is not a number"),
        ([1, 2, "wide", 3], "object 0 has a box coordinate that is not a number"),
        ([1, 2, 3], "object 0 has a box coordinate that is not a number"),
        ([5, 2, -3, 4], r"object 0 has a negative width or height \(x 5.0..2.0"),
    ],
)
def test_a_broken_coco_bbox_is_an_error_of_its_sample(tmp_path: Path, bbox, message: str) -> None:
    ds = open_dataset(_coco_with_bbox(tmp_path, bbox))
    with pytest.raises(SampleError, match=message):
        ds[0].boxes()
    assert "annotation_error" in ds[0].meta
    assert len(ds[1].boxes()[0]) == 4  # the other images read


def test_a_coco_box_outside_the_image_is_clipped(tmp_path: Path) -> None:
    ds = open_dataset(_coco_with_bbox(tmp_path, [-3.5, 4, 30, 100]))  # the image is 16 x 12
    np.testing.assert_array_equal(ds[0].boxes()[0][0], [0, 4, 16, 12])
    assert ds[0].meta["boxes_clipped"] == 1


# -- Pascal VOC ------------------------------------------------------------------------------------
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]>\n<annotation><object><name>&lol9;</name></object></annotation>"
)
EXTERNAL = (
    '<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    "<annotation><object><name>&secret;</name></object></annotation>"
)


def _voc_object(bbox) -> str:
    return voc_xml("x.jpg", (10, 12), [{"name": "dog", "bbox": bbox, "difficult": 0, "truncated": 0}])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<annotation><object><name>dog</name>", "Annotations/2012_000002.xml is not valid XML"),
        (LAUGHS, "Annotations/2012_000002.xml is refused: EntitiesForbidden"),
        (EXTERNAL, "Annotations/2012_000002.xml is refused: EntitiesForbidden"),
        ("<html><body/></html>", "the root element is <html>, not <annotation>"),
        ("<annotation><object><bndbox/></object></annotation>", "object 0 has no <name>"),
        (b"\xff\xfe<annotation>".decode("latin-1"), "is not valid XML"),
        ("<annotation>" + "<segmented>0</segmented>" * 60_000 + "</annotation>", "is larger than 1,048,576 bytes"),
    ],
)
def test_a_broken_or_hostile_voc_xml_is_its_sample_error(tmp_path: Path, text: str, message: str) -> None:
    root, _, _ = write_voc_detection(tmp_path)
    (root / "Annotations" / "2012_000002.xml").write_text(text, encoding="latin-1")
    ds = open_dataset(root, split="train")
    with pytest.raises(SampleError, match=message):
        ds[1].boxes()
    assert "2012_000002.xml" in ds[1].meta["annotation_error"]
    assert any("1 of 3 annotation files cannot be read" in notice for notice in ds.notices)
    assert ds[0].boxes() is not None and ds[1].image().shape == (10, 12, 3)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_an_entity_bomb_in_utf16_is_refused_too(tmp_path: Path, encoding: str) -> None:
    """In UTF-16 the bytes ``<!`` never occur (NULs sit between the letters): such a file must still go to
    defusedxml (which refuses it, or cannot read the encoding at all: never expanded either way)."""
    root, _, _ = write_voc_detection(tmp_path)
    text = LAUGHS.replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>')
    (root / "Annotations" / "2012_000002.xml").write_bytes(text.encode(encoding))
    start = time.perf_counter()
    with pytest.raises(SampleError, match=r"is refused: EntitiesForbidden|is not valid XML"):
        open_dataset(root, split="train")[1].boxes()
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        (("nan", 2, 4, 5), "object 0 has a box coordinate that is not a number"),
        (("", 2, 4, 5), "object 0 has a box coordinate that is not a number"),
        ((1e400, 2, 4, 5), "object 0 has a box coordinate that is not a number"),
        ((6, 2, 3, 5), "object 0 has a negative width or height"),
    ],
)
def test_a_broken_voc_box_is_its_sample_error(tmp_path: Path, bbox, message: str) -> None:
    root, _, _ = write_voc_detection(tmp_path)
    (root / "Annotations" / "2012_000001.xml").write_text(_voc_object(bbox))
    with pytest.raises(SampleError, match=message):
        open_dataset(root, split="train")[0].boxes()


def test_a_voc_box_outside_the_image_is_clipped(tmp_path: Path) -> None:
    root, _, _ = write_voc_detection(tmp_path)
    (root / "Annotations" / "2012_000001.xml").write_text(_voc_object((-4, 3, 40, 8)))
    ds = open_dataset(root, split="train")
    np.testing.assert_array_equal(ds[0].boxes()[0], [[0, 2, 12, 8]])
    assert ds[0].meta["boxes_clipped"] == 1


# -- YOLO ------------------------------------------------------------------------------------------
def _yolo_label(root: Path, text: str) -> Path:
    write_yolo(root)
    (root / "labels" / "val" / "val_001.txt").write_text(text)
    return root


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0 nan 0.5 0.2 0.2", "object 0 has a box coordinate that is not a number"),
        ("0 0.5 0.5 inf 0.2", "object 0 has a box coordinate that is not a number"),
        ("0 0.5 0.5 -0.2 0.2", "object 0 has a negative width or height"),
        ("3 0.5 0.5 0.2 0.2", r"object 0 has class 3; the dataset has 3 classes \(0..2\)"),
        ("-1 0.5 0.5 0.2 0.2", "object 0 has class -1"),
        ("1.5 0.5 0.5 0.2 0.2", "line 1: class 1.5 is not a whole number"),
        ("0 0.5 0.5 0.2 0.2 0.9", "line 1: 6 numbers; expected 'class cx cy w h'"),
        ("0 0.5 0.5", "line 1: 3 numbers"),
    ],
)
def test_a_broken_yolo_line_is_its_sample_error(tmp_path: Path, line: str, message: str) -> None:
    ds = open_dataset(_yolo_label(tmp_path, line + "\n"))
    with pytest.raises(SampleError, match=message):
        ds[1].boxes()
    assert "annotation_error" in ds[1].meta and ds[2].boxes() is not None


def test_a_yolo_box_outside_the_image_is_clipped(tmp_path: Path) -> None:
    ds = open_dataset(_yolo_label(tmp_path, "0 0.9 0.5 0.5 1.5\n"))  # the image is 32 x 20
    np.testing.assert_allclose(ds[1].boxes()[0], [[20.8, 0, 32, 20]], atol=1e-4)
    assert ds[1].meta["boxes_clipped"] == 1


def test_a_million_line_label_file_is_refused_at_once(tmp_path: Path) -> None:
    root = _yolo_label(tmp_path, "0 0.5 0.5 0.1 0.1\n" * 1_000_000)
    start = time.perf_counter()
    ds = open_dataset(root)
    assert time.perf_counter() - start < 5
    with pytest.raises(SampleError, match=r"val_001\.txt: the label file is larger than 1,048,576 bytes"):
        ds[1].boxes()


def test_a_huge_yaml_is_refused_unread(tmp_path: Path) -> None:
    write_yolo(tmp_path)
    with (tmp_path / "data.yaml").open("r+b") as file:
        file.truncate(1 << 30)  # 1 GB (sparse: the disk is not filled)
    start = time.perf_counter()
    with pytest.raises(DatasetError, match=r"data\.yaml: the dataset yaml is larger than 1,048,576 bytes"):
        open_dataset(tmp_path)
    assert time.perf_counter() - start < 5


def test_a_yaml_alias_bomb_is_an_error_not_a_hang(tmp_path: Path) -> None:
    write_yolo(tmp_path)
    levels = "abcdefghi"
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{name}: &{name} [{', '.join([f'*{below}'] * 9)}]\n" for below, name in itertools.pairwise(levels)
    )  # 9 ** 9 strings if expanded
    (tmp_path / "data.yaml").write_text(bomb + "train: images/train\nnames: *i\n")
    with pytest.raises(DatasetError, match="has no names"):
        open_dataset(tmp_path)
