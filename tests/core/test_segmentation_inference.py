"""SegmentationJob: masks at the image's size, resize and tile paths against a plain forward pass, metrics
against torchmetrics, masks on disk read back, cancel/resume, per-sample errors, refusals."""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torchmetrics.functional.classification import multiclass_f1_score, multiclass_jaccard_index

from core import tasks
from core.datasets.base import Dataset, SampleError
from core.inference import mask_store as store_module
from core.inference import run_to_end
from core.inference.mask_store import nearest_indices
from core.inference.segmentation import SegmentationJob, load_run, tile_layout
from core.models.cards import ModelCard, ModelError
from core.models.unet import UNet

CLASSES = ["background", "red", "green"]


class Shapes(Dataset):
    """In-memory segmentation fixture: noisy images of several sizes whose mask is the dominant colour.

    Sample ``broken`` cannot be decoded; sample ``bad_mask`` has a mask one row short of its image.
    """

    layout = "Shapes (test fixture)"

    def __init__(self, sizes, seed=0, broken=None, bad_mask=None, classes=CLASSES) -> None:
        rng = np.random.default_rng(seed)
        self.images, self.masks = [], []
        for height, width in sizes:
            mask = np.zeros((height, width), dtype=np.uint8)
            for _ in range(3):
                y, x = rng.integers(0, height), rng.integers(0, width)
                mask[y : y + rng.integers(2, 9), x : x + rng.integers(2, 9)] = rng.integers(1, 3)
            mask[rng.random((height, width)) < 0.02] = 255  # a few ignored pixels
            image = rng.integers(0, 60, (height, width, 3)).astype(np.uint8)
            image[mask == 1, 0] += 180
            image[mask == 2, 1] += 180
            self.images.append(image)
            self.masks.append(mask)
        self.broken, self.bad_mask = broken, bad_mask
        super().__init__(
            Path("/shapes"),
            task="segmentation",
            classes=classes,
            splits=[],
            split=None,
            sample_ids=[f"{i:03d}.png" for i in range(len(sizes))],
        )

    def load_image(self, index: int) -> np.ndarray:
        if index == self.broken:
            raise SampleError(f"{self.sample_ids[index]}: cannot decode (truncated file)")
        return self.images[index]

    def load_mask(self, index: int) -> np.ndarray:
        return self.masks[index][:-1] if index == self.bad_mask else self.masks[index]


def card_for(classes=CLASSES, input_size=(32, 32)) -> ModelCard:
    return ModelCard(
        name="test-segmenter",
        architecture="unet",
        task="segmentation",
        classes=list(classes),
        input_size=input_size,
        channels=3,
        mean=[0.2, 0.2, 0.2],
        std=[0.3, 0.3, 0.3],
    )


