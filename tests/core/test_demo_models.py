"""The bundled demo datasets and models: they open, they load, and they score what their cards claim.

The accuracy is recomputed here with a plain torch loop and ``card.preprocess``, independently of
the training script, so a card whose figure no longer matches its weights (or a preprocess change
that breaks the bundled models) fails the test.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from core.datasets import open_dataset
from core.models.cards import BUNDLED_MODELS, RESOURCES, ModelCard, cards_for, load_card, trained_split

DEMO = RESOURCES / "demo"
DIGIT_CLASSES = [str(d) for d in range(10)]


def _indices(dataset) -> list[int]:
    """The source index each sample was exported from (its file name)."""
    return [int(re.fullmatch(r"(\d{4})\.png", sid.rsplit("/", 1)[-1]).group(1)) for sid in dataset.sample_ids]


@pytest.mark.parametrize(
    ("name", "task", "classes", "total"),
    [("digits", "multiclass", DIGIT_CLASSES, 1797), ("faces", "binary", ["face", "non-face"], 200)],
)
def test_demo_dataset_opens_with_its_classes_and_a_disjoint_split(name, task, classes, total):
    train = open_dataset(DEMO / name, split="train")
    test = open_dataset(DEMO / name, split="test")
    for dataset in (train, test):
        assert dataset.task == task
        assert dataset.classes == classes
        assert sorted(dataset.splits) == ["test", "train"]
    assert len(train) + len(test) == total
    # Every source image is in exactly one split, and the split is stratified (80/20 in every class).
    assert sorted(_indices(train) + _indices(test)) == list(range(total))
    ratio = test.class_counts() / (train.class_counts() + test.class_counts())
    assert np.all(np.abs(ratio - 0.2) < 0.03)
    # The evaluation split is the default one.
    assert open_dataset(DEMO / name).split == "test"


def test_digit_files_trace_back_to_load_digits():
    from sklearn.datasets import load_digits

    source = load_digits()
    test = open_dataset(DEMO / "digits", split="test")
    for position in (0, len(test) // 2, len(test) - 1):
        sample = test[position]
        index = _indices(test)[position]
        assert sample.label == source.target[index]
        expected = np.round(source.images[index] * 255 / 16).astype(np.uint8)
        np.testing.assert_array_equal(sample.image()[:, :, 0], expected)


@pytest.mark.parametrize("name", ["digits", "faces", "digits_noisy"])
def test_bundled_card_loads_and_matches_its_dataset(name):
    from core.models.loading import build_model
    from core.models.weights import file_sha256

    card = load_card(BUNDLED_MODELS / f"{name}_cnn.json")
    dataset = open_dataset(RESOURCES.parent / card.dataset, split="test")
    assert card.classes == dataset.classes and card.task == dataset.task
    assert card in cards_for(dataset.classes, dataset.task)
    assert card.weights_path.is_file() and file_sha256(card.weights_path) == card.sha256
    assert card.weights_path.stat().st_size < 2 * 1024 * 1024
    assert card.metrics["split"] == "test" and card.metrics["test_samples"] == len(dataset)
    model = build_model(card)  # verifies the checksum and that the state_dict fits exactly
    assert not model.training


def _test_accuracy(card: ModelCard) -> float:
    import torch

    from core.models.loading import build_model

    model = build_model(card)
    dataset = open_dataset(RESOURCES.parent / card.dataset, split="test")
    correct = 0
    with torch.no_grad():
        for start in range(0, len(dataset), 128):
            samples = [dataset[i] for i in range(start, min(start + 128, len(dataset)))]
            batch = torch.from_numpy(np.stack([card.preprocess(s.image()) for s in samples]))
            predicted = model(batch).argmax(dim=1).tolist()
            correct += sum(p == s.label for p, s in zip(predicted, samples))
    return correct / len(dataset)


@pytest.mark.parametrize(("name", "floor"), [("digits", 0.97), ("faces", 0.85), ("digits_noisy", 0.93)])
def test_bundled_model_scores_what_its_card_records(name, floor):
    card = load_card(BUNDLED_MODELS / f"{name}_cnn.json")
    measured = _test_accuracy(card)
    assert measured >= floor
    # Plain absolute tolerance: pytest.approx would also allow a relative 1e-6.
    assert abs(measured - card.metrics["test_accuracy"]) <= 1e-9


def test_the_bundled_models_say_which_split_they_were_trained_on():
    digits, scenes = open_dataset(DEMO / "digits"), open_dataset(DEMO / "scenes")
    digits_cnn, unet = load_card(BUNDLED_MODELS / "digits_cnn.json"), load_card(BUNDLED_MODELS / "scenes_unet.json")
    assert trained_split(digits_cnn, digits) == "train" and trained_split(unet, scenes) == "train"
    assert trained_split(digits_cnn, digits, "test") == "test"  # the user's word wins
    assert trained_split(digits_cnn, open_dataset(DEMO / "faces")) is None  # another dataset: nothing says
    unet.training = {**unet.training, "split": "fit"}  # a card's split is of its own dataset, not of another
    assert trained_split(unet, open_dataset(DEMO / "faces")) is None
    unet.dataset = None  # a card that names no dataset: its split is believed
    assert trained_split(unet, open_dataset(DEMO / "faces")) == "fit"
