"""The bundled digit-scene demos and their two models: the data open as the app opens them, the test scenes
hold only held-out digits, and each model scores what its card records (recomputed here, independently of
the training script, with a plain torch loop and with the app's own inference jobs)."""

from __future__ import annotations

import csv
import re
from collections import defaultdict

import numpy as np
import pytest

from core.datasets import open_dataset
from core.models.cards import BUNDLED_MODELS, RESOURCES, cards_for, load_card

DEMO = RESOURCES / "demo"
SCENES, TAGS = DEMO / "scenes", DEMO / "scene_tags"
CLASSES = ["background"] + [str(d) for d in range(10)]
EVAL_BATCH = 50  # as scripts/train_scene_models.py evaluates


def sources() -> dict[tuple[str, str], list[dict[str, int]]]:
    """(split, image) -> the digits placed in that scene, from scenes/sources.csv."""
    out: dict[tuple[str, str], list[dict[str, int]]] = defaultdict(list)
    with open(SCENES / "sources.csv", newline="") as file:
        for row in csv.DictReader(file):
            out[row["split"], row["image"]].append({k: int(v) for k, v in row.items() if k not in ("split", "image")})
    return out


def name(dataset, index: int) -> str:
    """The file name of a sample (segmentation-pair ids are ``<split>/<name>``)."""
    return dataset.sample_ids[index].rsplit("/", 1)[-1]


def digit_indices(split: str) -> set[int]:
    """The load_digits indices in resources/demo/digits/<split> (its files are named by index)."""
    return {int(re.fullmatch(r"(\d{4})\.png", p.name).group(1)) for p in (DEMO / "digits" / split).rglob("*.png")}


# -- the data ---------------------------------------------------------------------------------------
def test_scenes_open_as_a_segmentation_dataset_with_distinct_colours():
    test, train = open_dataset(SCENES), open_dataset(SCENES, split="train")
    assert test.task == "segmentation" and test.layout == "Segmentation pairs"
    assert (test.split, sorted(test.splits)) == ("test", ["test", "train"])
    assert test.classes == CLASSES == train.classes
    assert (len(train), len(test)) == (600, 200)
    assert len({tuple(c) for c in test.palette}) == len(CLASSES)
    mask = test[0].mask()
    assert mask.shape == (64, 64) == test[0].image().shape[:2]
    assert mask.dtype == np.uint8 and mask.max() <= 10


def test_test_scenes_hold_only_held_out_digits_and_masks_match_their_sources():
    placed = sources()
    used = {
        split: {d["digit_index"] for (s, _), ds in placed.items() if s == split for d in ds}
        for split in ("train", "test")
    }
    assert used["test"] <= digit_indices("test") and used["train"] <= digit_indices("train")
    assert used["test"] == digit_indices("test")  # every held-out digit appears in some test scene
    test = open_dataset(SCENES)
    for index in range(0, len(test), 7):
        digits = placed["test", name(test, index)]
        assert 1 <= len(digits) <= 4
        present = set(np.unique(test[index].mask())) - {0}
        assert present == {d["class"] + 1 for d in digits}


def test_a_scene_mask_is_the_ink_of_the_real_digit():
    from scripts.make_demo_data import digits
    from scripts.make_digit_scenes import INK_THRESHOLD, digit_ink

    images, _, labels = digits()
    test = open_dataset(SCENES)
    mask = test[3].mask()
    for d in sources()["test", name(test, 3)]:
        x, y, w, h = d["x"], d["y"], d["width"], d["height"]
        assert labels[d["digit_index"]] == d["class"]
        expected = np.where(digit_ink(images[d["digit_index"]], h, w) >= INK_THRESHOLD, d["class"] + 1, 0)
        np.testing.assert_array_equal(mask[y : y + h, x : x + w], expected)


