"""The bundled detection demo and its detector: the COCO files are sound (every box is its own mask's extent,
the test scenes hold only held-out digits), the bundled detector loads as data and finds the test digits as
well as its card says (scored here with pycocotools, independently of the training script), and the training
script runs end to end on a tiny demo of its own."""

from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pytest

from core.models.cards import BUNDLED_MODELS, RESOURCES, load_card

DEMO = RESOURCES / "demo" / "scene_detection"
CARD = BUNDLED_MODELS / "scene_detector.json"
FLOOR_MAP_50 = 0.8  # the floor for the bundled detector on the held-out scenes
# pycocotools still passes copy=False to np.array; numpy 2 warns on every mask it decodes (not ours to fix)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def coco(split: str, root=DEMO):
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(root / "annotations" / f"instances_{split}.json"))


def digit_indices(split: str) -> set[int]:
    """The load_digits indices in resources/demo/digits/<split> (its files are named by index)."""
    folder = RESOURCES / "demo" / "digits" / split
    return {int(re.fullmatch(r"(\d{4})\.png", p.name).group(1)) for p in folder.rglob("*.png")}


# -- the data ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("split", ["train", "test"])
def test_every_annotation_is_its_masks_extent_in_a_valid_coco_file(split):
    from pycocotools import mask as mask_utils

    api = coco(split)
    assert [(c["id"], c["name"]) for c in api.loadCats(api.getCatIds())] == [(d + 1, str(d)) for d in range(10)]
    images = api.loadImgs(api.getImgIds())
    assert len(images) == {"train": 400, "test": 200}[split]
    for info in images:
        assert (DEMO / split / info["file_name"]).is_file() and (info["height"], info["width"]) == (96, 96)
        anns = api.loadAnns(api.getAnnIds(imgIds=info["id"]))
        assert 1 <= len(anns) <= 6
        masks = np.stack([api.annToMask(a).astype(bool) for a in anns])
        assert not (masks.sum(axis=0) > 1).any()  # digits never overlap
        for ann, mask in zip(anns, masks):
            ys, xs = np.nonzero(mask)
            x, y = xs.min(), ys.min()
            assert ann["bbox"] == [x, y, xs.max() - x + 1, ys.max() - y + 1]
            assert ann["area"] == mask.sum() == mask_utils.area(ann["segmentation"])
            assert ann["iscrowd"] == 0 and ann["category_id"] in range(1, 11)


def test_scene_images_are_rgb_of_their_stated_size():
    import cv2

    api = coco("test")
    for info in api.loadImgs(api.getImgIds()[:20]):
        image = cv2.imread(str(DEMO / "test" / info["file_name"]), cv2.IMREAD_UNCHANGED)
        assert image.shape == (info["height"], info["width"], 3) and image.dtype == np.uint8


def test_test_scenes_hold_only_held_out_digits_of_their_class():
    from scripts.make_demo_data import digits

    _, _, labels = digits()
    used = {}
    for split in ("train", "test"):
        anns = coco(split).dataset["annotations"]
        used[split] = {a["digit_index"] for a in anns}
        assert all(labels[a["digit_index"]] + 1 == a["category_id"] for a in anns)
    assert not used["train"] & used["test"]
    assert used["test"] <= digit_indices("test") and used["train"] <= digit_indices("train")


def test_the_demo_and_its_detector_stay_small():
    files = [p for p in DEMO.rglob("*") if p.is_file()] + [CARD, CARD.with_suffix(".pt")]
    assert sum(p.stat().st_size for p in files) < 5_000_000


# -- the bundled detector ---------------------------------------------------------------------------
def bundled_detector():
    """The bundled card and its detector, weights read as data (weights_only) after the checksum."""
    import torch

    from core.models.scene_detector import build
    from core.models.weights import file_sha256

    card = load_card(CARD)
    assert file_sha256(card.weights_path) == card.sha256
    model = build(card)
    model.load_state_dict(torch.load(card.weights_path, map_location="cpu", weights_only=True))
    return card, model.eval()


def test_the_card_describes_a_detector_of_the_demo():
    card = load_card(CARD)
    assert (card.name, card.architecture, card.task) == ("scene-detector", "scene_detector", "detection")
    assert card.classes == ["__background__"] + [str(d) for d in range(10)]
    assert card.input_size == (96, 96) and card.dataset == "resources/demo/scene_detection"
    assert card.training["split"] == "train" and card.metrics["split"] == "test"


def test_the_bundled_detector_reaches_the_floor_on_held_out_scenes():
    from scripts.train_scene_detector import coco_metrics, detect, load_split

    card, model = bundled_detector()
    api, ids, images, _ = load_split(DEMO, "test")
    detections = detect(model, images)
    assert all(set(d) == {"boxes", "scores", "labels"} for d in detections)
    assert all((d["labels"] >= 1).all() and (d["labels"] <= 10).all() for d in detections)
    metrics = coco_metrics(api, ids, detections)
    assert metrics["test_map_50"] >= FLOOR_MAP_50
    # what the card says is what the model does (same images, same evaluation)
    assert metrics["test_map_50"] == pytest.approx(card.metrics["test_map_50"], abs=2e-3)
    assert metrics["test_map"] == pytest.approx(card.metrics["test_map"], abs=2e-3)


def test_the_detector_scales_other_image_sizes_and_maps_boxes_back():
    import torch

    _, model = bundled_detector()
    with torch.no_grad():
        (found,) = model([torch.rand(3, 120, 150)])
    boxes = found["boxes"]
    assert boxes.shape[1] == 4 and len(boxes) == len(found["scores"]) == len(found["labels"])
    # clipped to the resized image, scaled back: inside the original one (to float rounding)
    assert (boxes >= 0).all() and (boxes[:, 2] <= 150 + 1e-3).all() and (boxes[:, 3] <= 120 + 1e-3).all()


# -- the training script ----------------------------------------------------------------------------
def test_training_runs_end_to_end_on_a_tiny_demo(tmp_path):
    import torch

    from core.models.scene_detector import build
    from core.models.weights import file_sha256
    from scripts.make_scene_detection import write_demo
    from scripts.train_scene_detector import Recipe, train

    summary = write_demo({"train": 6, "test": 3}, target=tmp_path / "demo")
    assert summary["train"]["scenes"] == 6 and summary["test"]["scenes"] == 3
    card = train(Recipe(epochs=1, batch_size=3), data=tmp_path / "demo", out=tmp_path / "model")
    saved = load_card(tmp_path / "model" / "scene_detector.json")
    assert saved.sha256 == file_sha256(tmp_path / "model" / "scene_detector.pt") == card.sha256
    assert saved.training["epochs"] == 1 and saved.training["train_samples"] == 6
    assert 0.0 <= saved.metrics["test_map_50"] <= 1.0 and saved.metrics["test_images"] == 3
    state = torch.load(tmp_path / "model" / "scene_detector.pt", weights_only=True)
    build(saved).load_state_dict(state)  # strict: the card rebuilds exactly the trained network
    assert json.loads((tmp_path / "model" / "scene_detector.json").read_text())["architecture"] == "scene_detector"
