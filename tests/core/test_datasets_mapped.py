"""Pixels mapped from their files (MNIST IDX, indexed CIFAR batches): a file cut short while the dataset is open
is a clear SampleError on the next read, never a SIGBUS that kills the app."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.datasets import SampleError, open_dataset
from tests.fake_datasets import write_cifar10, write_mnist


@pytest.fixture
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("CVLENS_DATA_DIR", str(folder))
    return folder


def cut_in_place(path: Path, size: int) -> None:
    """What `tar x` over the dataset does first: the same file (inode), truncated."""
    with open(path, "r+b") as file:
        file.truncate(size)


def test_a_cifar_batch_cut_short_after_opening_is_a_sample_error(tmp_path: Path, data_folder: Path) -> None:
    expected = write_cifar10(tmp_path, per_batch=4)
    open_dataset(tmp_path, split="train")  # the first open indexes the batches
    ds = open_dataset(tmp_path, split="train")
    assert len(ds.mapped) == 5  # every batch mapped, each checked on read
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    cut_in_place(batch, 100)
    with pytest.raises(SampleError, match=r"data_batch_3 was cut short on disk .*open the dataset again"):
        ds[9].image()  # batch 3 holds rows 8-11
    np.testing.assert_array_equal(ds[1].image(), expected["train"][0][1])  # the other batches still read


def test_an_mnist_file_cut_short_after_opening_is_a_sample_error(tmp_path: Path) -> None:
    write_mnist(tmp_path, n_train=5, n_test=3)
    ds = open_dataset(tmp_path, split="train")
    assert len(ds.mapped) == 1
    cut_in_place(tmp_path / "train-images-idx3-ubyte", 16)
    with pytest.raises(SampleError, match="train-images-idx3-ubyte was cut short"):
        ds[4].image()


def test_a_file_replaced_by_a_new_one_still_reads_the_mapped_pixels(tmp_path: Path) -> None:
    expected = write_mnist(tmp_path, n_train=5, n_test=3)
    ds = open_dataset(tmp_path, split="train")
    path = tmp_path / "train-images-idx3-ubyte"
    fresh = tmp_path / "fresh"
    fresh.write_bytes(b"\0" * 16)
    os.replace(fresh, path)  # a new, short file at the path: the mapping keeps the old one's pages
    np.testing.assert_array_equal(ds[4].image()[..., 0], expected["train"][0][4])


def test_pixels_read_into_memory_have_nothing_to_check(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=True)
    assert open_dataset(tmp_path, split="train").mapped == []
