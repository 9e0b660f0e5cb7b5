"""The user's own model files: every format, recognised from its content, read as data, refused when it is code."""

import json
import pickle

import numpy as np
import pytest
import torch
import torchvision.models as tvm

from core import tasks
from core.datasets import open_dataset
from core.inference import InferenceJob, run_to_end
from core.inference.class_map import FitStatus, check_fit, map_classes
from core.models import ModelCard, ModelError, load_card, networks
from core.models.checkpoints import (
    AmbiguousArchitecture,
    KeySignature,
    checkpoint_format,
    open_checkpoint,
    recognise,
    save_card,
    signatures,
)
from core.models.loading import build_model, resolve_model
from core.models.smallcnn import SmallCNN
from core.models.unet import UNet
from tests.fake_datasets import write_flat_colour_folder


def same_outputs(card: ModelCard, reference, size=(32, 32), channels=3) -> bool:
    torch.manual_seed(1)
    x = torch.randn(2, channels, *size)
    with torch.no_grad():
        return torch.allclose(build_model(card)(x), reference.eval()(x), atol=1e-4)


@pytest.fixture(scope="module")
def mobilenet():
    torch.manual_seed(0)
    return tvm.mobilenet_v3_small(num_classes=7).eval()


@pytest.mark.parametrize("wrapping", ["plain", "state_dict", "model+module.", "safetensors"])
def test_a_torchvision_state_dict_is_recognised_with_its_class_count(tmp_path, mobilenet, wrapping):
    state = mobilenet.state_dict()
    path = tmp_path / "net.pt"
    if wrapping == "plain":
        torch.save(state, path)
    elif wrapping == "state_dict":
        torch.save({"state_dict": state, "epoch": 12, "best_acc": 0.9}, path)
    elif wrapping == "model+module.":  # DataParallel's prefix, nested under "model"
        torch.save({"model": {f"module.{k}": v for k, v in state.items()}, "optimizer": {}}, path)
    else:
        save_file = pytest.importorskip("safetensors.torch").save_file  # an optional extra

        path = tmp_path / "net.safetensors"
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    card = open_checkpoint(path)
    assert card.architecture == "torchvision:mobilenet_v3_small" and card.task == "multiclass"
    assert card.classes == [f"class {i}" for i in range(7)]
    # defaults shown to the user: torchvision's own eval transform for that network
    assert card.input_size == (224, 224) and card.resize_size == 256 and card.mean == [0.485, 0.456, 0.406]
    assert same_outputs(card, mobilenet)


def test_a_resnet_with_a_custom_head_and_old_batchnorm_counters_missing(tmp_path):
    torch.manual_seed(0)
    model = tvm.resnet18(num_classes=3)
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "resnet.pth")
    card = open_checkpoint(tmp_path / "resnet.pth")
    assert card.architecture == "torchvision:resnet18" and card.num_classes == 3
    assert same_outputs(card, model)


def test_inception_keeps_or_drops_its_aux_head_as_the_checkpoint_has_it(tmp_path):
    shapes = {k: tuple(v.shape) for k, v in tvm.inception_v3(num_classes=4, init_weights=False).state_dict().items()}
    with_aux = recognise({k: torch.empty(s, device="meta") for k, s in shapes.items()})
    assert with_aux.architecture == "torchvision:inception_v3" and with_aux.num_classes == 4
    assert with_aux.arch_kwargs["aux_logits"] and with_aux.arch_kwargs["transform_input"]
    no_aux = {k: torch.empty(s, device="meta") for k, s in shapes.items() if not k.startswith("AuxLogits")}
    assert recognise(no_aux).arch_kwargs["aux_logits"] is False


def test_vit_image_size_is_read_from_its_position_embedding():
    state = tvm.vit_b_32(num_classes=5, image_size=384).state_dict()
    found = recognise(state)
    assert found.architecture == "torchvision:vit_b_32" and found.arch_kwargs == {"image_size": 384}


def test_the_demo_smallcnn_and_a_unet_are_recognised_by_their_key_signatures(tmp_path, monkeypatch):
    torch.manual_seed(0)
    small = SmallCNN(in_channels=1, num_classes=10, width=4)
    torch.save(small.state_dict(), tmp_path / "small.pt")
    card = open_checkpoint(tmp_path / "small.pt")
    assert (card.architecture, card.channels, card.arch_kwargs, card.num_classes) == ("smallcnn", 1, {"width": 4}, 10)
    assert same_outputs(card, small, channels=1)

    architectures = networks.by_name()
    monkeypatch.setattr(networks, "by_name", lambda: {**architectures, "unet": UNet})
    unet = UNet(in_channels=3, num_classes=5, depth=3, width=4, bilinear=True)
    torch.save(unet.state_dict(), tmp_path / "unet.pt")
    card = open_checkpoint(tmp_path / "unet.pt")
    assert card.architecture == "unet" and card.task == "segmentation" and card.num_classes == 5
    assert card.arch_kwargs == {"width": 4, "depth": 3, "bilinear": True}
    assert same_outputs(card, unet)


