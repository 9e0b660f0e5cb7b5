"""torchvision networks by name: cards from the weights' metadata, weights from torch's cache, downloads.

No weights can be downloaded here: the tests write random weights, in torchvision's own format and under
the file name of the weights' URL, into a temporary TORCH_HOME, as a real download would leave them.
"""

import hashlib

import cv2
import numpy as np
import pytest
import torch
import torchvision.models as tvm
from PIL import Image

from core.models import ModelError, zoo
from core.models.loading import build_model, resolve_model


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch cache; ``put(name, state)`` saves weights where torch.hub would."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def put(name: str, state: dict) -> None:
        target = zoo.zoo_entry(name).cached_path
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, target)

    return put


def image(height=150, width=200, seed=0) -> np.ndarray:
    """Smooth random content, as photographs are (pure noise makes bicubic overshoot and clip)."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 2)


def test_every_torchvision_network_is_offered_with_the_lectures_first():
    names = zoo.zoo_names()
    lecture = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
               "googlenet", "inception_v3", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]  # fmt: skip
    assert names[: len(lecture)] == lecture
    assert set(zoo.zoo_names("multiclass")) == set(tvm.list_models(module=tvm))
    assert set(zoo.zoo_names("segmentation")) == set(tvm.list_models(module=tvm.segmentation))
    for family in ("mobilenet_v3_small", "efficientnet_b0", "convnext_tiny", "vit_b_16", "regnet_y_400mf",
                   "densenet121", "fcn_resnet50", "deeplabv3_resnet50", "lraspp_mobilenet_v3_large"):  # fmt: skip
        assert family in names
    assert zoo.pretty_name("vgg16_bn") == "VGG-16 (BN)" and zoo.pretty_name("resnet152") == "ResNet-152"


@pytest.mark.parametrize(
    ("name", "crop", "resize", "interpolation"),
    [
        ("resnet50", 224, 232, "bilinear"),
        ("inception_v3", 299, 342, "bilinear"),
        ("efficientnet_b3", 300, 320, "bicubic"),
    ],
)
def test_a_card_takes_classes_and_preprocessing_from_the_weights(name, crop, resize, interpolation):
    card = zoo.zoo_card(name)
    weights = tvm.get_model_weights(name).DEFAULT
    assert card.architecture == f"torchvision:{name}" and card.task == "multiclass"
    assert card.classes == weights.meta["categories"] and card.num_classes == 1000
    assert card.input_size == (crop, crop) and card.resize_size == resize and card.interpolation == interpolation
    assert card.mean == [0.485, 0.456, 0.406] and card.std == [0.229, 0.224, 0.225]
    assert card.metrics["acc@1"] == weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]


@pytest.mark.parametrize("name", ["resnet18", "inception_v3", "efficientnet_b3"])
def test_card_preprocessing_gives_what_the_weights_transforms_give(name):
    """The reference is torchvision's evaluation as its reference scripts run it: transforms on PIL images."""
    card = zoo.zoo_card(name)
    picture = image()
    ours = card.preprocess(picture)
    theirs = tvm.get_model_weights(name).DEFAULT.transforms()(Image.fromarray(picture)).numpy()
    assert ours.shape == theirs.shape
    two_grey_levels = 2 / 255 / min(card.std) + 1e-6  # PIL's and torch's integer resamplers round apart
    differ = np.abs(ours - theirs) > 1e-5
    assert np.abs(ours - theirs).max() <= two_grey_levels and differ.mean() < 0.01


def test_plain_cards_keep_their_old_preprocessing():
    card = zoo.zoo_card("resnet18")
    card.resize_size, card.interpolation, card.input_size = None, "auto", (32, 32)
    assert card.preprocess(image()).shape == (3, 32, 32)


def test_segmenters_are_cards_with_their_voc_classes():
    fcn = zoo.zoo_card("fcn_resnet50")
    assert fcn.task == "segmentation" and fcn.classes[:2] == ["__background__", "aeroplane"] and fcn.num_classes == 21
    assert fcn.arch_kwargs == {"aux_loss": True} and fcn.input_size == (520, 520)
    assert zoo.zoo_card("lraspp_mobilenet_v3_large").arch_kwargs == {}  # LR-ASPP has no auxiliary head


def test_offline_without_cached_weights_the_message_names_the_file_and_the_folder(torch_home):
    card = zoo.zoo_card("resnet18")
    with pytest.raises(ModelError) as info:
        build_model(card)
    message = str(info.value)
    entry = zoo.zoo_entry("resnet18")
    assert entry.file_name in message and str(zoo.checkpoints_dir()) in message and entry.url in message


