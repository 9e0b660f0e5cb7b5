"""Embeddings (core.inference.embeddings): the layer found for each architecture, the rows captured in a forward
pass equal the penultimate features computed by hand (bundled models, torchvision networks, an ONNX export, the
runner's own pass), the U-Net's pooled bottleneck, the memory-mapped store, and what capture costs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from core.datasets import open_dataset
from core.inference import InferenceJob, run_to_end
from core.inference.embeddings import (
    EmbeddingCapture,
    EmbeddingStore,
    embedding_layer,
    find_bottleneck,
    find_embedding_layer,
    no_embeddings_reason,
)
from core.models.cards import RESOURCES, ModelError
from core.models.fitting import empty_weights
from core.models.loading import build_model, resolve_model
from core.models.smallcnn import SmallCNN

DEMO = RESOURCES / "demo"


def tv(name: str, **kwargs) -> nn.Module:
    """A torchvision network with random weights; on the meta device (no memory, no initialisation) when only its
    structure is looked at."""
    with empty_weights():
        return torchvision.models.get_model(name, weights=None, **kwargs)


# -- the layer --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "kwargs", "layer", "dim"),
    [
        ("resnet18", {}, "fc", 512),
        ("resnet50", {}, "fc", 2048),
        ("vgg16", {}, "classifier.6", 4096),  # the last hidden layer's output, as VGG features are usually taken
        ("alexnet", {}, "classifier.6", 4096),
        ("inception_v3", {"aux_logits": True, "init_weights": False}, "fc", 2048),  # not AuxLogits.fc
        ("googlenet", {"aux_logits": True, "init_weights": False}, "fc", 1024),  # not aux2.fc2
        ("efficientnet_b0", {}, "classifier.1", 1280),  # Dropout, then Linear
        ("mobilenet_v2", {}, "classifier.1", 1280),
        ("mobilenet_v3_small", {}, "classifier.3", 1024),  # Linear, Hardswish, Dropout, Linear
        ("convnext_tiny", {}, "classifier.2", 768),
        ("vit_b_16", {}, "heads.head", 768),  # not the attention blocks' projections
    ],
)
def test_the_embedding_layer_of_torchvision_classifiers(name, kwargs, layer, dim):
    found_name, module = find_embedding_layer(tv(name, **kwargs))
    assert (found_name, module.in_features) == (layer, dim)


def test_the_bundled_classifiers_and_segmenter():
    digits, tags, unet = (build_model(resolve_model(n)) for n in ("digits-cnn", "scene-tags-cnn", "scenes-unet"))
    assert find_embedding_layer(digits)[0] == "head.2" and embedding_layer(digits).dim == 64
    assert find_embedding_layer(tags)[0] == "head.2"
    assert find_embedding_layer(unet) is None
    assert find_bottleneck(unet)[0] == "down.3"
    found = embedding_layer(unet)
    assert (found.name, found.reads, found.dim) == ("down.3", "pooled output", 128)  # width 16 * 2**3


def test_models_without_a_linear_head_or_bottleneck_give_none():
    squeezenet = tv("squeezenet1_0")  # its classifier is a convolution
    assert find_embedding_layer(squeezenet) is None and embedding_layer(squeezenet) is None
    assert "no linear head" in no_embeddings_reason(squeezenet)
    with pytest.raises(ModelError, match="no linear head"):
        EmbeddingCapture(squeezenet)
    scripted = torch.jit.script(SmallCNN(3, 2, width=4).eval())
    with pytest.raises(ModelError, match="TorchScript model gives no embeddings"):
        EmbeddingCapture(scripted)


# -- the rows ---------------------------------------------------------------------------------------------
def batch_of(dataset, card, count: int) -> torch.Tensor:
    return torch.stack([torch.from_numpy(card.preprocess(dataset[i].image())) for i in range(count)])


def captured(model, x, **kwargs) -> tuple[np.ndarray, torch.Tensor]:
    with torch.no_grad(), EmbeddingCapture(model, **kwargs) as capture:
        out = model(x)
    return capture.take(), out


def test_digit_rows_are_the_pooled_features_the_head_reads():
    card = resolve_model("digits-cnn")
    model = build_model(card)
    x = batch_of(open_dataset(DEMO / "digits", split="test"), card, 12)
    rows, out = captured(model, x)
    with torch.no_grad():
        by_hand = model.pool(model.features(x)).flatten(1)
        assert torch.allclose(model.head[2](by_hand), out, atol=1e-5)  # they are what the head reads
    assert rows.dtype == np.float16 and rows.shape == (12, 64)
    np.testing.assert_array_equal(rows, by_hand.half().numpy())


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "efficientnet_b0"])
def test_torchvision_rows_are_the_penultimate_features(name):
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None).eval()
    x = torch.randn(3, 3, 64, 64)
    rows, _ = captured(model, x)
    with torch.no_grad():
        if name == "resnet18":
            trunk = nn.Sequential(*list(model.children())[:-1])
            by_hand = trunk(x).flatten(1)
        else:
            by_hand = model.avgpool(model.features(x)).flatten(1)
            by_hand = model.classifier[:-1](by_hand)  # what comes before the last Linear (Dropout: identity in eval)
    np.testing.assert_array_equal(rows, by_hand.half().numpy())


def test_unet_rows_are_its_bottleneck_averaged_over_the_image():
    card = resolve_model("scenes-unet")
    model = build_model(card)
    x = batch_of(open_dataset(DEMO / "scenes", split="test"), card, 4)
    rows, out = captured(model, x)
    assert out.shape == (4, 11, 64, 64)
    with torch.no_grad():
        features = x
        for level, block in enumerate(model.down):
            features = block(model.pool(features) if level else features)
    np.testing.assert_array_equal(rows, features.mean(dim=(2, 3)).half().numpy())
    assert rows.shape == (4, 128)


def test_a_torchvision_segmenters_rows_are_its_backbone_pooled():
    torch.manual_seed(0)
    model = torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None).eval()
    x = torch.randn(2, 3, 64, 64)
    rows, _ = captured(model, x)
    with torch.no_grad():
        by_hand = model.backbone(x)["high"].mean(dim=(2, 3))
    assert embedding_layer(model).dim == 960
    np.testing.assert_array_equal(rows, by_hand.half().numpy())


def test_a_named_layer_is_read_instead():
    model = SmallCNN(3, 5, width=4).eval()
    x = torch.randn(2, 3, 32, 32)
    rows, _ = captured(model, x, layer="features.1")
    with torch.no_grad():
        by_hand = model.features[:2](x).mean(dim=(2, 3))
    np.testing.assert_array_equal(rows, by_hand.half().numpy())
    with pytest.raises(ModelError, match="no layer 'nope'"):
        EmbeddingCapture(model, layer="nope")


def test_each_pass_adds_rows_until_taken_and_a_cleared_pass_is_dropped():
    model = SmallCNN(3, 5, width=4).eval()
    with torch.no_grad(), EmbeddingCapture(model) as capture:
        model(torch.randn(3, 3, 16, 16))
        model(torch.randn(2, 3, 16, 16))
        assert capture.take().shape == (5, 16)
        model(torch.randn(4, 3, 16, 16))  # a pass that failed after the head read its input
        capture.clear()
        model(torch.randn(1, 3, 16, 16))
        assert capture.take().shape == (1, 16)
        assert capture.take().shape == (0, 16)
    model(torch.randn(1, 3, 16, 16))  # the hook is gone after the block
    assert capture.take().shape == (0, 16)


def test_the_runners_own_pass_yields_one_row_per_sample_in_order():
    """How the jobs will use it: the capture around the job's model, rows taken after the run."""
    card = resolve_model("digits-cnn")
    model = build_model(card)
    dataset = open_dataset(DEMO / "digits", split="test")
    job = InferenceJob(card, dataset, device="cpu", batch_size=64, num_workers=0, model=model)
    with EmbeddingCapture(model) as capture:
        run_to_end(job)
    rows = capture.take()
    assert rows.shape == (len(dataset), 64)
    x = batch_of(dataset, card, 5)
    with torch.no_grad():
        expected = model.pool(model.features(x)).flatten(1).half().numpy()
    np.testing.assert_allclose(rows[:5].astype(np.float32), expected.astype(np.float32), atol=2e-3, rtol=2e-3)