def local_model(num_classes: int = 3, seed: int = 0) -> nn.Module:
    """Two 3x3 convolutions: each output pixel sees only the 5 x 5 pixels around it."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, num_classes, 3, padding=1)).eval()


def colour_model() -> nn.Module:
    """A 1x1 convolution that predicts "red" where R is high and "green" where G is (a decent segmenter)."""
    model = nn.Conv2d(3, 3, 1)
    with torch.no_grad():
        model.weight.zero_()
        model.weight[1, 0], model.weight[2, 1] = 4.0, 4.0
        model.bias[:] = torch.tensor([4.0, 0.0, 0.0])
    return model.eval()


def forward(model, card: ModelCard, image: np.ndarray, size=None) -> np.ndarray:
    """Softmax of a direct forward pass at ``size`` (default: the image's own size)."""
    size = image.shape[:2] if size is None else size
    from dataclasses import replace

    x = torch.from_numpy(replace(card, input_size=tuple(size)).preprocess(image))[None]
    with torch.no_grad():
        return torch.softmax(model(x), dim=1)[0].numpy()


@pytest.fixture
def shapes():
    return Shapes([(32, 32), (40, 27), (19, 61), (32, 32), (50, 45)])


def run_job(dataset, model, tmp_path, **kwargs):
    job = SegmentationJob(card_for(), dataset, device="cpu", run_dir=tmp_path / "run", model=model, **kwargs)
    return run_to_end(job)


# -- masks at the image's size, paths against a direct forward pass -----------------------------------
def test_resize_path_gives_masks_of_the_image_size_equal_to_a_direct_forward(shapes, tmp_path):
    model, card = local_model(), card_for()
    preds = run_job(shapes, model, tmp_path, batch_size=2)
    assert preds.complete and preds.num_done == len(shapes)
    for index in range(len(shapes)):
        image = shapes.images[index]
        mask = preds.mask(index)
        assert mask.shape == image.shape[:2]
        small = forward(model, card, image, size=card.input_size)
        # Each image pixel takes the model pixel under its centre: floor((y + 1/2) h / H), in exact fractions.
        rows = [int((Fraction(y) + Fraction(1, 2)) * 32 / image.shape[0]) for y in range(image.shape[0])]
        cols = [int((Fraction(x) + Fraction(1, 2)) * 32 / image.shape[1]) for x in range(image.shape[1])]
        np.testing.assert_array_equal(mask, small.argmax(0)[np.ix_(rows, cols)])
        # The stored probabilities are the model's, quantised to 1/255.
        assert np.abs(preds.probabilities(index) - small).max() <= 0.5 / 255 + 1e-6
    # At the model's own size, resizing is the identity.
    np.testing.assert_array_equal(preds.mask(0), forward(model, card, shapes.images[0]).argmax(0))


@pytest.mark.parametrize("tile", [16, (12, 20)])
def test_tiles_with_enough_overlap_equal_one_forward_pass_over_the_whole_image(tile, tmp_path):
    """The model sees 2 pixels around each pixel: tiles overlapping by 4 or more change nothing."""
    dataset = Shapes([(50, 70), (16, 16), (9, 30)])
    model, card = local_model(), card_for()
    preds = run_job(dataset, model, tmp_path, tile=tile, overlap=6, batch_size=3)
    th, tw = (tile, tile) if isinstance(tile, int) else tile
    for index in range(len(dataset)):
        image = dataset.images[index]
        height, width = image.shape[:2]
        direct = forward(model, card, image)
        mask = preds.mask(index)
        assert mask.shape == (height, width)
        if height >= th and width >= tw:  # no padding of the image: exactly the direct forward pass
            np.testing.assert_array_equal(mask, direct.argmax(0))
            assert np.abs(preds.probabilities(index) - direct).max() <= 0.5 / 255 + 1e-6
        else:  # padded to a whole tile at the bottom/right: only the last 2 rows/columns can differ
            keep_h, keep_w = height - 2 * (height < th), width - 2 * (width < tw)
            np.testing.assert_array_equal(mask[:keep_h, :keep_w], direct.argmax(0)[:keep_h, :keep_w])


def test_tiling_a_unet_agrees_with_its_whole_image_forward_on_most_pixels(tmp_path):
    dataset = Shapes([(96, 128)])
    torch.manual_seed(0)
    model = UNet(3, 3, depth=2, width=4).eval()
    card = card_for()
    preds = run_job(dataset, model, tmp_path, tile=48, overlap=16)
    agreement = (preds.mask(0) == forward(model, card, dataset.images[0]).argmax(0)).mean()
    assert agreement > 0.97


def test_tile_layout_covers_every_pixel_once_and_keeps_context():
    for length, tile, overlap in [(100, 32, 8), (33, 32, 8), (32, 32, 0), (20, 32, 8), (1000, 256, 64)]:
        layout = tile_layout(length, tile, overlap)
        owned = np.concatenate([np.arange(a, b) for _, a, b in layout])
        np.testing.assert_array_equal(owned, np.arange(length))
        for start, a, b in layout:
            assert start >= 0 and start + min(tile, length) <= length and start <= a < b <= start + tile
            # An owned pixel is at least overlap / 2 from a tile border that is not the image's border.
            if start > 0:
                assert a - start >= overlap // 2
            if start + tile < length:
                assert start + tile - b >= overlap // 2


def test_a_big_frame_is_tiled_and_its_probabilities_kept_on_a_subsampled_grid(tmp_path, monkeypatch):
    """A Cityscapes-like frame: the mask is full size, the probability grid is subsampled to the budget."""
    monkeypatch.setattr(store_module, "MAX_PROB_VALUES", 3 * 100 * 200)
    dataset = Shapes([(256, 512)])
    preds = run_job(dataset, colour_model(), tmp_path, tile=128, overlap=32)
    mask, probs = preds.mask(0), preds.probabilities(0)
    assert mask.shape == (256, 512)
    assert probs.shape == (3, 86, 171)  # step 3: the smallest that keeps 3 * h * w <= 60,000
    # Hover: the probabilities behind a pixel are those of the nearest grid cell.
    y, x = 200, 77
    cell = probs[:, nearest_indices(256, 86)[y], nearest_indices(512, 171)[x]]
    np.testing.assert_array_equal(preds.pixel_probabilities(0, y, x), cell)
    assert preds.confidence(0).shape == (256, 512)


def test_hover_probabilities_agree_with_the_shown_class(shapes, tmp_path):
    preds = run_job(shapes, local_model(), tmp_path)
    mask = preds.mask(1)  # 40 x 27, resized from 32 x 32
    confidence = preds.confidence(1)
    for y, x in [(0, 0), (39, 26), (17, 3), (25, 20)]:
        p = preds.pixel_probabilities(1, y, x)
        assert p.argmax() == mask[y, x] or p.max() - p[mask[y, x]] <= 1 / 255  # ties after quantising
        assert confidence[y, x] == pytest.approx(p[mask[y, x]])
        assert p.sum() == pytest.approx(1.0, abs=0.02)
    with pytest.raises(IndexError):
        preds.pixel_probabilities(1, 40, 0)


# -- metrics against torchmetrics --------------------------------------------------------------
def test_per_image_and_dataset_iou_and_dice_match_torchmetrics(shapes, tmp_path):
    preds = run_job(shapes, local_model(seed=3), tmp_path, batch_size=2)
    scores = preds.per_image_scores()
    all_pred, all_true = [], []
    for index in range(len(shapes)):
        truth = torch.from_numpy(shapes.masks[index].astype(np.int64))
        pred = torch.from_numpy(preds.mask(index).astype(np.int64))
        all_pred.append(pred.reshape(-1))
        all_true.append(truth.reshape(-1))
        present = ~np.isnan(scores["iou"][index])
        expected_iou = multiclass_jaccard_index(pred, truth, 3, average=None, ignore_index=255).numpy()
        expected_dice = multiclass_f1_score(pred, truth, 3, average=None, ignore_index=255).numpy()
        np.testing.assert_allclose(scores["iou"][index][present], expected_iou[present], atol=1e-6)
        np.testing.assert_allclose(scores["dice"][index][present], expected_dice[present], atol=1e-6)
        assert scores["mean_iou"][index] == pytest.approx(expected_iou[present].mean())
    pred, truth = torch.cat(all_pred), torch.cat(all_true)
    report = preds.report()
    np.testing.assert_allclose(
        report["iou"], multiclass_jaccard_index(pred, truth, 3, average=None, ignore_index=255).numpy(), atol=1e-6
    )
    np.testing.assert_allclose(
        report["dice"], multiclass_f1_score(pred, truth, 3, average=None, ignore_index=255).numpy(), atol=1e-6
    )
    # A subset is re-evaluated from the stored counts alone.
    subset = preds.confusion([1, 3])
    np.testing.assert_array_equal(subset, preds.image_confusion(1) + preds.image_confusion(3))


def test_images_in_a_confusion_cell_come_most_pixels_first(shapes, tmp_path):
    preds = run_job(shapes, local_model(seed=1), tmp_path)
    cms = preds.per_image(range(len(shapes)))
    true_class, pred_class = np.unravel_index(np.argmax(cms.sum(0) * (1 - np.eye(3))), (3, 3))
    indices, counts = preds.images_in_cell(true_class, pred_class)
    assert list(counts) == sorted(counts, reverse=True) and (counts > 0).all()
    np.testing.assert_array_equal(counts, cms[indices, true_class, pred_class])
    assert set(indices) == set(np.flatnonzero(cms[:, true_class, pred_class]))


# -- storage, cancel, resume ------------------------------------------------------------------
def test_cancel_keeps_what_was_done_and_run_resumes_to_the_same_result(shapes, tmp_path):
    card = card_for()
    job = SegmentationJob(card, shapes, device="cpu", batch_size=2, run_dir=tmp_path / "a", model=local_model())
    gen = job.run()
    first = next(gen)
    gen.close()  # what a GUI cancel does between two batches
    assert (first.done, first.total) == (2, 5)
    assert job.predictions.num_done == 2 and not job.predictions.complete
    saved = load_run(tmp_path / "a")  # the cancelled run was saved as it stood
    assert saved.num_done == 2 and list(saved.pending()) == [2, 3, 4]
    progress = []
    run_to_end(job, progress.append)
    assert [p.done for p in progress] == [2, 3] and progress[-1].total == 3
    whole = run_job(shapes, local_model(), tmp_path)
    for index in range(len(shapes)):
        np.testing.assert_array_equal(job.predictions.mask(index), whole.mask(index))
    np.testing.assert_array_equal(job.predictions.confusion(), whole.confusion())


def test_a_saved_run_loads_back_whole(tmp_path):
    preds = run_job(shapes_with_errors(), local_model(), tmp_path)
    loaded = load_run(tmp_path / "run")
    assert loaded.classes == CLASSES and loaded.sample_ids == preds.sample_ids
    assert loaded.errors == preds.errors and loaded.mask_errors == preds.mask_errors
    np.testing.assert_array_equal(loaded.done, preds.done)
    np.testing.assert_array_equal(loaded.per_image([0, 1, 2, 3]), preds.per_image([0, 1, 2, 3]))
    np.testing.assert_array_equal(loaded.per_image_scores()["iou"], preds.per_image_scores()["iou"])
    np.testing.assert_array_equal(loaded.mask(0), preds.mask(0))
    assert loaded.settings["mode"] == "resize" and loaded.model == "test-segmenter"
    # Masks are files on disk, compressed, one per predicted sample.
    files = sorted((tmp_path / "run" / "samples").glob("*.npz"))
    assert len(files) == preds.num_done


def shapes_with_errors() -> Shapes:
    return Shapes([(20, 20), (24, 24), (20, 30), (16, 16)], broken=1, bad_mask=2)


def test_a_broken_image_and_a_mask_of_the_wrong_size_are_errors_of_their_samples(tmp_path):
    dataset = shapes_with_errors()
    progress = []
    job = SegmentationJob(card_for(), dataset, device="cpu", batch_size=4, run_dir=tmp_path, model=local_model())
    preds = run_to_end(job, progress.append)
    assert list(preds.errors) == [1] and "truncated" in preds.errors[1]
    assert list(preds.mask_errors) == [2] and "mask is 30x19 but the image is 30x20" in preds.mask_errors[2]
    assert progress[-1].failed == 1 and progress[-1].done == 4
    assert preds.complete and preds.num_done == 3
    assert list(preds.has_truth) == [True, False, False, True]
    assert preds.mask(2).shape == (20, 30)  # predicted all the same
    assert np.isnan(preds.per_image_scores()["mean_iou"][[1, 2]]).all()
    with pytest.raises(SampleError):
        preds.mask(1)


def test_mask_values_that_are_no_class_are_a_mask_error(tmp_path):
    dataset = Shapes([(16, 16), (16, 16)])
    dataset.masks[0][3, 3] = 7
    preds = run_job(dataset, local_model(), tmp_path)
    assert list(preds.mask_errors) == [0] and "label 7" in preds.mask_errors[0]
    assert preds.has_truth.tolist() == [False, True]


# -- refusals and class maps ------------------------------------------------------------------
def test_other_classes_are_refused_unless_mapped(tmp_path):
    dataset = Shapes([(16, 16), (20, 20)], classes=["bg", "rouge", "vert", "bleu"])
    card = card_for()
    with pytest.raises(
        ModelError,
        match=r"predicts 3 classes \(background, red, green\), but shapes has 4 \(bg, rouge, vert, bleu\): map",
    ):
        SegmentationJob(card, dataset, device="cpu", model=colour_model())
    with pytest.raises(ModelError, match="'violet', which is not a class"):
        SegmentationJob(card, dataset, class_map={"violet": "red"}, model=colour_model())
    with pytest.raises(ModelError, match="'blue', which test-segmenter does not predict"):
        SegmentationJob(card, dataset, class_map={"bleu": "blue"}, model=colour_model())
    mapping = {"bg": "background", "rouge": "red", "vert": "green"}  # "bleu" is left out: ignored
    dataset.masks[0][:4] = 3
    job = SegmentationJob(card, dataset, device="cpu", class_map=mapping, run_dir=tmp_path, model=colour_model())
    preds = run_to_end(job)
    truth = dataset.masks[0].copy()
    truth[truth == 3] = 255
    assert preds.image_confusion(0).sum() == int((truth != 255).sum())
    assert preds.settings["class_map"] == mapping


def test_a_classification_model_or_dataset_is_refused():
    dataset = Shapes([(16, 16)])
    card = card_for()
    card.task = "multiclass"
    with pytest.raises(ModelError, match="is a multiclass model"):  # the registry is the door to every job
        tasks.job_for(card, dataset)
    assert tasks.fit(card, dataset).status is tasks.FitStatus.WRONG_TASK


def test_a_model_whose_outputs_do_not_match_its_card_is_refused(shapes, tmp_path):
    job = SegmentationJob(card_for(), shapes, device="cpu", run_dir=tmp_path, model=local_model(num_classes=4))
    with pytest.raises(ModelError, match="gives 4 output channels, but its card names 3 classes"):
        run_to_end(job)


@pytest.mark.parametrize("tile", [None, (16, 16)])
def test_probabilities_that_are_not_finite_are_errors_of_those_images_not_masks(shapes, tmp_path, tile):
    model = local_model()
    with torch.no_grad():
        model[0].weight.fill_(float("nan"))  # NaN weights: every output is NaN
    job = SegmentationJob(card_for(), shapes, device="cpu", run_dir=tmp_path / "run", model=model, tile=tile)
    progress = list(job.run())
    preds = job.predictions
    assert progress[-1].failed == len(shapes) and preds.num_done == 0
    assert all("not finite" in preds.errors[i] for i in range(len(shapes)))


def test_a_write_that_fails_on_a_writer_thread_ends_the_run_with_its_error_and_keeps_what_was_stored(
    shapes, tmp_path, monkeypatch
):
    from core.inference.mask_store import MaskStore

    real_write = MaskStore.write

    def disk_full_at_the_fourth(store, index, mask, probs):
        if index == 3:
            raise OSError(28, "No space left on device")
        real_write(store, index, mask, probs)

    monkeypatch.setattr(MaskStore, "write", disk_full_at_the_fourth)
    job = SegmentationJob(card_for(), shapes, device="cpu", batch_size=2, run_dir=tmp_path / "a", model=local_model())
    with pytest.raises(OSError, match="No space left"):
        run_to_end(job)
    saved = load_run(tmp_path / "a")  # saved as it stood, every write that ended recorded
    assert 3 not in np.flatnonzero(saved.done) and saved.done[[0, 1, 2]].all()
    assert len(list((tmp_path / "a" / "samples").glob("*.npz"))) == saved.num_done


class ReadRecorded(Shapes):
    """Shapes that records which images were asked for."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[int] = []

    def load_image(self, index: int) -> np.ndarray:
        self.asked.append(index)
        return super().load_image(index)


class WaitsForTheNextBatch(nn.Module):
    """A model whose first pass waits (at most 10 s) until the dataset was asked for an image of the next batch."""

    def __init__(self, inner: nn.Module, asked: list, first_of_next: int) -> None:
        super().__init__()
        self.inner, self.asked, self.first_of_next, self.overlapped = inner, asked, first_of_next, None

    def forward(self, x):
        if self.overlapped is None:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and max(self.asked) < self.first_of_next:
                time.sleep(0.02)
            self.overlapped = max(self.asked) >= self.first_of_next
        return self.inner(x)


def test_the_next_batch_is_read_and_preprocessed_while_the_model_runs_the_current_one(shapes, tmp_path):
    recorded = ReadRecorded([(32, 32), (40, 27), (19, 61), (32, 32), (50, 45)])
    model = WaitsForTheNextBatch(local_model(), recorded.asked, first_of_next=2)
    job = SegmentationJob(
        card_for(), recorded, device="cpu", batch_size=2, model=model, run_dir=tmp_path / "run", num_workers=0
    )  # num_workers=0: the images are read in the loader's loop itself, no reading threads ahead
    preds = run_to_end(job)
    assert model.overlapped
    plain = run_job(shapes, local_model(), tmp_path / "plain", batch_size=2)
    for index in range(len(shapes)):
        np.testing.assert_array_equal(preds.mask(index), plain.mask(index))
        np.testing.assert_array_equal(preds.probabilities(index), plain.probabilities(index))
