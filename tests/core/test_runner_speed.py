"""The runner's fast paths and its failures: out of memory, a model that raises, a GPU that goes away,
decoding workers, JPEG decoding on the device, channels_last, torch.compile, class mapping.

There is no GPU here: CUDA out-of-memory is simulated by a model that raises torch's own
``OutOfMemoryError`` for batches above a size, and GPU JPEG decoding runs the same code path with
torchvision's decoder on the CPU (``jpeg_decode="device"``).
"""

import json

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from core.datasets import open_dataset
from core.inference import InferenceJob, run_to_end
from core.inference.batch_sizes import remember_batch_size, remembered_batch_sizes
from core.inference.class_map import map_classes
from core.models import ModelCard, ModelError
from core.models.smallcnn import SmallCNN

CLASSES = ["blue", "green", "red"]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A private user data folder, for the remembered batch sizes."""
    monkeypatch.setenv("CVLENS_DATA_DIR", str(tmp_path / "user-data"))
    return tmp_path / "user-data"


@pytest.fixture
def jpegs(tmp_path):
    """3 classes x 8 JPEGs of various sizes, one damaged file and one PNG named .jpg."""
    rng = np.random.default_rng(0)
    root = tmp_path / "jpegs"
    for c, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(8):
            image = np.zeros((30 + 3 * i, 40, 3), np.uint8)
            image[..., 2 - c] = 200  # BGR
            image = np.clip(image + rng.integers(0, 40, image.shape), 0, 255).astype(np.uint8)
            image = cv2.GaussianBlur(image, (3, 3), 1)
            cv2.imwrite(str(root / name / f"{i}.jpg"), image)
    (root / "red" / "damaged.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    _, png = cv2.imencode(".png", np.full((20, 20, 3), 90, np.uint8))
    (root / "green" / "png_inside.jpg").write_bytes(png.tobytes())
    return open_dataset(root)


def card(**changes) -> ModelCard:
    fields = dict(name="tiny", architecture="smallcnn", task="multiclass", classes=CLASSES, input_size=(16, 16),
                  resize_size=18, interpolation="bilinear", arch_kwargs={"width": 4})  # fmt: skip
    return ModelCard(**{**fields, **changes})


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return SmallCNN(in_channels=3, num_classes=3, width=4).eval()


class OutOfMemoryAbove(nn.Module):
    """Wraps a model; a batch of more than ``limit`` images raises CUDA's out-of-memory error."""

    def __init__(self, inner: nn.Module, limit: int) -> None:
        super().__init__()
        self.inner, self.limit, self.sizes = inner, limit, []

    def forward(self, x):
        self.sizes.append(len(x))
        if len(x) > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.inner(x)


class FailsAtCall(nn.Module):
    """Wraps a model; the ``n``-th forward pass (and later ones) raise ``error``."""

    def __init__(self, inner: nn.Module, n: int, error: Exception) -> None:
        super().__init__()
        self.inner, self.n, self.error, self.calls = inner, n, error, 0

    def forward(self, x):
        self.calls += 1
        if self.calls >= self.n:
            raise self.error
        return self.inner(x)


def reference(dataset) -> np.ndarray:
    return run_to_end(InferenceJob(card(), dataset, device="cpu", model=tiny_model(), num_workers=0)).scores


def test_auto_batch_size_halves_on_out_of_memory_and_remembers_the_size_that_fits(jpegs, data_dir):
    model = OutOfMemoryAbove(tiny_model(), limit=5)
    job = InferenceJob(card(), jpegs, device="cpu", batch_size="auto", model=model, num_workers=0)
    seen = []
    preds = run_to_end(job, seen.append)
    assert preds.complete and np.array_equal(preds.scores, reference(jpegs), equal_nan=True)
    assert job.batch_size == 4 and seen[-1].batch_size == 4  # 64 -> 32 -> 16 -> 8 -> 4
    assert any("out of memory at 8" in note for note in job.notes)
    assert list(remembered_batch_sizes().values()) == [4]
    assert json.loads((data_dir / "batch_sizes.json").read_text()) == remembered_batch_sizes()

    again = OutOfMemoryAbove(tiny_model(), limit=5)
    second = InferenceJob(card(), jpegs, device="cpu", batch_size="auto", model=again, num_workers=0)
    run_to_end(second)
    assert second.batch_size == 4 and max(again.sizes) == 4  # started at the remembered size: no OOM this time


def test_a_batch_size_that_cannot_be_remembered_leaves_no_temporary_file_behind(data_dir):
    (data_dir / "batch_sizes.json").mkdir(parents=True)  # the rename onto it fails
    remember_batch_size("model@cpu", 4)  # not remembered, and no error: the run goes on
    assert [p.name for p in data_dir.iterdir()] == ["batch_sizes.json"] and remembered_batch_sizes() == {}


