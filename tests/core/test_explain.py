"""Saliency maps (core.explain) on the bundled models and the digit-scene demos: the maps point at the digit
that the scene masks locate, for the U-Net (a class region) and the multilabel tagger (a tag); the digits
classifier's maps are images of the right size and range that depend on the class asked; torchvision networks
work by name and as loaded modules; models without gradients are refused with a message."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.datasets import open_dataset
from core.explain import METHODS, explainable, saliency, saliency_maps
from core.explain.maps import to_image
from core.models.cards import RESOURCES, ModelCard, ModelError
from core.models.loading import build_model, resolve_model
from core.models.smallcnn import SmallCNN

DEMO = RESOURCES / "demo"
SAMPLES = 20  # scenes measured per model


@pytest.fixture(scope="module")
def scenes():
    return open_dataset(DEMO / "scenes", split="test")


@pytest.fixture(scope="module")
def scene_tags():
    return open_dataset(DEMO / "scene_tags", split="test")


def mass_ratio(salience: np.ndarray, inside: np.ndarray) -> float:
    """The share of the map's mass inside a region over the region's share of the image (1: no preference)."""
    return float(salience[inside].sum() / salience.sum() / inside.mean())


def first_digit(mask: np.ndarray) -> int:
    return int(next(c for c in np.unique(mask) if c not in (0, 255)))


def check_map(salience: np.ndarray, shape: tuple[int, int]) -> None:
    assert salience.shape == shape and salience.dtype == np.float32
    assert salience.min() >= 0.0 and salience.max() == pytest.approx(1.0)


# -- the maps point at the object -------------------------------------------------------------------------
@pytest.mark.slow
def test_segmenter_maps_of_a_digits_region_concentrate_on_that_digit(scenes):
    model = explainable("scenes-unet")
    ratios = []
    for index in range(SAMPLES):
        mask = scenes[index].mask()
        digit = first_digit(mask)
        salience = saliency(model, scenes[index].image(), digit)
        check_map(salience, mask.shape)
        ratios.append(mass_ratio(salience, mask == digit))
    print(f"scenes-unet gradcam mass ratio over {SAMPLES} scenes: mean {np.mean(ratios):.1f}, min {min(ratios):.1f}")
    assert np.mean(ratios) > 10 and min(ratios) > 3


@pytest.mark.slow
def test_multilabel_maps_of_a_tag_concentrate_on_that_digit(scenes, scene_tags):
    model = explainable("scene-tags-cnn")
    assert model.layer_name == "features" and not model.segmenter
    ratios = []
    for index in range(SAMPLES):
        mask = scenes[index].mask()  # the tag demo holds the same scenes, in the same order
        digit = first_digit(mask)
        assert digit - 1 in scene_tags[index].labels  # class 0 of the scenes is the background
        salience = saliency(model, scene_tags[index].image(), digit - 1)
        ratios.append(mass_ratio(salience, mask == digit))
    ratios = np.array(ratios)
    summary = f"mean {ratios.mean():.2f}, median {np.median(ratios):.2f}, min {ratios.min():.2f}"
    print(f"scene-tags-cnn gradcam mass ratio over {SAMPLES} scenes: {summary}")
    assert ratios.mean() > 2.5 and (ratios > 1).all()


def test_a_given_mask_is_the_region_explained(scenes):
    """Two digits of one scene, each given by its true mask: each map weighs most on its own digit."""
    index = next(i for i in range(len(scenes)) if len(set(np.unique(scenes[i].mask())) - {0, 255}) >= 2)
    mask, image = scenes[index].mask(), scenes[index].image()
    first, second = sorted(set(np.unique(mask).tolist()) - {0, 255})[:2]
    maps = saliency_maps("scenes-unet", image, [first, second], masks=[mask == first, mask == second])
    assert mass_ratio(maps[0], mask == first) > mass_ratio(maps[0], mask == second)
    assert mass_ratio(maps[1], mask == second) > mass_ratio(maps[1], mask == first)


def test_a_segmenter_needs_a_class(scenes):
    with pytest.raises(ValueError, match="class index"):
        saliency("scenes-unet", scenes[0].image(), None)


# -- the digits classifier ------------------------------------------------------------------------------
def test_digit_maps_have_the_images_size_and_depend_on_the_class():
    digits = open_dataset(DEMO / "digits", split="test")
    image = digits[0].image()
    model = explainable("digits-cnn")
    predicted, other = saliency_maps(model, image, [None, (digits[0].label + 5) % 10])
    check_map(predicted, image.shape[:2])
    check_map(other, image.shape[:2])
    assert np.abs(predicted - other).mean() > 0.05
    gray = saliency(model, image[:, :, 0], None)  # an H x W gray image as readers give grayscale
    np.testing.assert_allclose(gray, predicted, atol=1e-5)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_gives_a_map(method):
    image = open_dataset(DEMO / "digits", split="test")[3].image()
    check_map(saliency("digits-cnn", image, 3, method=method), image.shape[:2])


def test_an_unknown_method_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"gradcam\+\+.*eigencam"):
        saliency("digits-cnn", np.zeros((8, 8), np.uint8), 0, method="gradcam+++")


def test_a_class_outside_the_model_is_refused():
    with pytest.raises(ValueError, match="from 0 to 9"):
        saliency("digits-cnn", np.zeros((8, 8), np.uint8), 10)


def test_the_weights_get_no_gradients_and_stay_trainable():
    card = resolve_model("digits-cnn")
    module = build_model(card)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    saliency(module, np.zeros((8, 8), np.uint8), 1, card=card)
    assert all(p.grad is None and p.requires_grad for p in module.parameters())
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


# -- layers ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "layer"),
    [
        (lambda: __import__("torchvision").models.resnet18(weights=None), "layer4"),
        (lambda: __import__("torchvision").models.vgg11(weights=None), "avgpool"),  # pools to 7 x 7: still spatial
        (lambda: __import__("torchvision").models.mobilenet_v3_small(weights=None), "features"),
        (lambda: SmallCNN(3, 10, width=8), "features"),
    ],
)
def test_the_layer_read_is_the_last_with_a_spatial_output(build, layer):
    assert explainable(build().eval()).layer_name == layer


def test_the_unets_layer_is_its_last_decoder_step_not_its_logits():
    assert explainable("scenes-unet").layer_name == "up.2"


def test_the_layer_can_be_named_and_an_unknown_name_is_refused():
    model = torch.nn.Sequential(SmallCNN(3, 4, width=8)).eval()
    image = np.random.default_rng(0).integers(0, 255, (40, 30, 3), dtype=np.uint8)
    default = saliency(model, image, 1)
    named = saliency(model, image, 1, layer="0.features.1")
    check_map(named, (40, 30))
    assert not np.allclose(default, named)
    with pytest.raises(ModelError, match=r"no layer 'head\.9'"):
        saliency(model, image, 1, layer="head.9")


# -- torchvision networks ----------------------------------------------------------------------------------
def test_a_torchvision_network_by_name_reads_its_weights_from_torchs_cache(tmp_path, monkeypatch):
    """The weights file is put where a download leaves it (random weights: no network here)."""
    import torchvision

    from core.models import zoo

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    entry = zoo.zoo_entry("mobilenet_v3_small")
    entry.cached_path.parent.mkdir(parents=True)
    torch.save(torchvision.models.mobilenet_v3_small(weights=None).state_dict(), entry.cached_path)
    image = np.random.default_rng(1).integers(0, 255, (120, 180, 3), dtype=np.uint8)
    salience = saliency("mobilenet_v3_small", image, 281)
    check_map(salience, (120, 180))
    # the card's centre crop: the strips on the left and right that the network never sees are 0
    assert salience[:, :10].max() == 0 and salience[:, -10:].max() == 0


def test_a_loaded_torchvision_network_without_its_card():
    import torchvision

    model = torchvision.models.resnet18(weights=None, num_classes=5).eval()
    image = np.random.default_rng(2).integers(0, 255, (90, 150, 3), dtype=np.uint8)
    maps = saliency_maps(model, image, [0, 4], method="gradcam++")
    for salience in maps:
        check_map(salience, (90, 150))


def test_a_cards_crop_is_mapped_back_to_its_place_in_the_image():
    card = ModelCard("m", "x", "multiclass", ["a"], (4, 4), resize_size=4)
    cam = np.ones((4, 4), np.float32)
    out = to_image(card, cam, 8, 16)  # resized to 4 x 8, the crop is columns 2..5 of it: 4..11 of the image
    assert out[:, 5:11].min() == 1.0 and out[:, :3].max() == 0.0 and out[:, 13:].max() == 0.0


# -- models without gradients ---------------------------------------------------------------------------
def test_torchscript_and_onnx_models_are_refused_with_a_reason(tmp_path):
    scripted = torch.jit.script(SmallCNN(3, 2, width=8).eval())
    with pytest.raises(ModelError, match="torchscript model gives neither"):
        saliency(scripted, np.zeros((16, 16, 3), np.uint8), 0)
    card = ModelCard("m", "onnx", "multiclass", ["a", "b"], (16, 16), weights=str(tmp_path / "m.onnx"))
    with pytest.raises(ModelError, match="onnx model gives neither"):
        saliency(card, np.zeros((16, 16, 3), np.uint8), 0)


def test_a_saliency_map_loads_no_gui_toolkit():
    """grad-cam imports matplotlib.pyplot: drawing a map must still pull in no Qt (a backend picked on import)."""
    from tests.core.test_core_has_no_qt import SCRIPT, run

    script = SCRIPT.replace("print(len(names))", "") + (
        "import numpy as np\nfrom core.explain import saliency\n"
        "print(saliency('digits-cnn', np.zeros((8, 8), np.uint8), 0).shape)\n"
    )
    done = run(script)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["(8,", "8)"]


class ReluAfter(nn.Module):
    """A layer whose output the next step changes in place (as DenseNet's ``F.relu(features, inplace=True)``)."""

    def __init__(self, inplace: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8))
        self.fc = nn.Linear(8, 3)
        self.inplace = inplace

    def forward(self, x):
        features = F.relu(self.features(x), inplace=self.inplace)
        return self.fc(F.adaptive_avg_pool2d(features, 1).flatten(1))


def test_a_layer_changed_in_place_downstream_gives_the_map_of_its_own_output():
    image = np.random.default_rng(3).integers(0, 255, (20, 20, 3), dtype=np.uint8)
    maps = [saliency(ReluAfter(inplace).eval(), image, 1) for inplace in (True, False)]
    np.testing.assert_allclose(maps[0], maps[1], atol=1e-6)


def test_a_segmenters_default_region_is_the_pixels_it_predicts_as_the_class(scenes):
    card = resolve_model("scenes-unet")
    module = build_model(card)
    image = scenes[1].image()
    with torch.no_grad():
        predicted = module(torch.from_numpy(card.preprocess(image))[None]).argmax(dim=1)[0].numpy()
    digit = first_digit(predicted.astype(np.uint8))
    model = explainable(module, card=card)
    np.testing.assert_allclose(saliency(model, image, digit), saliency(model, image, digit, mask=predicted == digit))
    absent = next(c for c in range(1, 11) if not (predicted == c).any())  # no pixel: the class over the whole image
    np.testing.assert_allclose(saliency(model, image, absent), saliency(model, image, absent, mask=np.ones((64, 64))))
