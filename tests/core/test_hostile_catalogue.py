"""The catalogue of bad input, run over every dataset layout CV Lens reads (issue 11).

Each registered layout has a writer here; a new reader without one fails
``test_every_layout_is_in_the_catalogue``. For each layout, every file that is not a sample image
(label lists, JSON, CSV, pickles, .mat files, masks) is damaged in turn (cut in half, then
replaced by random bytes), and the layout must answer with a DatasetError at open or SampleErrors
per sample, never another exception. Sample images are replaced by garbage, a FIFO, a link to
/dev/zero and a decompression bomb's header: each must be that one sample's SampleError, quickly.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, SampleError, open_dataset
from core.datasets.imageio import is_image_file
from core.datasets.registry import layouts
from tests.fake_datasets import (
    png_bytes,
    random_mask,
    write_celeba,
    write_cifar10,
    write_cifar100,
    write_cityscapes,
    write_coco,
    write_flowers102,
    write_food101,
    write_imagenet,
    write_images,
    write_mnist,
    write_voc_detection,
    write_yolo,
)

# pycocotools' own numpy-2 deprecation (np.array(copy=False) in its decode), met when COCO's instances are read.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")


def _segpairs(tmp: Path) -> Path:
    root = tmp / "pairs"
    write_images(root / "images", ["a.png", "b.png", "c.png"], size=(9, 11))
    rng = np.random.default_rng(0)
    for stem in "abc":
        (root / "masks").mkdir(parents=True, exist_ok=True)
        (root / "masks" / f"{stem}.png").write_bytes(png_bytes(random_mask(rng, (9, 11), 3)))
    (root / "classes.txt").write_text("background\nroad\ncar\n")
    return root


def _multilabel(tmp: Path) -> Path:
    root = tmp / "tags"
    write_images(root / "images", ["a.png", "b.png", "c.png"])
    (root / "labels.csv").write_text("image,labels\na.png,cat dog\nb.png,\nc.png,dog\n")
    return root


def _image_folder(tmp: Path) -> Path:
    write_images(tmp / "pets", [f"{c}/{c}_{i}.png" for c in ("cat", "dog", "eel") for i in range(2)])
    return tmp / "pets"


def _unlabeled(tmp: Path) -> Path:
    write_images(tmp / "flat", ["1.png", "2.png", "3.png"])
    return tmp / "flat"


def _mnist(tmp: Path) -> Path:
    write_mnist(tmp / "mnist", gz=True)
    return tmp / "mnist"


CATALOGUE: dict[str, Callable[[Path], Path]] = {
    "Image folder": _image_folder,
    "Unlabeled images": _unlabeled,
    "CIFAR-10": lambda tmp: (write_cifar10(tmp), tmp / "cifar-10-batches-py")[1],
    "CIFAR-100": lambda tmp: (write_cifar100(tmp), tmp / "cifar-100-python")[1],
    "MNIST / Fashion-MNIST": _mnist,
    "Flowers-102": lambda tmp: write_flowers102(tmp)[0],
    "Food-101": lambda tmp: write_food101(tmp),
    "ImageNet": lambda tmp: (write_imagenet(tmp / "imagenet"), tmp / "imagenet")[1],
    "CelebA": lambda tmp: (write_celeba(tmp, wild=True), tmp / "celeba")[1],
    "Pascal VOC": lambda tmp: write_voc_detection(tmp, segmentation=True)[0],
    "Cityscapes": lambda tmp: (write_cityscapes(tmp / "cityscapes"), tmp / "cityscapes")[1],
    "COCO": lambda tmp: (write_coco(tmp / "coco"), tmp / "coco")[1],
    "Segmentation pairs": _segpairs,
    "Multilabel CSV": _multilabel,
    "YOLO": lambda tmp: (write_yolo(tmp / "yolo", polygons=True), tmp / "yolo")[1],
}


def test_every_layout_is_in_the_catalogue() -> None:
    assert {layout.name for layout in layouts()} == set(CATALOGUE)


def _read_everything(root: Path) -> None:
    """Open and read every sample of every split; only DatasetError / SampleError may come out."""
    try:
        dataset = open_dataset(root)
    except DatasetError:
        return
    for task, split in itertools.product(dataset.tasks, dataset.splits or [None]):
        try:
            part = dataset.with_task(task)
            part = part.with_split(split) if split else part
        except DatasetError:
            continue
        for sample in part:
            for read in (sample.image, sample.mask, sample.boxes, sample.instances):
                with contextlib.suppress(SampleError):
                    read()
            assert isinstance(sample.meta, dict)  # meta says what is wrong, it does not raise


def _index_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and ".cvlens" not in p.parts and not is_image_file(p))


def _label_images(root: Path) -> list[Path]:
    """Mask PNGs and the like: image files that are not what ``sample.image()`` reads."""
    dataset = open_dataset(root)
    images = {dataset.sample_path(i) for i in range(len(dataset))}
    return sorted(p for p in root.rglob("*") if p.is_file() and is_image_file(p) and p not in images)[:4]


@pytest.mark.parametrize("layout", sorted(CATALOGUE))
def test_damaged_label_files_give_dataset_or_sample_errors_only(tmp_path: Path, layout: str) -> None:
    root = CATALOGUE[layout](tmp_path)
    open_dataset(root)  # sound as written
    rng = np.random.default_rng(0)
    targets = _index_files(root) + _label_images(root)
    assert targets or layout in ("Image folder", "Unlabeled images")
    for path in targets:
        original = path.read_bytes()
        for damaged in (
            original[: len(original) // 2],
            rng.integers(0, 256, max(len(original), 64), np.uint8).tobytes(),
        ):
            path.write_bytes(damaged)
            _read_everything(root)
        path.write_bytes(original)


def _bomb_header() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(4096))) + chunk(b"IEND", b"")
    )


def _garbage(path: Path) -> None:
    path.write_bytes(b"%PDF-1.4 not an image at all")


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


def _bomb(path: Path) -> None:
    path.write_bytes(_bomb_header())


@pytest.mark.parametrize("damage", [_garbage, _fifo, _dev_zero, _bomb], ids=["garbage", "fifo", "dev-zero", "bomb"])
@pytest.mark.parametrize("layout", sorted(CATALOGUE))
def test_a_bad_sample_file_is_that_samples_error_only(tmp_path: Path, layout: str, damage) -> None:
    root = CATALOGUE[layout](tmp_path)
    dataset = open_dataset(root)
    path = dataset.sample_path(0)
    if path is None:  # samples live inside one container file (CIFAR, MNIST): covered by the label-file test
        assert layout in ("CIFAR-10", "CIFAR-100", "MNIST / Fashion-MNIST")
        return
    damage(path)
    dataset = open_dataset(root)
    paths = [dataset.sample_path(i) for i in range(len(dataset))]
    if path not in paths:  # a folder listing passes over what is not a regular file
        assert damage in (_fifo, _dev_zero)
        return
    index = paths.index(path)
    start = time.monotonic()
    with pytest.raises(SampleError):
        dataset[index].image()
    assert time.monotonic() - start < 5
    other = (index + 1) % len(dataset)
    assert dataset[other].image().ndim == 3  # the rest of the dataset reads