def test_out_of_memory_at_batch_size_one_is_a_clear_error_keeping_what_was_done(jpegs, data_dir):
    oom = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")
    job = InferenceJob(card(), jpegs, device="cpu", batch_size=4, model=FailsAtCall(tiny_model(), 4, oom),
                       num_workers=0)  # fmt: skip
    with pytest.raises(ModelError, match=r"ran out of memory even with one image per batch.*12 samples done"):
        run_to_end(job)
    assert job.predictions.num_done == 12


def test_a_model_that_raises_keeps_the_batches_before_and_the_run_resumes(jpegs):
    model = FailsAtCall(tiny_model(), 3, ValueError("shapes do not match"))
    job = InferenceJob(card(), jpegs, device="cpu", batch_size=5, model=model, num_workers=0)
    with pytest.raises(ModelError, match="failed on a batch: shapes do not match"):
        run_to_end(job)
    assert job.predictions.num_done == 10 - sum(1 for i in job.predictions.errors if i < 10)
    model.n = 10**6  # fixed: run again to resume with the rest
    preds = run_to_end(job)
    assert preds.complete and np.allclose(preds.scores, reference(jpegs), equal_nan=True, atol=1e-6)


def test_a_gpu_that_disappears_is_named_as_such(jpegs):
    gone = RuntimeError("CUDA error: unspecified launch failure")
    job = InferenceJob(card(), jpegs, device="cpu", batch_size=4, model=FailsAtCall(tiny_model(), 2, gone),
                       num_workers=0)  # fmt: skip
    with pytest.raises(ModelError, match=r"the GPU failed during the run.*samples done before are kept"):
        run_to_end(job)
    assert job.predictions.num_done > 0


def test_jpegs_decoded_by_the_device_path_give_the_opencv_paths_predictions(jpegs):
    model = tiny_model()
    on_device = InferenceJob(card(), jpegs, device="cpu", model=model, num_workers=0, jpeg_decode="device")
    assert on_device._decode_on_device_wanted(on_device.predictions.pending())
    preds = run_to_end(on_device)
    expected = reference(jpegs)
    damaged = jpegs.sample_ids.index("red/damaged.jpg")
    assert list(preds.errors) == [damaged] and "damaged.jpg" in preds.errors[damaged]
    assert preds.num_done == len(jpegs) - 1  # the PNG named .jpg went through the CPU decoder
    assert np.allclose(preds.scores, expected, equal_nan=True, atol=1e-5)


def test_device_preprocessing_matches_the_cards_for_one_size_or_many():
    from core.models.preprocess import preprocess_tensors

    rng = np.random.default_rng(1)
    same = [cv2.GaussianBlur(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), (0, 0), 2) for _ in range(3)]
    mixed = [*same[:2], cv2.GaussianBlur(rng.integers(0, 256, (50, 24, 3), dtype=np.uint8), (0, 0), 2)]
    for images, gray in ((same, False), (mixed, True)):
        c = card(channels=1, mean=[0.4], std=[0.2]) if gray else card()
        batch = preprocess_tensors(c, [torch.from_numpy(i).permute(2, 0, 1) for i in images])
        expected = np.stack([c.preprocess(i) for i in images])
        assert batch.shape == expected.shape and np.allclose(batch.numpy(), expected, atol=0.02)


def test_jpeg_decoding_stays_on_the_cpu_path_without_a_gpu_or_jpegs(jpegs, tmp_path):
    job = InferenceJob(card(), jpegs, device="cpu", model=tiny_model())
    assert not job._decode_on_device_wanted(job.predictions.pending())  # auto: only on CUDA
    root = tmp_path / "pngs" / "blue"
    root.mkdir(parents=True)
    cv2.imwrite(str(root / "a.png"), np.zeros((8, 8, 3), np.uint8))
    pngs = open_dataset(tmp_path / "pngs")
    png_job = InferenceJob(card(classes=["blue"]), pngs, device="cpu", model=tiny_model(), jpeg_decode="device")
    assert not png_job._decode_on_device_wanted(png_job.predictions.pending())


def test_spawned_decoding_workers_give_the_same_predictions(jpegs):
    job = InferenceJob(card(), jpegs, device="cpu", batch_size=6, model=tiny_model(), num_workers=1)
    assert job.mp_context == "spawn"
    preds = run_to_end(job)
    assert np.array_equal(preds.scores, reference(jpegs), equal_nan=True) and len(preds.errors) == 1


