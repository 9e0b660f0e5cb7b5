"""The demo with planted faults (resources/demo/digits_noisy): rebuilt identically by its script, its record
(planted.json) true to its files, and its model the one CV Lens picks for it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.datasets import open_dataset
from core.models.cards import BUNDLED_MODELS, RESOURCES, cards_for, load_card, trained_split

DEMO = RESOURCES / "demo" / "digits_noisy"
FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "planted.json",
]


@pytest.fixture(scope="module")
def planted() -> dict:
    return json.loads((DEMO / "planted.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def splits() -> dict:
    return {split: open_dataset(DEMO, split=split) for split in ("train", "test")}


@pytest.fixture(scope="module")
def source():
    """scikit-learn's digits as the script reads them (8-bit)."""
    from scripts.make_demo_data import digits

    images, _, labels = digits()
    return images, labels


def test_the_script_rebuilds_the_demo_byte_for_byte(tmp_path):
    from scripts.make_noisy_demo import write_demo

    write_demo(tmp_path / "again")
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == sorted(FILES)
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (DEMO / name).read_bytes(), name


def test_the_demo_is_small_and_opens_as_an_mnist_layout(splits, planted):
    assert sum(p.stat().st_size for p in DEMO.iterdir()) < 150_000  # the PNG digits demo takes 7 MB on disk
    for split, dataset in splits.items():
        assert dataset.layout == "MNIST" and dataset.task == "multiclass" and dataset.splits == ["train", "test"]
        assert len(dataset) == planted["samples"][split] == len(planted["sources"][split])
        assert dataset.sample_ids[:2] == [f"{split}/00000", f"{split}/00001"]  # the ids planted.json names


def test_label_errors_are_wrong_labels_of_real_digits(splits, planted, source):
    images, labels = source
    train = splits["train"]
    row = {sid: i for i, sid in enumerate(train.sample_ids)}
    errors = planted["label_errors"]
    assert len(errors) == round(0.05 * 1437)  # 5% of the digits demo's training images
    assert len({e["sample_id"] for e in errors}) == len(errors)
    for error in errors:
        sample = train[row[error["sample_id"]]]
        assert sample.label == error["given"] != error["true"] == labels[error["source"]]
        np.testing.assert_array_equal(sample.image()[:, :, 0], images[error["source"]])
    # Every other digit keeps its own label: the faults are exactly those recorded.
    wrong = {e["sample_id"] for e in errors}
    sources = planted["sources"]["train"]
    for i in range(len(train)):
        if sources[i] is not None and train.sample_ids[i] not in wrong:
            assert train.targets[i] == labels[sources[i]]


def test_duplicates_copy_a_training_image_into_the_test_split(splits, planted):
    train, test = splits["train"], splits["test"]
    image = {sid: ds.load_image(i)[:, :, 0] for ds in (train, test) for i, sid in enumerate(ds.sample_ids)}
    pairs = planted["duplicates"]
    assert sum(p["exact"] for p in pairs) == 10 and sum(not p["exact"] for p in pairs) == 10
    for pair in pairs:
        changed = int((image[pair["train"]] != image[pair["test"]]).sum())
        assert changed == pair["pixels_changed"] == (0 if pair["exact"] else 3), pair
        assert train[train.sample_ids.index(pair["train"])].label == test[test.sample_ids.index(pair["test"])].label
    # No other two images are the same (an outlier planted in both splits would be an unrecorded leak).
    seen: dict[bytes, list[str]] = {}
    for sid, pixels in image.items():
        seen.setdefault(pixels.tobytes(), []).append(sid)
    exact = {frozenset((p["train"], p["test"])) for p in pairs if p["exact"]}
    assert {frozenset(ids) for ids in seen.values() if len(ids) > 1} == exact
    # Apart from the planted copies, every source digit is in exactly one split, as in the digits demo.
    copies = {test.sample_ids.index(p["test"]) for p in pairs}
    test_sources = [s for i, s in enumerate(planted["sources"]["test"]) if i not in copies]
    digits = [s for s in planted["sources"]["train"] + test_sources if s is not None]
    assert sorted(digits) == list(range(1797))


def test_outliers_are_no_digits(splits, planted):
    outliers = planted["outliers"]
    kinds = {(o["sample_id"].split("/")[0], o["what"]) for o in outliers}
    assert kinds == {(split, what) for split in ("train", "test") for what in ("noise", "blank", "shape", "letter")}
    assert sum(o["sample_id"].startswith("test/") for o in outliers) == 12
    for outlier in outliers:
        split, _ = outlier["sample_id"].split("/")
        dataset = splits[split]
        row = dataset.sample_ids.index(outlier["sample_id"])
        assert planted["sources"][split][row] is None and dataset[row].label == outlier["given"]


def test_the_noisy_model_is_the_demo_default_and_was_trained_on_train(splits):

    card = load_card(BUNDLED_MODELS / "digits_noisy_cnn.json")
    test = splits["test"]
    assert RESOURCES.parent / card.dataset == DEMO
    assert cards_for(test.classes, test.task)[0] == card  # what evaluate and analyze run without --model
    assert card.training["split"] == "train" and trained_split(card, test) == "train"
    assert card.training["train_samples"] == len(splits["train"])
    # digits-cnn saw these images with their true labels: it must not be this demo's model.
    assert card not in cards_for(open_dataset(RESOURCES / "demo" / "digits").classes, "multiclass")