# -- ONNX -------------------------------------------------------------------------------------------------
class TwoOutputs(nn.Module):
    """A classifier exported with its embedding as a second output."""

    def __init__(self) -> None:
        super().__init__()
        self.net = SmallCNN(3, 4, width=4)

    def forward(self, x):
        features = self.net.pool(self.net.features(x)).flatten(1)
        return self.net.head(features), features


def export(model: nn.Module, path, names: list[str]):
    from core.models.checkpoints import load_onnx

    torch.onnx.export(model, (torch.zeros(1, 3, 16, 16),), str(path), input_names=["x"], output_names=names,
                      dynamic_axes={"x": {0: "n"}, **{n: {0: "n"} for n in names}}, dynamo=False)  # fmt: skip
    return load_onnx(path)


def test_an_onnx_models_embedding_output_is_captured(tmp_path):
    torch.manual_seed(0)
    source = TwoOutputs().eval()
    onnx_model = export(source, tmp_path / "m.onnx", ["logits", "embedding"])
    x = torch.randn(3, 3, 16, 16)
    with EmbeddingCapture(onnx_model) as capture:
        scores = onnx_model(x)
    assert capture.layer_name == "embedding" and capture.dim == 16
    with torch.no_grad():
        logits, features = source(x)
    assert torch.allclose(scores, logits, atol=1e-4)
    np.testing.assert_allclose(capture.take().astype(np.float32), features.numpy(), atol=2e-3, rtol=2e-3)
    onnx_model(x)  # the session is the model's own again
    assert capture.take().shape == (0, 16)


