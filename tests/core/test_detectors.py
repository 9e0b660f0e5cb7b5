"""torchvision's detectors as cards, DetectionJob, and detector checkpoints (state_dict, TorchScript, ONNX).

No weights are downloaded: every network is built with ``weights=None, weights_backbone=None``, and the one
checkpoint in torch's cache is random weights written into a temporary TORCH_HOME. The detectors run here are
randomly initialised, small (MobileNetV3 at 64 pixels), on images of a few dozen pixels: their boxes mean
nothing, but they are the model's, and the job must record exactly those.
"""

import contextlib
import dataclasses
import json

import numpy as np
import pytest
import torch
import torchvision.models as tvm

from core.datasets.base import Dataset, SampleError
from core.inference.class_map import FitStatus, detector_fit, detector_labels
from core.inference.detection import DetectionJob
from core.inference.progress import run_to_end
from core.models import ModelError, zoo
from core.models.cards import ModelCard
from core.models.checkpoints import AmbiguousArchitecture, open_checkpoint
from core.models.detectors import as_detections, set_limits
from core.models.fitting import empty_weights
from core.models.loading import build_model

MOBILE = "fasterrcnn_mobilenet_v3_large_320_fpn"
SHAPES = ["circle", "square"]


class Shapes(Dataset):
    """A few small random images with one box each; ``broken`` samples fail to decode."""

    layout = "test shapes"

    def __init__(self, n=4, classes=SHAPES, broken=(), task="detection"):
        super().__init__(
            "/nonexistent/shapes", task=task, classes=classes, splits=[], split=None,
            sample_ids=[f"img{i}" for i in range(n)],
        )  # fmt: skip
        self.broken = set(broken)

    def load_image(self, index):
        if index in self.broken:
            raise SampleError(f"{self.sample_ids[index]}: not an image")
        rng = np.random.default_rng(index)
        return rng.integers(0, 256, (40 + 8 * (index % 3), 56, 3), dtype=np.uint8)

    def load_boxes(self, index):
        return np.array([[4, 4, 30, 30]], np.float32), np.array([index % 2], np.int64)


def tiny_detector(name=MOBILE, num_classes=3, seed=0):
    torch.manual_seed(seed)
    builder = tvm.get_model_builder(name)
    return builder(weights=None, weights_backbone=None, num_classes=num_classes, min_size=64, max_size=96).eval()


def tiny_card(name=MOBILE, classes=("__background__", *SHAPES)) -> ModelCard:
    card = zoo.zoo_card(name, None, num_classes=len(classes))
    return dataclasses.replace(card, classes=list(classes))


@pytest.fixture(scope="module")
def mobile():
    return tiny_detector()


def one_go(card, dataset, model, **kwargs):
    return run_to_end(DetectionJob(card, dataset, model=model, device="cpu", **kwargs))


def same_detections(a, b) -> None:
    assert a.done.tolist() == b.done.tolist() and a.errors == b.errors
    for i in range(len(a)):
        np.testing.assert_allclose(a.boxes[i], b.boxes[i], atol=1e-4)
        np.testing.assert_allclose(a.scores[i], b.scores[i], atol=1e-5)
        assert a.labels[i].tolist() == b.labels[i].tolist()


# -- cards and building ----------------------------------------------------------------------
NAMES = [
    "fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2", "fasterrcnn_mobilenet_v3_large_fpn", MOBILE,
    "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2", "fcos_resnet50_fpn", "ssd300_vgg16",
    "ssdlite320_mobilenet_v3_large", "maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2", "keypointrcnn_resnet50_fpn",
]  # fmt: skip


def test_the_zoo_offers_every_detector_by_task():
    assert set(zoo.zoo_names("detection")) | set(zoo.zoo_names("instance_segmentation")) == set(NAMES)
    assert zoo.zoo_names("instance_segmentation") == ["maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2"]
    assert all(zoo.is_zoo_name(name) for name in NAMES) and zoo.is_zoo_name(f"torchvision:{MOBILE}")


@pytest.mark.parametrize("name", NAMES)
def test_a_detector_card_has_its_weights_categories_and_task(name):
    card = zoo.zoo_card(name)
    weights = tvm.get_model_weights(name).DEFAULT
    categories = weights.meta["categories"]
    assert card.architecture == f"torchvision:{name}"
    assert card.task == ("instance_segmentation" if name.startswith("maskrcnn") else "detection")
    assert card.classes[0] == "__background__" and card.classes[1:] == categories[1:]  # index = label id
    assert card.weights_path.name == weights.url.rsplit("/", 1)[-1]
    assert card.metrics["box_map"] == weights.meta["_metrics"]["COCO-val2017"]["box_map"]
    if name == "keypointrcnn_resnet50_fpn":
        assert card.classes == ["__background__", "person"]  # its weights call label 0 "no person"
    else:
        assert len(card.classes) == 91 and "N/A" in card.classes and card.classes[1] == "person"