def test_an_ambiguous_state_dict_names_the_candidates_and_the_choice_resolves_it(tmp_path, monkeypatch):
    class Twin(SmallCNN):
        """Another network with the very same tensors (it differs only in code)."""

    architectures = networks.by_name()
    monkeypatch.setattr(networks, "by_name", lambda: {**architectures, "twin": Twin})
    twin_line = KeySignature(
        "twin", "multiclass", ("features.0.0.weight", "head.2.weight"), signatures._smallcnn_kwargs
    )
    monkeypatch.setattr(signatures, "SIGNATURES", [*signatures.SIGNATURES, twin_line])  # adding a network is one line
    torch.save(SmallCNN(num_classes=2, width=4).state_dict(), tmp_path / "which.pt")
    with pytest.raises(AmbiguousArchitecture) as info:
        open_checkpoint(tmp_path / "which.pt")
    assert info.value.candidates == ["smallcnn", "twin"]
    assert open_checkpoint(tmp_path / "which.pt", architecture="twin").architecture == "twin"


def test_an_unknown_architecture_names_the_closest_networks(tmp_path):
    state = tvm.resnet18(num_classes=3).state_dict()
    state.pop("layer4.1.conv2.weight")
    state["my_extra_head.weight"] = torch.zeros(3, 512)
    torch.save(state, tmp_path / "odd.pt")
    with pytest.raises(ModelError, match=r"does not know; the closest are resnet18 \(9\d% of tensors alike\)"):
        open_checkpoint(tmp_path / "odd.pt")
    with pytest.raises(ModelError, match="do not fit torchvision:resnet34"):
        open_checkpoint(tmp_path / "odd.pt", architecture="resnet34")


def test_class_names_come_from_a_sidecar_and_must_match_the_head(tmp_path):
    torch.save(SmallCNN(num_classes=3, width=4).state_dict(), tmp_path / "pets.pt")
    (tmp_path / "classes.txt").write_text("cat\ndog\nbird\n")
    assert open_checkpoint(tmp_path / "pets.pt").classes == ["cat", "dog", "bird"]
    (tmp_path / "pets.classes.txt").write_text("cat\ndog\n")
    with pytest.raises(ModelError, match=r"has 3 outputs, but pets\.classes\.txt has 2 class names"):
        open_checkpoint(tmp_path / "pets.pt")
    with pytest.raises(ModelError, match="has 3 outputs, but the list given has 4 class names"):
        open_checkpoint(tmp_path / "pets.pt", classes=["a", "b", "c", "d"])


def test_an_edited_card_is_saved_beside_the_weights_and_read_back(tmp_path):
    torch.save(SmallCNN(in_channels=1, num_classes=2, width=4).state_dict(), tmp_path / "digits.pt")
    card = open_checkpoint(tmp_path / "digits.pt", classes=["zero", "one"])
    card.input_size, card.mean, card.std = (32, 32), [0.3], [0.3]
    path = save_card(card)
    assert path == tmp_path / "digits.json"
    data = json.loads(path.read_text())
    assert data["weights"] == "digits.pt" and data["sha256"] and data["input_size"] == [32, 32]
    again = resolve_model(tmp_path / "digits.pt")  # the card beside the weights wins
    assert again.classes == ["zero", "one"] and again.input_size == (32, 32) and again.mean == [0.3]
    assert build_model(again) is not None
    with pytest.raises(ModelError, match="does not replace it"):
        save_card(card)
    save_card(card, overwrite=True)


def test_torchscript_is_loaded_and_its_classes_probed(tmp_path):
    torch.manual_seed(0)
    model = SmallCNN(in_channels=3, num_classes=4, width=4).eval()
    torch.jit.script(model).save(str(tmp_path / "scripted.pt"))
    assert checkpoint_format(tmp_path / "scripted.pt") == "torchscript"
    card = open_checkpoint(tmp_path / "scripted.pt")
    assert card.architecture == "torchscript" and card.num_classes == 4 and card.channels == 3
    assert same_outputs(card, model)


def test_a_pickled_module_is_refused_with_the_way_out(tmp_path):
    torch.save(SmallCNN(num_classes=2, width=4), tmp_path / "whole.pt")
    with pytest.raises(ModelError, match=r"never runs code.*state_dict\(\).*TorchScript or ONNX"):
        open_checkpoint(tmp_path / "whole.pt")