def test_scene_tags_are_the_same_scenes_with_their_digits_as_tags():
    placed = sources()
    for split in ("train", "test"):
        tags, scenes = open_dataset(TAGS, split=split), open_dataset(SCENES, split=split)
        assert tags.task == "multilabel" and tags.classes == CLASSES[1:]
        assert [name(scenes, i) for i in range(len(scenes))] == tags.sample_ids
        for index in (0, len(tags) // 2, len(tags) - 1):
            digits = {d["class"] for d in placed[split, tags.sample_ids[index]]}
            assert set(tags[index].labels) == digits
            assert tags[index].path.read_bytes() == scenes[index].path.read_bytes()


def test_the_scenes_are_rebuilt_identically(tmp_path):
    from scripts.make_digit_scenes import write_demos

    write_demos({"train": 3, "test": 3}, tmp_path)
    for split in ("train", "test"):
        for name in ("0000.png", "0002.png"):
            for kind in ("images", "masks"):
                assert (tmp_path / "scenes" / kind / split / name).read_bytes() == (
                    SCENES / kind / split / name
                ).read_bytes()


def test_the_demos_are_small():
    total = sum(p.stat().st_size for folder in (SCENES, TAGS) for p in folder.rglob("*") if p.is_file())
    assert total < 5_000_000


# -- the models -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("card_file", "folder"), [("scenes_unet.json", SCENES), ("scene_tags_cnn.json", TAGS)])
def test_bundled_card_loads_and_matches_its_dataset(card_file, folder):
    from core.models.loading import build_model
    from core.models.weights import file_sha256

    card = load_card(BUNDLED_MODELS / card_file)
    dataset = open_dataset(RESOURCES.parent / card.dataset)
    assert RESOURCES.parent / card.dataset == folder
    assert card.classes == dataset.classes and card.task == dataset.task
    assert card in cards_for(dataset.classes, dataset.task)
    assert file_sha256(card.weights_path) == card.sha256
    assert card.weights_path.stat().st_size < 2 * 1024 * 1024
    assert card.metrics["split"] == "test" and card.metrics["test_images"] == len(dataset)
    assert not build_model(card).training


def _outputs(card, dataset):
    import torch

    from core.models.loading import build_model

    model = build_model(card)
    images = [sample.image() for sample in dataset]
    out = []
    with torch.no_grad():
        for start in range(0, len(images), EVAL_BATCH):
            batch = torch.from_numpy(np.stack([card.preprocess(im) for im in images[start : start + EVAL_BATCH]]))
            logits = model(batch)
            out.append(logits.argmax(1).numpy() if card.task == "segmentation" else torch.sigmoid(logits).numpy())
    return np.concatenate(out)


def test_bundled_unet_reaches_its_card_figure_on_the_held_out_scenes(tmp_path):
    from core.inference import run_to_end
    from core.inference.segmentation import SegmentationJob
    from core.metrics import SegmentationConfusion

    card = load_card(BUNDLED_MODELS / "scenes_unet.json")
    dataset = open_dataset(RESOURCES.parent / card.dataset, split="test")
    predicted = _outputs(card, dataset)
    confusion = SegmentationConfusion(len(CLASSES))
    for index, mask in enumerate(predicted):
        confusion.update(dataset[index].mask(), mask.astype(np.uint8))
    report = confusion.report()
    assert report["mean_iou"] >= 0.7
    assert abs(report["mean_iou"] - card.metrics["test_mean_iou"]) <= 1e-9
    np.testing.assert_allclose(report["iou"], [card.metrics["test_iou"][c] for c in CLASSES], atol=1e-9)
    # The app's own job gives the same masks and the same figure.
    job = SegmentationJob(card, dataset, device="cpu", batch_size=EVAL_BATCH, run_dir=tmp_path)
    preds = run_to_end(job)
    assert abs(preds.report()["mean_iou"] - card.metrics["test_mean_iou"]) <= 1e-9
    np.testing.assert_array_equal(preds.mask(5), predicted[5])


def test_bundled_tagger_reaches_its_card_figure_on_the_held_out_scenes():
    from core.inference import InferenceJob, run_to_end
    from core.metrics import multilabel_report

    card = load_card(BUNDLED_MODELS / "scene_tags_cnn.json")
    dataset = open_dataset(RESOURCES.parent / card.dataset, split="test")
    scores = _outputs(card, dataset)
    micro_f1 = multilabel_report(dataset.tags, scores, threshold=card.metrics["threshold"])["micro"]["fbeta"]
    assert micro_f1 >= 0.8
    assert abs(micro_f1 - card.metrics["test_micro_f1"]) <= 1e-9
    preds = run_to_end(InferenceJob(card, dataset, device="cpu", batch_size=EVAL_BATCH, num_workers=0))
    report = multilabel_report(dataset.tags, preds.scores, threshold=card.metrics["threshold"])
    assert abs(report["micro"]["fbeta"] - card.metrics["test_micro_f1"]) <= 1e-9
