"""JPEG decoding on the run device: TorchCodec's decoder, torchvision's as the fallback (issue 15).

Both run here on the CPU (the same libjpeg-turbo code that decodes on a CPU device; nvJPEG on a GPU is the
same call with ``device="cuda"``) and must give the pixels of the CPU path (OpenCV, EXIF orientation applied).
torchvision 0.29 warns that its decoders are deprecated on every call; the fallback silences that call only.
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from core.datasets import open_dataset
from core.datasets.imageio import decode_image
from core.inference.jpeg import TORCHVISION_DEPRECATION, decode_jpegs, decode_on_device, pick_jpeg_library
from core.models import ModelCard, ModelError

LIBRARIES = ["torchcodec", "torchvision"]


def _photo(height: int = 36, width: int = 52, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), 2)


def _jpeg(rgb: np.ndarray, orientation: int = 1, mode: str = "RGB") -> bytes:
    image = Image.fromarray(rgb).convert(mode)
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def _blob(data: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def _hwc(image: torch.Tensor) -> np.ndarray:
    return image.permute(1, 2, 0).numpy()


def test_torchcodec_is_the_decoder_where_it_imports_and_torchvision_can_be_asked_for():
    assert pick_jpeg_library() == "torchcodec" == pick_jpeg_library("torchcodec")
    assert pick_jpeg_library("torchvision") == "torchvision"
    with pytest.raises(ModelError, match="must be one of"):
        pick_jpeg_library("pillow")


@pytest.mark.parametrize("library", LIBRARIES)
def test_both_decoders_give_the_cpu_paths_pixels_with_the_exif_orientation_applied(library):
    files = [_jpeg(_photo()), _jpeg(_photo(seed=1), orientation=6), _jpeg(_photo(seed=2), orientation=3),
             _jpeg(_photo(seed=3), mode="L")]  # fmt: skip
    decoded = decode_jpegs([_blob(data) for data in files], "cpu", library)
    expected = [decode_image(data, "photo.jpg") for data in files]
    assert [tuple(image.shape) for image in decoded] == [(3, 36, 52), (3, 52, 36), (3, 36, 52), (3, 36, 52)]
    for image, cpu in zip(decoded, expected):
        assert image.dtype == torch.uint8 and np.array_equal(_hwc(image), cpu)


def test_the_torchvision_fallback_gives_no_deprecation_warning_that_torchvision_itself_gives():
    from torchvision.io import decode_jpeg

    blob = _blob(_jpeg(_photo()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        decode_jpeg(blob)  # what the suite now fails on (pyproject's filterwarnings)
        assert [w.category for w in caught] == [DeprecationWarning]
        assert TORCHVISION_DEPRECATION in str(caught[0].message)
        caught.clear()
        decode_jpegs([blob], "cpu", "torchvision")
        decode_jpegs([blob, _blob(b"\xff\xd8\xff\xe0 cut")], "cpu", "torchvision")  # and one by one
    assert caught == []


@pytest.mark.parametrize("library", LIBRARIES)
def test_hostile_bytes_are_refused_file_by_file_and_the_good_ones_still_decoded(library):
    good = _jpeg(_photo())
    _, png = cv2.imencode(".png", _photo())
    hostile = [good[: len(good) // 2], good[:2], b"\xff\xd8\xff" + bytes(200), png.tobytes(), bytes(range(256)) * 4]
    decoded = decode_jpegs([_blob(good), *(_blob(data) for data in hostile), _blob(good)], "cpu", library)
    assert decoded[1:-1] == [None] * len(hostile)
    assert np.array_equal(_hwc(decoded[0]), decode_image(good)) and torch.equal(decoded[0], decoded[-1])


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_truncated_jpeg_given_to_the_device_path_is_our_error_naming_the_file(tmp_path, library):
    root = tmp_path / "set" / "blue"
    root.mkdir(parents=True)
    good = _jpeg(_photo())
    (root / "a_good.jpg").write_bytes(good)
    (root / "b_cut.jpg").write_bytes(good[: len(good) // 2])
    dataset = open_dataset(tmp_path / "set")
    card = ModelCard(name="tiny", architecture="smallcnn", task="multiclass", classes=["blue"], input_size=(16, 16),
                     resize_size=18, interpolation="bilinear")  # fmt: skip
    items = [_blob(good), _blob(good[: len(good) // 2])]
    indices, batch, failed = decode_on_device(card, dataset, "cpu", [0, 1], items, library)
    assert indices == [0] and batch.shape == (1, 3, 16, 16)
    assert len(failed) == 1 and failed[0][0] == 1
    assert "b_cut.jpg" in failed[0][1] and "truncated" in failed[0][1].lower()
    expected = card.preprocess(dataset.load_image(0))
    assert np.allclose(batch[0].numpy(), expected, atol=0.02)
