"""Ultralytics YOLO (and Roboflow's export of it): data.yaml, images/ and labels/, against a hand conversion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, SampleError, open_dataset
from tests.fake_datasets import YOLO_NAMES, write_images, write_yolo

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")
WIDTH, HEIGHT = 32, 20


def _by_hand(objects: list[tuple[int, list[float]]]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel boxes of normalised YOLO lines: centre and size for a box, the extent for a polygon."""
    boxes = []
    for _, values in objects:
        if len(values) == 4:
            cx, cy, w, h = values
            boxes.append([(cx - w / 2) * WIDTH, (cy - h / 2) * HEIGHT, (cx + w / 2) * WIDTH, (cy + h / 2) * HEIGHT])
        else:
            xs, ys = np.array(values[0::2]) * WIDTH, np.array(values[1::2]) * HEIGHT
            boxes.append([xs.min(), ys.min(), xs.max(), ys.max()])
    return np.array(boxes, np.float32).reshape(-1, 4), np.array([c for c, _ in objects], np.int64)


@pytest.mark.parametrize("roboflow", [False, True])
@pytest.mark.parametrize("split", ["train", "val"])
def test_boxes_match_a_hand_conversion(tmp_path: Path, roboflow: bool, split: str) -> None:
    truth = write_yolo(tmp_path, roboflow=roboflow)
    ds = open_dataset(tmp_path, split=split)
    assert (ds.layout, ds.task, ds.tasks, ds.classes) == ("YOLO", "detection", ("detection",), YOLO_NAMES)
    assert ds.splits == ["train", "val"] and ds.sample_ids == list(truth[split])
    for sample in ds:
        boxes, classes = sample.boxes()
        expected_boxes, expected_classes = _by_hand(truth[split][sample.id])
        np.testing.assert_allclose(boxes, expected_boxes, atol=1e-4)
        np.testing.assert_array_equal(classes, expected_classes)
        assert sample.image().shape == (HEIGHT, WIDTH, 3) and ds.box_extras(sample.index) == {}
        present = sorted({c for c, _ in truth[split][sample.id]})
        assert list(sample.labels) == present
    assert ds[0].boxes()[0].shape == (0, 4) and ds[1].boxes()[1].shape == (0,)  # no label file; an empty one
    if roboflow:
        assert any("test: ../test/images is not in" in notice for notice in ds.notices)


def test_the_default_split_is_val_when_test_is_absent(tmp_path: Path) -> None:
    write_yolo(tmp_path)
    assert open_dataset(tmp_path).split == "val"
    assert open_dataset(tmp_path / "data.yaml").split == "val"  # the yaml itself, picked as a file


def test_names_as_a_mapping(tmp_path: Path) -> None:
    write_yolo(tmp_path, names_as_dict=True)
    assert open_dataset(tmp_path).classes == YOLO_NAMES


def test_polygons_are_instances_and_their_extent_is_the_box(tmp_path: Path) -> None:
    truth = write_yolo(tmp_path, polygons=True)
    ds = open_dataset(tmp_path, split="train")
    assert ds.tasks == ("instance_segmentation", "detection") and ds.task == "instance_segmentation"
    for sample in ds:
        boxes, _ = sample.boxes()
        np.testing.assert_allclose(boxes, _by_hand(truth["train"][sample.id])[0], atol=1e-4)
        masks = sample.instances()
        assert masks.shape == (len(boxes), HEIGHT, WIDTH) and masks.dtype == bool
        for mask, box in zip(masks, boxes):  # every mask lies in its box (to the pixel)
            ys, xs = np.nonzero(mask)
            assert len(xs) and xs.min() >= np.floor(box[0]) - 1 and xs.max() <= np.ceil(box[2])
            assert ys.min() >= np.floor(box[1]) - 1 and ys.max() <= np.ceil(box[3])
    assert ds.with_task("detection")[3].instances() is None
    with pytest.raises(DatasetError, match="offers instance_segmentation, detection, not segmentation"):
        ds.with_task("segmentation")


def test_a_square_polygon_fills_its_square(tmp_path: Path) -> None:
    write_yolo(tmp_path, polygons=True)
    (tmp_path / "labels" / "train" / "train_001.txt").write_text(
        "2 0.25 0.25 0.75 0.25 0.75 0.75 0.25 0.75\n1 0.5 0.5 0.5 0.5\n"
    )
    ds = open_dataset(tmp_path, split="train")
    expected = np.zeros((2, HEIGHT, WIDTH), bool)
    expected[:, 5:15, 8:24] = True  # the polygon's square, and the box line's rectangle (the same square)
    np.testing.assert_array_equal(ds[1].instances(), expected)
    np.testing.assert_array_equal(ds[1].boxes()[0], [[8, 5, 24, 15]] * 2)


