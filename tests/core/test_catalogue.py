"""The models the runner offers for a dataset, each with its Fit: the bundled cards on the demo datasets."""

from __future__ import annotations

import pytest

from core import tasks
from core.datasets import open_dataset
from core.models import bundled_cards, load_card
from core.tasks import FitStatus
from core.tasks.catalogue import Catalogue, offers, weights_missing
from tests.core.demo_copies import DEMO, renamed_digits, renamed_scenes


def names(listed) -> list[str]:
    return [offer.card.name for offer in listed]


def test_the_model_that_fits_comes_first_and_the_others_are_greyed_with_the_reason():
    digits = open_dataset(DEMO / "digits")
    listed = Catalogue().offers(digits)
    assert names(listed) == [
        "digits-cnn", "digits-noisy-cnn", "faces-cnn", "scene-detector", "scene-tags-cnn", "scenes-unet"
    ]  # fmt: skip
    first, *others = listed
    assert first.enabled and first.fit.fits and first.reason == "" and not first.needs_class_map
    for offer in others:
        assert not offer.enabled and offer.reason == tasks.fit(offer.card, digits).reason
    noisy, faces, detector, tags, scenes = (offer.fit for offer in others)
    assert noisy.status is FitStatus.UNFIT and "(0 - zero, 1 - one" in noisy.reason  # the same digits, named apart
    assert faces.status is FitStatus.UNFIT and "but digits has 10" in faces.reason  # binary: no name in common
    assert tags.status is scenes.status is detector.status is FitStatus.WRONG_TASK
    assert "multiclass dataset" in scenes.reason and "multiclass dataset" in detector.reason


def test_every_demo_dataset_is_offered_its_own_model():
    for folder, model in [("digits", "digits-cnn"), ("faces", "faces-cnn"), ("scene_tags", "scene-tags-cnn"),
                          ("scenes", "scenes-unet"), ("digits_noisy", "digits-noisy-cnn")]:  # fmt: skip
        listed = Catalogue().offers(open_dataset(DEMO / folder))
        assert [offer.card.name for offer in listed if offer.enabled] == [model], folder


def test_a_model_whose_classes_are_named_differently_is_offered_through_a_class_map(tmp_path):
    dataset = open_dataset(renamed_digits(tmp_path))
    assert "seven" in dataset.classes
    offer = Catalogue().offers(dataset)[0]
    assert offer.card.name == "digits-cnn" and offer.enabled and offer.needs_class_map
    assert offer.fit.suggestion == {name: name for name in dataset.classes if name != "seven"}
    assert "map the classes by name" in offer.fit.reason


def test_a_segmenter_with_other_names_gets_the_suggestion_of_the_names_in_common(tmp_path):
    dataset = open_dataset(renamed_scenes(tmp_path))
    offer = next(o for o in Catalogue().offers(dataset) if o.card.name == "scenes-unet")
    assert offer.enabled and offer.needs_class_map
    assert offer.fit.suggestion == {str(k): str(k) for k in range(10)}  # "sky" is not the model's "background"


def test_only_the_zoo_networks_that_run_are_listed():
    digits = open_dataset(DEMO / "digits")
    listed = offers(digits, [], zoo=bundled_cards())  # hundreds of networks: only those that run are worth a row
    assert names(listed) == ["digits-cnn"]


def test_models_the_user_opened_are_offered_after_the_bundled_ones_that_run(tmp_path):
    scenes = open_dataset(DEMO / "scenes")
    catalogue = Catalogue()
    opened = load_card(DEMO.parent / "models" / "digits_cnn.json")
    opened.name = "my-digits"
    catalogue.add_opened(opened)
    listed = catalogue.offers(scenes)
    assert names(listed)[0] == "scenes-unet" and names(listed)[-1] == "my-digits"
    assert not listed[-1].enabled and "segmentation dataset" in listed[-1].reason


def test_a_broken_bundled_card_leaves_the_others_offered_and_says_why(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    catalogue = Catalogue(bundled=lambda: [load_card(tmp_path / "broken.json")])
    catalogue.add_opened(load_card(DEMO.parent / "models" / "digits_cnn.json"))
    listed = catalogue.offers(open_dataset(DEMO / "digits"))
    assert names(listed) == ["digits-cnn"] and "broken.json" in catalogue.problem
    catalogue._bundled = bundled_cards
    catalogue.offers(open_dataset(DEMO / "digits"))
    assert catalogue.problem == ""


def test_no_dataset_no_offers():
    assert Catalogue().offers(None) == []


@pytest.mark.parametrize("present", [False, True])
def test_torchvision_weights_must_be_downloaded_until_they_are_in_the_cache(tmp_path, monkeypatch, present):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    from core.models import zoo

    card = zoo.zoo_card("resnet18")
    if present:
        card.weights_path.parent.mkdir(parents=True)
        card.weights_path.write_bytes(b"x")
    assert weights_missing(card) is not present
    assert not weights_missing(bundled_cards()[0])  # a bundled model is never downloaded
