"""Hostile and broken object annotations (COCO, VOC, YOLO, CelebA): one bad object is its sample's error,
boxes outside the image are clipped, nothing hangs or crashes the dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.datasets import SampleError, open_dataset
from tests.fake_datasets import write_coco

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