def test_channels_last_and_compile_do_not_change_the_predictions(jpegs):
    expected = reference(jpegs)
    fast = InferenceJob(card(), jpegs, device="cpu", model=tiny_model(), num_workers=0, channels_last=True,
                        compile="eager")  # fmt: skip
    preds = run_to_end(fast)
    assert np.allclose(preds.scores, expected, equal_nan=True, atol=1e-5) and fast.notes == []
    broken = InferenceJob(card(), jpegs, device="cpu", model=tiny_model(), num_workers=0,
                          compile="no-such-backend")  # fmt: skip
    assert np.allclose(run_to_end(broken).scores, expected, equal_nan=True, atol=1e-5)
    assert "torch.compile failed" in broken.notes[0]


def test_amp_is_on_by_default_but_only_used_on_cuda(jpegs):
    job = InferenceJob(card(), jpegs, device="cpu", model=tiny_model())
    assert job.amp and not job.channels_last
    job._load_model()
    assert type(job._autocast()).__name__ == "nullcontext"


def test_a_model_for_overlapping_classes_runs_through_a_class_mapping(jpegs):
    wider = card(classes=["Red", "cat", "Green", "BLUE"])
    torch.manual_seed(0)
    model = SmallCNN(in_channels=3, num_classes=4, width=4).eval()
    with pytest.raises(ModelError, match="3 names are in both"):
        InferenceJob(wider, jpegs, device="cpu", model=model)
    mapping = map_classes(wider.classes, jpegs.classes)
    preds = run_to_end(InferenceJob(wider, jpegs, device="cpu", model=model, num_workers=0, class_map=mapping))
    assert preds.classes == CLASSES and preds.scores.shape == (len(jpegs), 3)
    assert np.allclose(preds.scores[preds.done].sum(axis=1), 1, atol=1e-5)


def test_a_photo_rotated_by_exif_is_decoded_by_the_worker_as_on_the_cpu_path(tmp_path):
    from PIL import Image

    from core.inference.batches import FileBytes, exif_rotated

    root = tmp_path / "photos" / "blue"
    root.mkdir(parents=True)
    picture = np.zeros((20, 40, 3), np.uint8)
    picture[:, :20, 2] = 255  # left half blue: rotation moves it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    Image.fromarray(picture).save(root / "rotated.jpg", exif=exif)
    Image.fromarray(picture).save(root / "upright.jpg")
    dataset = open_dataset(tmp_path / "photos")
    files = FileBytes(dataset, card(classes=["blue"]), np.arange(2))
    rotated, upright = (files[dataset.sample_ids.index(f"blue/{n}.jpg")][1] for n in ("rotated", "upright"))
    assert isinstance(rotated, np.ndarray) and isinstance(upright, torch.Tensor)  # nvJPEG would ignore EXIF
    assert exif_rotated(np.fromfile(root / "rotated.jpg", np.uint8)) and not exif_rotated(upright.numpy())
    job = InferenceJob(card(classes=["blue"]), dataset, device="cpu", model=tiny_model(), jpeg_decode="device")
    indices, batch, failed = job._decode_on_device([0, 1], [files[0][1], files[1][1]])
    expected = np.stack([job.card.preprocess(dataset.load_image(i)) for i in (0, 1)])  # the CPU path, EXIF applied
    assert indices == [0, 1] and not failed and np.allclose(batch.numpy(), expected, atol=1e-5)


def test_threads_read_the_files_for_the_device_decoder_in_order_and_stop_when_cancelled(jpegs):
    from core.inference.batches import FileBytes, ThreadedBatches, collate_bytes

    dataset = jpegs
    files = FileBytes(dataset, card(), np.arange(len(dataset)))
    batches = list(ThreadedBatches(files, 3, collate_bytes, threads=2, ahead=2))
    read = [sorted(indices + [i for i, _ in failed]) for indices, _, failed in batches]
    assert read == [list(range(s, min(s + 3, len(dataset)))) for s in range(0, len(dataset), 3)]  # in order
    assert len(batches) == len(ThreadedBatches(files, 3, collate_bytes))
    indices, items, _ = batches[0]
    assert [bytes(item.numpy()) for item in items] == [dataset.read_encoded(i) for i in indices]
    reading = iter(ThreadedBatches(files, 1, collate_bytes, threads=2, ahead=4))
    next(reading)
    reading.close()  # a cancelled run: the queued reads are dropped, nothing is left running


def test_a_run_whose_files_the_device_decodes_reads_them_on_threads_not_processes(jpegs):
    from core.inference.batches import ThreadedBatches

    job = InferenceJob(card(), jpegs, device="cpu", model=tiny_model(), jpeg_decode="device")
    assert isinstance(job._loader(np.arange(4), on_device=True), ThreadedBatches)
    assert not isinstance(job._loader(np.arange(4), on_device=False), ThreadedBatches)
    explicit = InferenceJob(card(), jpegs, model=tiny_model(), jpeg_decode="device", num_workers=1)
    assert not isinstance(explicit._loader(np.arange(4), on_device=True), ThreadedBatches)  # the user's choice holds
