"""Embeddings captured by the jobs (``embeddings=True``): the rows of a real run equal the features computed by
hand, cancel and resume fill every row once, a failed run leaves no file, the segmenter's pooled bottleneck
(resized and tiled), a model that gives none is refused with its reason, the registry and RunSettings pass the
setting through. Real bundled models on the demos (read only); everything is written under tmp_path."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from core import tasks
from core.datasets import open_dataset
from core.datasets.base import Dataset
from core.inference import InferenceJob, Progress, run_to_end
from core.inference.embeddings import EmbeddingStore
from core.inference.segmentation import SegmentationJob
from core.models.cards import RESOURCES, ModelCard, ModelError
from core.models.loading import build_model, resolve_model
from core.models.smallcnn import SmallCNN
from core.models.unet import UNet
from core.tasks.run_settings import RunPlan

DEMO = RESOURCES / "demo"


@pytest.fixture(scope="module")
def digits():
    return open_dataset(DEMO / "digits", split="test")


def digit_features(model, dataset, card, indices) -> np.ndarray:
    """What the digits CNN's head reads, computed by hand from the images."""
    x = torch.stack([torch.from_numpy(card.preprocess(dataset[i].image())) for i in indices])
    with torch.no_grad():
        return model.pool(model.features(x)).flatten(1).numpy()


def classifier_job(dataset, path: Path, model=None, **kwargs) -> InferenceJob:
    card = resolve_model("digits-cnn")
    return tasks.job_for(
        card, dataset, device="cpu", batch_size=64, num_workers=0, model=model, embeddings=True,
        embeddings_path=path, **kwargs,
    )  # fmt: skip


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def run_batches(job, count: int) -> list[Progress]:
    """``count`` batches of ``job``, then stop as the GUI's cancel does (close the generator)."""
    gen = job.run()
    steps = list(itertools.islice(gen, count))
    gen.close()
    return steps


# -- classifiers ------------------------------------------------------------------------------------------
def test_a_runs_rows_are_the_features_its_head_reads(digits, tmp_path):
    job = classifier_job(digits, tmp_path / "embeddings.npy")
    assert job.embeddings is None  # not before the run is complete
    run_to_end(job)
    rows = job.embeddings
    assert isinstance(rows, np.memmap) and rows.dtype == np.float16 and rows.shape == (len(digits), 64)
    assert not rows.flags.writeable and job.predictions.done.all()
    assert files_in(tmp_path) == ["embeddings.npy"]  # no temporary file left beside it
    np.testing.assert_array_equal(EmbeddingStore.open(tmp_path / "embeddings.npy"), rows)
    some = [0, 1, 63, 64, 200, len(digits) - 1]  # across batch borders
    expected = digit_features(build_model(job.card), digits, job.card, some)
    np.testing.assert_allclose(rows[some].astype(np.float32), expected, atol=2e-3, rtol=2e-3)


def test_without_a_path_the_rows_go_to_a_temporary_file(digits):
    job = tasks.job_for(resolve_model("digits-cnn"), digits, device="cpu", num_workers=0, embeddings=True)
    run_to_end(job)
    assert job.embeddings.shape == (len(digits), 64) and job.embeddings_path.is_file()
    job.embeddings_path.unlink()
    job.embeddings_path.parent.rmdir()