def test_an_onnx_model_without_one_says_so(tmp_path):
    onnx_model = export(SmallCNN(3, 4, width=4).eval(), tmp_path / "m.onnx", ["y"])
    assert "no output named 'embedding'" in no_embeddings_reason(onnx_model)
    with pytest.raises(ModelError, match="ONNX model gives no embeddings"):
        EmbeddingCapture(onnx_model)


# -- the store -------------------------------------------------------------------------------------------
def test_the_store_round_trips_blocks_written_in_any_order(tmp_path):
    rows = np.random.default_rng(0).normal(size=(10, 6)).astype(np.float16)
    path = tmp_path / "embeddings.npy"
    with EmbeddingStore(path, 10, 6) as store:
        store.write(np.array([9, 2, 5]), rows[[9, 2, 5]])
        store.write(0, rows[:2])
        store.write(np.array([3, 4, 6, 7, 8]), rows[[3, 4, 6, 7, 8]])
        assert not path.exists()  # only a complete store carries the name
        assert store.written.all()
    read = EmbeddingStore.open(path)
    assert isinstance(read, np.memmap) and read.dtype == np.float16
    np.testing.assert_array_equal(read, rows)
    with pytest.raises(ValueError, match="read-only"):
        read[0, 0] = 1
    assert [p.name for p in tmp_path.iterdir()] == ["embeddings.npy"]  # no temporary file left


def test_a_failed_job_leaves_the_previous_store_as_it_was(tmp_path):
    path = tmp_path / "embeddings.npy"
    with EmbeddingStore(path, 2, 3) as store:
        store.write(0, np.ones((2, 3), np.float16))
    with pytest.raises(RuntimeError), EmbeddingStore(path, 4, 3) as store:
        store.write(0, np.zeros((2, 3), np.float16))
        raise RuntimeError("cancelled")
    np.testing.assert_array_equal(EmbeddingStore.open(path), np.ones((2, 3), np.float16))
    assert [p.name for p in tmp_path.iterdir()] == ["embeddings.npy"]


def test_a_block_of_the_wrong_shape_is_refused(tmp_path):
    store = EmbeddingStore(tmp_path / "e.npy", 4, 3)
    with pytest.raises(ValueError, match="shape"):
        store.write(0, np.zeros((2, 4), np.float16))
    store.abort()
    assert list(tmp_path.iterdir()) == []


def test_capture_works_through_torch_compile():
    """The runner may compile the model (its ``compile`` option): a hook on the original layer that is there before
    the first compiled call is traced into the graph and fires."""
    model = SmallCNN(3, 5, width=4).eval()
    compiled = torch.compile(model, backend="eager")
    x = torch.randn(3, 3, 16, 16)
    with torch.inference_mode(), EmbeddingCapture(model) as capture:
        compiled(x)
        rows = capture.take()
        by_hand = model.pool(model.features(x)).flatten(1)
    np.testing.assert_array_equal(rows, by_hand.half().numpy())
