"""What the sample view asks of core.explain: the card behind a run, the maps a sample calls for (predicted and
true class, tags, a class region), models loaded once, classes matched by name, and the heat layer."""

from __future__ import annotations

import dataclasses
import os
import shutil

import numpy as np
import pytest

from core.datasets import open_dataset
from core.explain.heat import FULL_AT, heat_rgba
from core.explain.runs import (
    NO_RUN,
    PREDICTED,
    PREDICTED_AND_TRUE,
    REGION,
    TAG,
    TRUE,
    MapSpec,
    ModelCache,
    card_for_run,
    classifier_specs,
    explain_sample,
    model_class,
    region_spec,
    tag_specs,
)
from core.models.cards import RESOURCES, ModelError, find_card, load_card

DIGITS = [str(d) for d in range(10)]


# -- which card -------------------------------------------------------------------------------------------
def test_without_a_run_there_is_no_card_and_the_error_says_what_to_do():
    with pytest.raises(ModelError, match=NO_RUN):
        card_for_run("")


def test_a_bundled_or_torchvision_model_is_found_by_the_name_its_run_carries():
    assert card_for_run("digits-cnn").architecture == "smallcnn"
    assert card_for_run("resnet18").architecture == "torchvision:resnet18"


def test_a_card_the_caller_knows_wins_over_a_bundled_one_of_another_name():
    opened = dataclasses.replace(find_card("digits-cnn"), name="my-checkpoint")
    assert card_for_run("my-checkpoint", [None, find_card("faces-cnn"), opened]) is opened


def test_a_model_found_nowhere_says_to_run_it_again():
    with pytest.raises(ModelError, match=r"not known any more.*Open it in the runner"):
        card_for_run("my-checkpoint-of-last-week")


def test_classes_are_matched_by_name_case_and_separators_aside():
    assert model_class(DIGITS, "7") == 7
    assert model_class(["Golden retriever", "tabby_cat"], "golden-retriever") == 0
    assert model_class(["Golden retriever", "tabby_cat"], "Tabby Cat") == 1
    assert model_class(DIGITS, "seven") is None


# -- which maps ---------------------------------------------------------------------------------------------
def test_a_wrong_prediction_asks_for_the_predicted_and_the_true_class():
    scores = np.linspace(0, 0.9, 10)
    specs = classifier_specs(DIGITS, 3, 5, scores)
    assert [(s.class_name, s.role) for s in specs] == [("3", PREDICTED), ("5", TRUE)]
    assert specs[0].caption == f"Predicted: 3 ({scores[3]:.1%})" and specs[1].caption == f"True: 5 ({scores[5]:.1%})"


def test_a_right_or_unlabeled_prediction_asks_for_one_map_and_an_unpredicted_sample_for_none():
    scores = np.full(10, 0.1)
    assert [s.role for s in classifier_specs(DIGITS, 4, 4, scores)] == [PREDICTED_AND_TRUE]
    assert [s.role for s in classifier_specs(DIGITS, 4, -1, scores)] == [PREDICTED]
    assert [s.role for s in classifier_specs(DIGITS, 4, None, scores)] == [PREDICTED]
    assert classifier_specs(DIGITS, -1, 4, scores) == []


def test_tags_come_predicted_first_most_confident_first_then_the_missed_ones():
    names = ["cat", "dog", "fox", "owl"]
    scores = np.array([0.7, 0.2, 0.95, 0.6])
    predicted, true = np.array([1, 0, 1, 1]), np.array([1, 1, 0, 0])
    specs = tag_specs(names, predicted, true, scores)
    assert [(s.class_name, s.note) for s in specs] == [
        ("fox", "predicted, not true"),
        ("cat", "predicted, true"),
        ("owl", "predicted, not true"),
        ("dog", "true, missed"),
    ]
    assert all(s.role == TAG for s in specs) and specs[1].caption == "Tag cat: predicted, true (0.70)"
    assert [s.note for s in tag_specs(names, None, true, None)] == ["true", "true"]  # before a run


def test_a_region_says_how_much_of_the_image_the_model_gives_the_class():
    predicted = np.zeros((10, 10), np.uint8)
    predicted[:5, :2] = 3
    spec = region_spec(["background", "a", "b", "c"], 3, predicted)
    assert spec.role == REGION and spec.score == pytest.approx(0.1)
    assert spec.caption == "Region of c, predicted on 10.0% of the image"


# -- loading once, drawing maps -------------------------------------------------------------------------------
def test_a_model_is_loaded_once_and_again_when_its_weights_change(tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(RESOURCES / "models", folder)
    card = load_card(folder / "digits_cnn.json")
    cache = ModelCache(size=1)
    first = cache.get(card)
    assert cache.get(card) is first and card in cache
    weights = folder / "digits_cnn.pt"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the user trained it again
    assert card not in cache and cache.get(card) is not first
    cache.get(find_card("faces-cnn"))  # one model kept: the digits' goes
    assert card not in cache


def test_the_maps_of_a_sample_come_in_spec_order_and_a_class_the_model_lacks_gets_a_note():
    dataset = open_dataset(RESOURCES / "demo" / "digits", split="test")
    image = dataset[0].image()
    card = find_card("digits-cnn")
    specs = [MapSpec("seven", PREDICTED), MapSpec("0", TRUE), MapSpec("6", TRUE)]
    result = explain_sample(ModelCache(), card, image, specs, "gradcam")
    assert result.maps[0] is None and "has no class 'seven'" in result.notes[0]
    assert [m.shape for m in result.maps[1:]] == [image.shape[:2]] * 2 and result.notes[1:] == ["", ""]
    assert result.layer == "features" and result.model == card.display_name
    assert not np.allclose(result.maps[1], result.maps[2])


def test_an_unknown_method_is_refused():
    dataset = open_dataset(RESOURCES / "demo" / "digits", split="test")
    with pytest.raises(ValueError, match="unknown saliency method"):
        explain_sample(ModelCache(), find_card("digits-cnn"), dataset[0].image(), [MapSpec("0", TRUE)], "magic")


def test_the_heat_layer_is_clear_where_the_model_did_not_look_and_red_where_it_did():
    cam = np.array([[0.0, FULL_AT / 2, FULL_AT, 1.0]], np.float32)
    rgba = heat_rgba(cam)
    assert rgba.shape == (1, 4, 4) and rgba.dtype == np.uint8
    assert list(rgba[0, :, 3]) == [0, 128, 255, 255]
    red, green, blue = (int(v) for v in rgba[0, 3, :3])
    assert red > 100 and red > 2 * blue and red > green  # turbo's top end: a dark red
    assert int(rgba[0, 0, 2]) > int(rgba[0, 0, 0])  # its bottom: blue


def test_the_layers_a_map_can_be_read_from_come_last_first_and_one_can_be_chosen():
    dataset = open_dataset(RESOURCES / "demo" / "digits", split="test")
    image, cache, card = dataset[0].image(), ModelCache(), find_card("digits-cnn")
    layers = cache.layers(card)
    assert layers[0] == "features" and layers.index("features.2") < layers.index("features.0")
    auto = explain_sample(cache, card, image, [MapSpec("0", TRUE)])
    chosen = explain_sample(cache, card, image, [MapSpec("0", TRUE)], layer="features.1")
    assert auto.layer == "features" and chosen.layer == "features.1" and chosen.layers == layers
    assert not np.allclose(auto.maps[0], chosen.maps[0])
    with pytest.raises(ModelError, match=r"no layer 'classifier\.9'"):
        explain_sample(cache, card, image, [MapSpec("0", TRUE)], layer="classifier.9")