@pytest.mark.parametrize(
    ("name", "side", "mean"),
    [(MOBILE, 320, [0.485, 0.456, 0.406]), ("ssd300_vgg16", 300, [0.48235, 0.45882, 0.40784]),
     ("ssdlite320_mobilenet_v3_large", 320, [0.5, 0.5, 0.5]), ("fcos_resnet50_fpn", 800, [0.485, 0.456, 0.406])],
)  # fmt: skip
def test_a_detector_card_says_what_the_model_does_to_its_input(name, side, mean):
    card = zoo.zoo_card(name)
    assert card.input_size == (side, side) and card.mean == pytest.approx(mean)
    assert "at its own size, in [0, 1]" in card.description


@pytest.mark.parametrize("name", NAMES)
def test_each_detector_builds_without_weights_with_the_cards_classes(name, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # anything fetched would land here
    card = zoo.zoo_card(name, None, num_classes=4)
    assert card.classes == ["__background__", "class 1", "class 2", "class 3"] and card.weights is None
    # built on the meta device (no time spent initialising weights), but SSDlite, whose builder computes
    with contextlib.nullcontext() if name.startswith("ssdlite") else empty_weights():
        model = build_model(card)
        reference = tvm.get_model(name, weights=None, weights_backbone=None, num_classes=4).state_dict()
    assert isinstance(model, torch.nn.Module) and not model.training
    assert {k: v.shape for k, v in model.state_dict().items()} == {k: v.shape for k, v in reference.items()}
    assert not any(tmp_path.rglob("*.pth"))


def test_a_missing_weights_file_is_named_with_its_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    card = zoo.zoo_card("ssdlite320_mobilenet_v3_large")
    with pytest.raises(ModelError) as caught:
        build_model(card)
    message = str(caught.value)
    assert "ssdlite320_mobilenet_v3_large_coco-a79551df.pth" in message and str(tmp_path / "torch") in message


def test_weights_in_torchs_cache_are_loaded(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    name = "ssdlite320_mobilenet_v3_large"
    torch.manual_seed(1)
    reference = tvm.get_model(name, weights=None, weights_backbone=None).eval()
    target = zoo.zoo_entry(name).cached_path
    target.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), target)
    model = build_model(zoo.zoo_card(name))
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_a_scripted_detectors_losses_and_detections_are_told_apart():
    found = [{"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0)}]
    assert as_detections(({}, found)) is found and as_detections(found) is found
    with pytest.raises(TypeError):
        as_detections(torch.zeros(1, 10))


# -- fit and the label map ------------------------------------------------------------------
def test_a_detector_of_the_datasets_classes_fits_whatever_its_background():
    card = tiny_card(classes=("__background__", "square", "N/A", "circle"))
    assert detector_fit(card, Shapes()).fits
    assert detector_labels(card, SHAPES).tolist() == [-1, 1, -1, 0]


def test_a_detector_of_other_classes_needs_a_map_and_drops_what_is_not_mapped():
    card = tiny_card(classes=("__background__", "Circle", "triangle"))
    fit = detector_fit(card, Shapes())
    assert fit.status is FitStatus.NEEDS_CLASS_MAP and dict(fit.suggestion) == {"circle": "Circle"}
    assert detector_fit(card, Shapes(), {"circle": "Circle"}).fits
    assert detector_labels(card, SHAPES, {"circle": "Circle"}).tolist() == [-1, 0, -1]
    assert detector_fit(card, Shapes(), {"circle": "__background__"}).status is FitStatus.UNFIT
    unrelated = tiny_card(classes=("__background__", "cat", "dog"))
    assert detector_fit(unrelated, Shapes()).status is FitStatus.UNFIT
    with pytest.raises(ModelError):
        DetectionJob(card, Shapes(), model=object())


# -- the job ----------------------------------------------------------------------------------
def test_the_job_records_the_models_own_detections(mobile):
    dataset = Shapes(n=3)
    preds = one_go(tiny_card(), dataset, mobile, batch_size=2)
    assert preds.task == "detection" and preds.classes == SHAPES and preds.done.all() and not preds.errors
    assert mobile.roi_heads.score_thresh == 0.001  # the job asked for the low scores (torchvision keeps 0.05 up)
    with torch.inference_mode():
        for i in range(len(dataset)):
            image = dataset.load_image(i)
            assert preds.image_sizes[i].tolist() == list(image.shape[:2])
            theirs = mobile([torch.from_numpy(image).permute(2, 0, 1).float() / 255])[0]
            order = torch.argsort(theirs["scores"], descending=True, stable=True)
            assert len(preds.boxes[i]) == len(order) > 0
            np.testing.assert_allclose(preds.scores[i], theirs["scores"][order].numpy(), atol=1e-5)
            np.testing.assert_allclose(preds.boxes[i], theirs["boxes"][order].numpy(), atol=1e-3)
            assert preds.labels[i].tolist() == (theirs["labels"][order] - 1).tolist()  # label 1 = dataset class 0


def test_cancel_and_resume_give_what_one_go_gives(mobile):
    dataset = Shapes(n=3)
    whole = one_go(tiny_card(), dataset, mobile, batch_size=1)
    job = DetectionJob(tiny_card(), dataset, model=mobile, device="cpu", batch_size=1)
    run = job.run()
    first = next(run)
    run.close()  # the user pressed Cancel after the first image
    assert first.done == 1 and job.predictions.num_done == 1 and len(job.predictions.pending()) == 2
    same_detections(run_to_end(job), whole)


class Hungry(torch.nn.Module):
    """A detector that runs out of memory on more than one image at a time."""

    def __init__(self, detector):
        super().__init__()
        self.detector = detector

    def forward(self, images):
        if len(images) > 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.detector(images)


def test_out_of_memory_halves_the_batch_and_loses_nothing(mobile):
    dataset = Shapes(n=3)
    set_limits(mobile, 0.001, 100)  # the wrapper hides the detector's settings from the job
    job = DetectionJob(tiny_card(), dataset, model=Hungry(mobile), device="cpu", batch_size=2)
    preds = run_to_end(job)
    assert job.batch_size == 1 and "out of memory at 2 images per batch" in job.notes[0]
    same_detections(preds, one_go(tiny_card(), dataset, mobile))


def test_scores_below_the_threshold_and_beyond_the_maximum_are_cut(mobile):
    dataset = Shapes(n=2)
    few = one_go(tiny_card(), dataset, mobile, score_threshold=0.3, max_detections=5)
    for i in range(2):
        assert len(few.scores[i]) <= 5 and (few.scores[i] >= 0.3).all()


def test_an_image_that_cannot_be_decoded_is_its_error(mobile):
    preds = one_go(tiny_card(), Shapes(n=3, broken={1}), mobile)
    assert preds.errors == {1: "img1: not an image"} and preds.done.tolist() == [True, False, True]
    assert not len(preds.pending())


def test_detections_of_classes_left_out_of_the_map_are_dropped(mobile):
    dataset = Shapes(n=2, classes=["square", "triangle"])
    full = one_go(tiny_card(), Shapes(n=2), mobile)
    mapped = one_go(tiny_card(), dataset, mobile, class_map={"square": "square"})
    for i in range(2):
        squares = full.labels[i] == 1
        assert squares.any() and (mapped.labels[i] == 0).all()
        np.testing.assert_allclose(mapped.scores[i], full.scores[i][squares])


def test_mask_rcnn_masks_are_thresholded_and_run_length_encoded(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    model = tiny_detector("maskrcnn_resnet50_fpn")
    card = tiny_card("maskrcnn_resnet50_fpn")
    dataset = Shapes(n=1, task="instance_segmentation")
    preds = one_go(card, dataset, model, max_detections=10)
    assert preds.task == "instance_segmentation" and len(preds.masks[0]) == len(preds.boxes[0]) > 0
    with torch.inference_mode():
        image = torch.from_numpy(dataset.load_image(0)).permute(2, 0, 1).float() / 255
        theirs = model([image])[0]
    order = torch.argsort(theirs["scores"], descending=True, stable=True)[:10]
    expected = (theirs["masks"][order, 0] > 0.5).numpy()
    assert np.array_equal(preds.image_masks(0), expected)
    saved = preds.save(tmp_path / "run.npz")
    assert np.array_equal(type(preds).load(saved).image_masks(0), expected)


# -- localization -----------------------------------------------------------------------------
class Localizer(torch.nn.Module):
    """One box (fractions of the image) and class logits per image, as a dict."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
        self.box = torch.nn.Linear(4, 4)
        self.head = torch.nn.Linear(4, 2)

    def boxes(self, f):
        corner = torch.sigmoid(self.box(f)) / 2
        return torch.cat([corner[:, :2], corner[:, :2] + 0.5], dim=1)

    def forward(self, x):
        f = self.features(x)
        return {"boxes": self.boxes(f), "class_scores": self.head(f)}


class PairLocalizer(Localizer):
    """The same as a pair (boxes, logits)."""

    def forward(self, x):
        f = self.features(x)
        return self.boxes(f), self.head(f)


LOCAL_CARD = ModelCard(
    name="localizer", architecture="torchscript", task="localization", classes=SHAPES, input_size=(24, 24)
)


@pytest.mark.parametrize("as_pair", [False, True])
def test_a_localizer_gives_one_box_in_pixels_and_the_class_scores(as_pair):
    torch.manual_seed(0)
    model = (PairLocalizer if as_pair else Localizer)().eval()
    dataset = Shapes(n=3, task="localization")
    preds = one_go(LOCAL_CARD, dataset, model)
    for i in range(3):
        image = dataset.load_image(i)
        with torch.inference_mode():
            out = model(torch.from_numpy(LOCAL_CARD.preprocess(image))[None])
        boxes, logits = (out["boxes"], out["class_scores"]) if isinstance(out, dict) else out
        height, width = image.shape[:2]
        np.testing.assert_allclose(preds.boxes[i][0], boxes[0].numpy() * [width, height, width, height], rtol=1e-5)
        probabilities = torch.softmax(logits[0], 0).numpy()
        np.testing.assert_allclose(preds.class_scores[i], probabilities, rtol=1e-5)
        assert preds.labels[i].tolist() == [int(probabilities.argmax())]
        assert preds.scores[i][0] == pytest.approx(probabilities.max())


def test_a_scripted_localizer_is_recognised(tmp_path):
    path = tmp_path / "localizer.pt"
    torch.jit.script(Localizer().eval()).save(str(path))
    card = open_checkpoint(path, classes=SHAPES)
    assert (card.task, card.classes, card.architecture) == ("localization", SHAPES, "torchscript")
    preds = one_go(card, Shapes(n=2, task="localization"), None)
    assert preds.done.all() and all(len(b) == 1 for b in preds.boxes)


# -- checkpoints ------------------------------------------------------------------------------
def test_a_detector_state_dict_is_recognised_with_its_class_count(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(0)
    model = tvm.get_model("ssdlite320_mobilenet_v3_large", weights=None, weights_backbone=None, num_classes=3).eval()
    path = tmp_path / "shapes-ssd.pth"
    torch.save({"model": model.state_dict()}, path)
    (tmp_path / "shapes-ssd.classes.json").write_text(json.dumps(SHAPES))
    card = open_checkpoint(path)
    assert card.architecture == "torchvision:ssdlite320_mobilenet_v3_large" and card.task == "detection"
    assert card.classes == ["__background__", *SHAPES]  # the sidecar names the objects, label 0 is the background
    assert card.input_size == (320, 320) and card.mean == [0.5, 0.5, 0.5]
    built = build_model(card)
    for key, value in model.state_dict().items():
        assert torch.equal(built.state_dict()[key], value), key


def test_detectors_that_differ_only_in_their_settings_are_left_to_the_user(tmp_path, mobile):
    path = tmp_path / "mobile.pt"
    torch.save(mobile.state_dict(), path)
    with pytest.raises(AmbiguousArchitecture) as caught:
        open_checkpoint(path)
    assert set(caught.value.candidates) == {f"torchvision:{MOBILE}", "torchvision:fasterrcnn_mobilenet_v3_large_fpn"}
    card = open_checkpoint(path, architecture=MOBILE)
    assert card.classes == ["__background__", "class 1", "class 2"] and card.task == "detection"


def test_a_scripted_detector_runs_as_the_model_it_was(tmp_path, mobile):
    path = tmp_path / "mobile-scripted.pt"
    set_limits(mobile, 0.001, 100)  # what the job asks of the eager model below
    torch.jit.script(mobile).save(str(path))
    card = open_checkpoint(path, classes=SHAPES)
    assert (card.architecture, card.task, card.classes) == ("torchscript", "detection", ["__background__", *SHAPES])
    dataset = Shapes(n=2)
    same_detections(one_go(card, dataset, None), one_go(tiny_card(), dataset, mobile))


def test_an_exported_onnx_detector_follows_the_convention(tmp_path, mobile):
    path = tmp_path / "mobile.onnx"
    image = torch.rand(3, 48, 56)
    set_limits(mobile, 0.05, 100)  # torchvision's default threshold, kept in the graph
    torch.onnx.export(
        mobile, ([image],), str(path), dynamo=False, opset_version=17, input_names=["image"],
        output_names=["boxes", "labels", "scores"], dynamic_axes={"image": [1, 2]},  # torchvision's dict order
    )  # fmt: skip
    with pytest.raises(ModelError, match=r"mobile\.classes\.json"):
        open_checkpoint(path)
    (tmp_path / "mobile.classes.json").write_text(json.dumps(["__background__", *SHAPES]))
    card = open_checkpoint(path)
    assert (card.architecture, card.task, card.classes) == ("onnx", "detection", ["__background__", *SHAPES])
    dataset = Shapes(n=2)
    ours, theirs = one_go(card, dataset, None), one_go(tiny_card(), dataset, mobile, score_threshold=0.05)
    for i in range(2):  # the exported graph keeps the threshold it was exported with
        np.testing.assert_allclose(ours.scores[i], theirs.scores[i], atol=1e-4)
        np.testing.assert_allclose(ours.boxes[i], theirs.boxes[i], atol=1e-2)


def hand_built_onnx(path, height="h", width="w"):
    """An instance segmenter by the convention: two fixed boxes, and as masks the image's red and green."""
    import onnx
    from onnx import TensorProto, helper

    boxes = helper.make_tensor("boxes_value", TensorProto.FLOAT, [2, 4], [1, 2, 10, 12, 0, 0, 5, 5])
    nodes = [
        helper.make_node("Constant", [], ["boxes"], value=boxes),
        helper.make_node("Constant", [], ["scores"], value=helper.make_tensor("s", TensorProto.FLOAT, [2], [0.9, 0.4])),
        helper.make_node("Constant", [], ["labels"], value=helper.make_tensor("l", TensorProto.INT64, [2], [1, 2])),
        helper.make_node("Constant", [], ["starts"], value=helper.make_tensor("a", TensorProto.INT64, [1], [0])),
        helper.make_node("Constant", [], ["ends"], value=helper.make_tensor("b", TensorProto.INT64, [1], [2])),
        helper.make_node("Constant", [], ["axes"], value=helper.make_tensor("c", TensorProto.INT64, [1], [1])),
        helper.make_node("Slice", ["image", "starts", "ends", "axes"], ["red_green"]),  # 1 x 2 x H x W
        helper.make_node("Transpose", ["red_green"], ["masks"], perm=[1, 0, 2, 3]),  # 2 x 1 x H x W
    ]
    graph = helper.make_graph(
        nodes, "convention",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, height, width])],
        [helper.make_tensor_value_info("masks", TensorProto.FLOAT, [2, 1, height, width]),
         helper.make_tensor_value_info("labels", TensorProto.INT64, [2]),
         helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [2, 4]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, [2])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_an_onnx_instance_segmenter_gives_named_outputs_in_any_order(tmp_path):
    path = tmp_path / "segmenter.onnx"
    hand_built_onnx(path)
    card = open_checkpoint(path, classes=["__background__", *SHAPES])
    assert (card.task, card.architecture) == ("instance_segmentation", "onnx")
    dataset = Shapes(n=2, task="instance_segmentation")
    preds = one_go(card, dataset, None)
    for i in range(2):
        image = dataset.load_image(i)
        assert preds.boxes[i].tolist() == [[1, 2, 10, 12], [0, 0, 5, 5]] and preds.labels[i].tolist() == [0, 1]
        np.testing.assert_allclose(preds.scores[i], [0.9, 0.4])
        expected = np.stack([image[..., 0], image[..., 1]]).astype(np.float32) / 255 > 0.5
        assert np.array_equal(preds.image_masks(i), expected)


def test_an_onnx_detector_of_fixed_sides_gets_its_boxes_scaled_back(tmp_path):
    path = tmp_path / "fixed.onnx"
    hand_built_onnx(path, height=20, width=28)
    card = open_checkpoint(path, classes=["__background__", *SHAPES])
    preds = one_go(card, Shapes(n=1, task="instance_segmentation"), None)  # the image is 40 x 56: twice the sides
    assert preds.boxes[0].tolist() == [[2, 4, 20, 24], [0, 0, 10, 10]]
    assert preds.image_masks(0).shape == (2, 40, 56)