def test_the_temporary_file_is_removed_when_the_process_ends(tmp_path):
    """A run's default embeddings file goes into a temporary folder that the process removes as it exits (the
    window and `analyze` would otherwise leave N x D float16 behind at every run)."""
    import os
    import subprocess
    import sys

    script = (
        "from core import tasks; from core.datasets import open_dataset; from core.inference import run_to_end; "
        "from core.models.loading import resolve_model; from core.models.cards import RESOURCES; "
        "ds = open_dataset(RESOURCES / 'demo' / 'digits', split='test'); "
        "job = tasks.job_for(resolve_model('digits-cnn'), ds, device='cpu', num_workers=0, embeddings=True); "
        "run_to_end(job); print(job.embeddings_path, job.embeddings.shape[0])"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    path, rows = done.stdout.split()
    assert Path(path).is_relative_to(tmp_path) and int(rows) == 360  # it was there while the process ran
    assert not Path(path).parent.exists() and not list(tmp_path.glob("cvlens-embeddings-*"))


def test_the_folder_of_the_path_is_made_when_missing(digits, tmp_path):
    job = classifier_job(digits, tmp_path / "not" / "yet" / "embeddings.npy")
    run_to_end(job)
    assert job.embeddings.shape == (len(digits), 64) and files_in(tmp_path / "not" / "yet") == ["embeddings.npy"]


def test_no_embeddings_unless_asked(digits):
    job = tasks.job_for(resolve_model("digits-cnn"), digits, device="cpu", num_workers=0)
    run_to_end(job)
    assert job.embeddings is None and job.embeddings_path is None and job.embedding_run is None


def test_cancel_and_resume_fill_every_row_once(digits, tmp_path):
    path = tmp_path / "embeddings.npy"
    job = classifier_job(digits, path)
    steps = run_batches(job, 2)
    assert steps[-1].done == 128
    assert job.embeddings is None and not path.exists()  # a cancelled run has no store in place yet
    np.testing.assert_array_equal(job.embedding_run.store.written, job.predictions.done)  # rows = predictions
    resumed: list[Progress] = []
    run_to_end(job, resumed.append)
    assert resumed[-1].total == len(digits) - 128  # each sample ran once in all
    whole = classifier_job(digits, tmp_path / "whole.npy")
    run_to_end(whole)
    np.testing.assert_allclose(job.embeddings.astype(np.float32), whole.embeddings.astype(np.float32), atol=2e-3)
    assert (np.abs(job.embeddings.astype(np.float32)).sum(axis=1) > 0).all()  # every row filled


class FailsOnce(nn.Module):
    """The digits CNN, failing at its second batch the first time round (a GPU that went away)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.calls = model, 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return self.model(x)


def test_a_failed_run_leaves_no_embeddings_and_a_resume_fills_every_row(digits, tmp_path):
    card = resolve_model("digits-cnn")
    job = classifier_job(digits, tmp_path / "embeddings.npy", model=FailsOnce(build_model(card)))
    with pytest.raises(ModelError, match="the GPU failed during the run"):
        run_to_end(job)
    assert job.predictions.num_done == 64  # the predictions before the failure are kept
    assert job.embeddings is None and files_in(tmp_path) == []  # no file, not even a temporary one
    resumed: list[Progress] = []
    run_to_end(job, resumed.append)
    assert resumed[-1].total == len(digits)  # the 64 done before are run again: their rows went with the store
    assert job.predictions.done.all() and job.embeddings.shape == (len(digits), 64)
    expected = digit_features(job._model.model, digits, card, [0, 70, 359])
    np.testing.assert_allclose(job.embeddings[[0, 70, 359]].astype(np.float32), expected, atol=2e-3, rtol=2e-3)


def test_a_model_without_embeddings_is_refused_with_its_reason(digits, tmp_path):
    scripted = torch.jit.script(build_model(resolve_model("digits-cnn")))
    job = classifier_job(digits, tmp_path / "embeddings.npy", model=scripted)
    with pytest.raises(ModelError, match="a TorchScript model gives no embeddings: its layers cannot be hooked"):
        run_to_end(job)
    assert files_in(tmp_path) == []
    plain = tasks.job_for(job.card, digits, device="cpu", num_workers=0, model=scripted)
    assert run_to_end(plain).done.all()  # without embeddings it runs


# -- segmenters -------------------------------------------------------------------------------------------
def test_the_segmenters_rows_are_its_bottleneck_pooled_per_image(tmp_path):
    scenes = open_dataset(DEMO / "scenes", split="test")
    card = resolve_model("scenes-unet")
    job = tasks.job_for(
        card, scenes, device="cpu", batch_size=16, num_workers=0, run_dir=tmp_path / "run", embeddings=True
    )
    run_to_end(job)
    assert job.embeddings_path == tmp_path / "run" / "embeddings.npy" and job.embeddings.shape == (len(scenes), 128)
    model = build_model(card)
    some = [0, 17, len(scenes) - 1]
    x = torch.stack([torch.from_numpy(card.preprocess(scenes[i].image())) for i in some])
    with torch.no_grad():
        features = x
        for level, block in enumerate(model.down):
            features = block(model.pool(features) if level else features)
    expected = features.mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(job.embeddings[some].astype(np.float32), expected, atol=2e-3, rtol=2e-3)


class Squares(Dataset):
    """Four in-memory images of different sizes with masks: enough to tile."""

    layout = "Squares (test fixture)"

    def __init__(self, sizes=((40, 40), (30, 52), (64, 33), (16, 16))) -> None:
        rng = np.random.default_rng(0)
        self.images = [rng.integers(0, 255, (h, w, 3)).astype(np.uint8) for h, w in sizes]
        super().__init__(
            Path("/squares"), task="segmentation", classes=["a", "b"], splits=[], split=None,
            sample_ids=[f"{i}.png" for i in range(len(sizes))],
        )  # fmt: skip

    def load_image(self, index: int) -> np.ndarray:
        return self.images[index]

    def load_mask(self, index: int) -> np.ndarray:
        return (self.images[index][..., 0] > 127).astype(np.uint8)


def small_unet() -> tuple[ModelCard, UNet]:
    torch.manual_seed(0)
    card = ModelCard(
        name="tiny-unet", architecture="unet", task="segmentation", classes=["a", "b"], input_size=(32, 32),
        channels=3, mean=[0.5] * 3, std=[0.25] * 3,
    )  # fmt: skip
    return card, UNet(3, 2, depth=2, width=4).eval()


def bottleneck(model: UNet, x: torch.Tensor) -> torch.Tensor:
    features = model._pad(x)
    for level, block in enumerate(model.down):
        features = block(model.pool(features) if level else features)
    return features.mean(dim=(2, 3))


def test_a_tiled_images_row_is_the_mean_of_its_tiles_rows(tmp_path):
    card, model = small_unet()
    data = Squares()
    job = SegmentationJob(
        card, data, device="cpu", batch_size=3, tile=24, overlap=8, run_dir=tmp_path, model=model, embeddings=True
    )
    run_to_end(job)
    assert job.embeddings.shape == (len(data), 16)  # width 4 * 2**2
    for index, image in enumerate(data.images):
        height, width = image.shape[:2]
        array = np.pad(job._normalise(image), ((0, 0), (0, max(24 - height, 0)), (0, max(24 - width, 0))))
        tiles = torch.from_numpy(np.stack([array[:, y : y + 24, x : x + 24] for y, x, *_ in job._tiles(height, width)]))
        with torch.no_grad():
            expected = bottleneck(model, tiles).half().float().mean(dim=0).numpy()
        np.testing.assert_allclose(job.embeddings[index].astype(np.float32), expected, atol=1e-3, rtol=1e-3)


def test_a_segmentation_run_cancelled_resumes_and_a_failed_one_leaves_no_file(tmp_path):
    card, model = small_unet()
    data = Squares()
    job = SegmentationJob(card, data, device="cpu", batch_size=2, run_dir=tmp_path / "a", model=model, embeddings=True)
    run_batches(job, 1)
    assert job.embeddings is None and not (tmp_path / "a" / "embeddings.npy").exists()
    resumed: list[Progress] = []
    run_to_end(job, resumed.append)
    assert resumed[-1].total == 2 and job.embeddings.shape == (4, 16)
    x = torch.stack([torch.from_numpy(card.preprocess(image)) for image in data.images])
    with torch.no_grad():
        np.testing.assert_allclose(job.embeddings.astype(np.float32), bottleneck(model, x).numpy(), atol=1e-3)

    failing = FailingUNet(3, 2, depth=2, width=4).eval()
    job = SegmentationJob(
        card, data, device="cpu", batch_size=2, run_dir=tmp_path / "b", model=failing, embeddings=True
    )
    with pytest.raises(ModelError, match="failed on a batch: out of luck"):
        run_to_end(job)
    assert job.predictions.num_done == 2  # the first batch's masks are kept, its rows are not
    assert not [p for p in (tmp_path / "b").iterdir() if "embeddings" in p.name]


class FailingUNet(UNet):
    """A U-Net whose second batch fails."""

    calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("out of luck")
        return super().forward(x)


def test_a_segmenter_without_a_bottleneck_is_refused_with_its_reason(tmp_path):
    card, _ = small_unet()
    convs = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 1)).eval()
    job = SegmentationJob(card, Squares(), device="cpu", run_dir=tmp_path, model=convs, embeddings=True)
    with pytest.raises(ModelError, match="no linear head and no known bottleneck"):
        run_to_end(job)


# -- the registry and the runner's settings ------------------------------------------------------------------
def test_run_settings_ask_for_embeddings_and_a_run_without_them_is_not_resumed_with_them(tmp_path):
    plan = RunPlan()
    plan.set_dataset(open_dataset(DEMO / "digits"))
    card = next(offer.card for offer in plan.offers if offer.card.name == "digits-cnn")
    plain = plan.settings(card, device="cpu")
    assert plain.embeddings is False
    job = plan.job_for(plain, num_workers=0)
    run_batches(job, 1)
    wanted = plan.settings(card, device="cpu", embeddings=True)
    assert not plan.resumes(wanted)  # its first batch has no rows
    job = plan.job_for(wanted, num_workers=0, embeddings_path=tmp_path / "e.npy")
    assert job.embedding_run is not None
    run_batches(job, 1)
    assert plan.resumes(plan.settings(card, device="cpu", embeddings=True))
    run_to_end(job)
    assert job.embeddings.shape == (len(plan.dataset), 64)


# -- ONNX ---------------------------------------------------------------------------------------------------
class DigitsWithFeatures(nn.Module):
    """A digits classifier exported with its embedding as a second output."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = SmallCNN(1, 10, width=4).eval()

    def forward(self, x):
        features = self.net.pool(self.net.features(x)).flatten(1)
        return self.net.head(features), features


def onnx_card(tmp_path: Path, model: nn.Module, names: list[str]) -> ModelCard:
    path = tmp_path / "model.onnx"
    torch.onnx.export(model, (torch.zeros(1, 1, 32, 32),), str(path), input_names=["x"], output_names=names,
                      dynamic_axes={"x": {0: "n"}, **{n: {0: "n"} for n in names}}, dynamo=False)  # fmt: skip
    return resolve_model(path, classes=[str(d) for d in range(10)])


def test_an_onnx_models_embedding_output_is_stored(digits, tmp_path):
    source = DigitsWithFeatures().eval()
    card = onnx_card(tmp_path, source, ["logits", "embedding"])
    job = tasks.job_for(card, digits, device="cpu", num_workers=0, embeddings=True, embeddings_path=tmp_path / "e.npy")
    run_to_end(job)
    assert job.embeddings.shape == (len(digits), 16)
    x = torch.stack([torch.from_numpy(card.preprocess(digits[i].image())) for i in (0, 200)])
    with torch.no_grad():
        expected = source(x)[1].numpy()
    np.testing.assert_allclose(job.embeddings[[0, 200]].astype(np.float32), expected, atol=2e-3, rtol=2e-3)


def test_an_onnx_model_without_an_embedding_output_is_refused_with_its_reason(digits, tmp_path):
    card = onnx_card(tmp_path, DigitsWithFeatures().net, ["logits"])
    job = tasks.job_for(card, digits, device="cpu", num_workers=0, embeddings=True, embeddings_path=tmp_path / "e.npy")
    with pytest.raises(ModelError, match="this ONNX model gives no embeddings: it has no output named 'embedding'"):
        run_to_end(job)