class Trap:
    """A pickle that would create a file if it were ever unpickled with code allowed."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".bin"])
def test_a_checkpoint_that_would_run_code_is_refused_never_executed(tmp_path, suffix):
    target = tmp_path / "touched"
    with open(tmp_path / f"evil{suffix}", "wb") as handle:
        pickle.dump({"state_dict": {"conv.weight": Trap(target)}}, handle)
    with pytest.raises(ModelError, match="never runs code"):
        resolve_model(tmp_path / f"evil{suffix}")
    assert not target.exists()


def test_a_file_that_is_no_model_says_so(tmp_path):
    (tmp_path / "notes.pt").write_text("my notes, not weights")
    with pytest.raises(ModelError, match="not a model checkpoint"):
        open_checkpoint(tmp_path / "notes.pt")
    pytest.importorskip("onnxruntime")
    (tmp_path / "broken.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match="not an ONNX model"):
        open_checkpoint(tmp_path / "broken.onnx")


@pytest.mark.parametrize("batch", ["dynamic", "fixed"])
def test_onnx_export_runs_in_onnxruntime_with_the_same_outputs(tmp_path, batch):
    pytest.importorskip("onnx")  # the exporter's, and onnxruntime: optional extras
    pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = SmallCNN(in_channels=3, num_classes=5, width=4).eval()
    axes = {"x": {0: "n"}, "y": {0: "n"}} if batch == "dynamic" else None
    torch.onnx.export(model, (torch.zeros(1, 3, 32, 32),), str(tmp_path / "m.onnx"), input_names=["x"],
                      output_names=["y"], dynamic_axes=axes, dynamo=False)  # fmt: skip
    card = open_checkpoint(tmp_path / "m.onnx")
    assert card.architecture == "onnx" and card.num_classes == 5 and card.input_size == (32, 32)
    onnx_model = build_model(card)
    assert "CPUExecutionProvider" in onnx_model.providers
    assert same_outputs(card, model)  # 2 images: a model exported for batches of 1 is fed one at a time


def test_onnx_model_runs_through_the_runner(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    root = write_flat_colour_folder(tmp_path / "data")
    model = SmallCNN(in_channels=3, num_classes=2, width=4).eval()
    torch.onnx.export(model, (torch.zeros(1, 3, 16, 16),), str(tmp_path / "m.onnx"), input_names=["x"],
                      dynamic_axes={"x": {0: "n"}}, dynamo=False)  # fmt: skip
    card = open_checkpoint(tmp_path / "m.onnx", classes=["a", "b"])
    preds = run_to_end(InferenceJob(card, open_dataset(root), device="cpu", num_workers=0))
    assert preds.num_done == 6 and np.allclose(preds.scores.sum(axis=1), 1, atol=1e-5)


def test_model_and_dataset_disagreements_are_refused_before_the_run(tmp_path):
    dataset = type("D", (), {"task": "multiclass", "classes": ["Dog", "cat"], "name": "pets", "num_classes": 2})()
    card = ModelCard(name="m", architecture="smallcnn", task="multiclass", classes=["cat", "dog", "bird"],
                     input_size=(16, 16))  # fmt: skip
    with pytest.raises(ModelError, match=r"predicts 3 classes.*has 2.*2 names are in both: map the classes"):
        check_fit(card, dataset)
    fit = tasks.fit(card, dataset)
    assert fit.status is FitStatus.NEEDS_CLASS_MAP and fit.suggestion == {"Dog": "dog", "cat": "cat"}
    check_fit(card, dataset, map_classes(card.classes, dataset.classes))
    assert tasks.fit(card, dataset, fit.suggestion).fits
    seg = ModelCard(name="s", architecture="unet", task="segmentation", classes=["bg", "fg"], input_size=(16, 16))
    fit = tasks.fit(seg, dataset)
    assert fit.status is FitStatus.WRONG_TASK and "segmentation model" in fit.reason
    with pytest.raises(ModelError, match="segmentation model"):
        tasks.job_for(seg, dataset)
    four = ModelCard(name="f", architecture="smallcnn", task="multiclass", classes=["Dog", "cat"],
                     input_size=(16, 16), channels=4)  # fmt: skip
    with pytest.raises(ModelError, match="4-channel"):
        check_fit(four, dataset)
    assert tasks.fit(four, dataset).status is FitStatus.UNFIT
    with pytest.raises(ModelError, match="no class name"):
        map_classes(["car", "bus"], dataset.classes)


def test_class_mapping_keeps_the_shared_classes_and_renormalises():
    mapping = map_classes(["cat", "dog", "bird", "golden_retriever"], ["Dog", "Golden Retriever", "horse", "cat"])
    assert mapping.sources == [[1], [3], [], [0]] and mapping.unmapped == ["horse"]
    scores = np.array([[0.1, 0.2, 0.5, 0.2]], dtype=np.float32)
    assert np.allclose(mapping.apply(scores), [[0.4, 0.4, 0.0, 0.2]])
    assert np.allclose(mapping.apply(scores, multilabel=True), [[0.2, 0.2, 0.0, 0.1]])


def test_a_card_path_a_bundled_name_and_a_torchvision_name_all_resolve(tmp_path):
    assert resolve_model("digits-cnn").name == "digits-cnn"
    assert resolve_model("resnet18").architecture == "torchvision:resnet18"
    assert resolve_model("torchvision:vgg16").classes[0] == "tench"
    card = resolve_model("digits-cnn")
    card.save(tmp_path / "copy.json")
    assert load_card(tmp_path / "copy.json").name == "digits-cnn"
    with pytest.raises(ModelError, match="torchvision network"):
        resolve_model("no-such-model")
