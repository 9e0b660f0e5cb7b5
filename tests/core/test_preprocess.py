"""One preprocessing definition, two variants: numpy images (CPU path) and uint8 tensors (GPU decoding path).

``tests/core/test_runner_speed.py`` keeps the tolerance test on the runner's card; these cover every
resize rule: where both variants resize with torchvision they must give the same numbers, and with
"auto" (OpenCV's area filter on the image path) they stay within two grey levels.
"""

import cv2
import numpy as np
import pytest
import torch

from core.models import ModelCard
from core.models.preprocess import preprocess_image, preprocess_tensors


def card(**changes) -> ModelCard:
    return ModelCard(**{"name": "p", "architecture": "smallcnn", "task": "multiclass", "classes": ["a", "b"],
                        "input_size": (24, 36), **changes})  # fmt: skip


def images(*sizes: tuple[int, int]) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [cv2.GaussianBlur(rng.integers(0, 256, (*size, 3), dtype=np.uint8), (0, 0), 3) for size in sizes]


def both(c: ModelCard, pictures: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    tensors = preprocess_tensors(c, [torch.from_numpy(p).permute(2, 0, 1) for p in pictures]).numpy()
    return tensors, np.stack([preprocess_image(c, p) for p in pictures])


@pytest.mark.parametrize(
    "changes",
    [
        {"resize_size": 30, "interpolation": "bicubic"},
        {"resize_size": 28, "interpolation": "bilinear", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
        {"interpolation": "nearest"},
    ],
)
def test_with_torchvision_resizing_both_variants_give_the_same_input(changes):
    c = card(**changes)
    for pictures in (images((48, 72), (48, 72)), images((12, 18), (100, 50))):  # one size: one resize call
        tensors, arrays = both(c, pictures)
        assert tensors.shape == arrays.shape == (2, 3, 24, 36) and np.allclose(tensors, arrays, atol=1e-6)


@pytest.mark.parametrize("gray", [False, True])
def test_with_auto_interpolation_the_variants_stay_within_two_grey_levels(gray):
    c = card(channels=1, mean=[0.4], std=[0.2]) if gray else card()
    for pictures in (images((48, 72), (48, 72)), images((12, 18), (100, 50)), images((24, 36))):
        tensors, arrays = both(c, pictures)
        assert tensors.shape == arrays.shape == (len(pictures), c.channels, 24, 36)
        assert np.abs(tensors - arrays).max() <= 2 / 255 / min(c.std) + 1e-5


def test_the_card_preprocesses_with_the_image_variant():
    c = card(resize_size=30, channels=1, mean=[0.3], std=[0.25])
    (picture,) = images((40, 33))
    out = c.preprocess(picture)
    assert out.dtype == np.float32 and out.flags.c_contiguous and np.array_equal(out, preprocess_image(c, picture))