def test_cached_weights_are_read_from_torch_home(torch_home):
    torch.manual_seed(0)
    reference = tvm.resnet18().eval()
    torch_home("resnet18", reference.state_dict())
    model = build_model(resolve_model("resnet18"))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), reference(x), atol=1e-5)


def test_googlenet_weights_with_aux_heads_and_transform_input_run_in_eval_mode(torch_home):
    torch.manual_seed(0)
    reference = tvm.googlenet(aux_logits=True, transform_input=True, init_weights=False).eval()
    torch_home("googlenet", reference.state_dict())
    model = build_model(zoo.zoo_card("googlenet"))
    assert model.aux1 is None and model.aux2 is None and model.transform_input
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out = model(x)
        assert isinstance(out, torch.Tensor) and torch.allclose(out, reference(x), atol=1e-5)


def test_densenet_weights_with_torchvisions_old_key_names_load(torch_home):
    torch.manual_seed(0)
    reference = tvm.densenet121().eval()
    old_names = {}
    for key, value in reference.state_dict().items():  # the published file says "norm.1", not "norm1"
        for part in ("norm", "relu", "conv"):
            key = key.replace(f".{part}1.", f".{part}.1.").replace(f".{part}2.", f".{part}.2.")
        old_names[key] = value
    assert any(".norm.1." in key for key in old_names)
    torch_home("densenet121", old_names)
    model = build_model(zoo.zoo_card("densenet121"))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), reference(x), atol=1e-5)


def test_a_segmenter_loads_from_the_cache_and_returns_its_out_map(torch_home):
    torch.manual_seed(0)
    reference = tvm.segmentation.lraspp_mobilenet_v3_large(weights_backbone=None, num_classes=21).eval()
    torch_home("lraspp_mobilenet_v3_large", reference.state_dict())
    model = build_model(zoo.zoo_card("lraspp_mobilenet_v3_large"))
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))
    assert out["out"].shape == (1, 21, 64, 64)


def test_random_weights_need_no_file():
    card = zoo.zoo_card("mobilenet_v3_small", weights=None, num_classes=4)
    assert card.weights is None and card.classes == ["class 0", "class 1", "class 2", "class 3"]
    with torch.no_grad():
        assert build_model(card)(torch.randn(1, 3, 32, 32)).shape == (1, 4)


def _served(tmp_path, payload: bytes) -> tuple[str, str]:
    """A file:// URL of ``payload`` named with its hash prefix, as torchvision's URLs are."""
    prefix = hashlib.sha256(payload).hexdigest()[:8]
    source = tmp_path / "server" / f"weights-{prefix}.pth"
    source.parent.mkdir()
    source.write_bytes(payload)
    return source.as_uri(), source.name


def test_download_reports_progress_and_lands_atomically(tmp_path):
    payload = np.random.default_rng(0).bytes(3_000_000)
    url, name = _served(tmp_path, payload)
    seen = []
    path = zoo.fetch(url, tmp_path / "cache" / name, progress=lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == payload and [p.name for p in path.parent.iterdir()] == [name]
    assert len(seen) > 1 and seen[-1] == (len(payload), len(payload))


def test_weights_from_a_mirror_are_checked_against_torchvisions_hash(torch_home, tmp_path):
    url, _ = _served(tmp_path, b"not the real resnet18 weights")
    with pytest.raises(ModelError, match="checksum"):
        zoo.download_weights("resnet18", url=url)
    assert not zoo.zoo_entry("resnet18").cached_path.exists()
    torch_home("resnet18", tvm.resnet18().state_dict())  # already cached: nothing is fetched
    assert (
        zoo.download_weights("resnet18", url=(tmp_path / "nowhere").as_uri()) == zoo.zoo_entry("resnet18").cached_path
    )


def test_a_corrupted_or_cancelled_download_leaves_no_file(tmp_path):
    url, name = _served(tmp_path, b"x" * 3_000_000)
    (tmp_path / "server" / name).write_bytes(b"y" * 3_000_000)  # the server now sends other bytes
    with pytest.raises(ModelError, match="checksum"):
        zoo.fetch(url, tmp_path / "cache" / name)
    with pytest.raises(ModelError, match="cancelled"):
        zoo.fetch(url, tmp_path / "cache" / name, progress=lambda done, total: False)
    with pytest.raises(ModelError, match="cannot download"):
        zoo.fetch((tmp_path / "nowhere.pth").as_uri(), tmp_path / "cache" / "nowhere.pth")
    assert list((tmp_path / "cache").iterdir()) == []