def test_a_detection_dataset_offers_no_other_task(tmp_path: Path) -> None:
    write_yolo(tmp_path)
    with pytest.raises(DatasetError, match="offers detection, not instance_segmentation"):
        open_dataset(tmp_path, task="instance_segmentation")


def test_a_txt_list_of_images_and_a_list_of_folders(tmp_path: Path) -> None:
    truth = write_yolo(tmp_path)
    train = list(truth["train"])
    (tmp_path / "train.txt").write_text("".join(f"./{name}\n" for name in train[:2]) + f"{train[3]}\n")
    (tmp_path / "data.yaml").write_text("train: train.txt\nval: [images/val, images/train]\nnames: [a, b, c]\n")
    ds = open_dataset(tmp_path, split="train")
    assert ds.sample_ids == [train[0], train[1], train[3]]
    np.testing.assert_array_equal(ds[2].boxes()[1], [c for c, _ in truth["train"][train[3]]])
    assert ds.with_split("val").sample_ids == list(truth["val"]) + train


def test_an_absolute_path_from_another_machine_is_ignored(tmp_path: Path) -> None:
    write_yolo(tmp_path)
    text = (tmp_path / "data.yaml").read_text().replace("path: .", "path: /content/datasets/things")
    (tmp_path / "data.yaml").write_text(text)
    ds = open_dataset(tmp_path)
    assert len(ds) == 3 and any("path: /content/datasets/things; read from the yaml's folder" in n for n in ds.notices)


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("train: images/train\nval: images/val\n", "data.yaml has no names"),
        ("train: images/train\nnames: {0: a, 2: b}\n", r"names has ids \[0, 2\]; expected the integers 0..1"),
        ("train: images/train\nnc: 4\nnames: [a, b, c]\n", "says nc: 4 but names 3 classes"),
        ("train: {a: 1}\nnames: [a]\n", "data.yaml train: expected a folder, a .txt list of images"),
        ("train: ../../elsewhere\nnames: [a]\n", "none of the splits data.yaml names"),
        ("- just\n- a list\n", "holds a list, not a mapping"),
        ("train: [images/train\nnames: [a]\n", "data.yaml is not valid YAML"),
        ("names: !!python/object/apply:os.system [echo owned]\n", "data.yaml is not valid YAML"),
    ],
)
def test_a_broken_yaml_names_what_is_wrong(tmp_path: Path, yaml: str, message: str) -> None:
    write_yolo(tmp_path)
    (tmp_path / "data.yaml").write_text(yaml)
    with pytest.raises(DatasetError, match=message):
        open_dataset(tmp_path)


def test_a_path_elsewhere_and_no_splits_here_says_both(tmp_path: Path) -> None:
    write_yolo(tmp_path)
    (tmp_path / "data.yaml").write_text("path: ../datasets/coco8\ntrain: images/training\nnames: [a]\n")
    with pytest.raises(DatasetError, match=r"(?s)none of the splits .* path: \.\./datasets/coco8; read from .*"):
        open_dataset(tmp_path)


def test_a_split_folder_outside_the_dataset_is_refused(tmp_path: Path) -> None:
    write_images(tmp_path / "elsewhere", ["secret.jpg"])
    root = tmp_path / "data"
    write_yolo(root)
    (root / "data.yaml").write_text("train: ../elsewhere\nnames: [a]\n")
    with pytest.raises(DatasetError, match=r"train: \.\./elsewhere is outside the dataset's folder"):
        open_dataset(root)


def test_images_and_labels_without_a_yaml_say_so(tmp_path: Path) -> None:
    write_yolo(tmp_path)
    (tmp_path / "data.yaml").unlink()
    with pytest.raises(DatasetError, match=r"YOLO: found images/ and labels/ but no data\.yaml"):
        open_dataset(tmp_path)


def test_a_bad_label_file_is_its_sample_error(tmp_path: Path) -> None:
    write_yolo(tmp_path)
    (tmp_path / "labels" / "val" / "val_002.txt").write_text("0 0.5 0.5 0.2 0.2\n1 0.5 oops 0.2 0.2\n")
    ds = open_dataset(tmp_path)
    with pytest.raises(SampleError, match=r"labels/val/val_002\.txt line 2: '1 0\.5 oops 0\.2 0\.2' is not numbers"):
        ds[2].boxes()
    assert any("1 of 3 label files cannot be read" in n for n in ds.notices) and ds[1].boxes() is not None
