"""CIFAR-10 / CIFAR-100 pickles, and the restricted unpickler that reads them."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, open_dataset, safe_pickle
from tests.fake_datasets import write_cifar10, write_cifar100, write_py2_pickle


def test_cifar10_opens_test_split_by_default_with_pixels_and_labels(tmp_path: Path) -> None:
    expected = write_cifar10(tmp_path)
    ds = open_dataset(tmp_path / "cifar-10-batches-py")
    assert ds.layout == "CIFAR-10"
    assert (ds.task, ds.splits, ds.split) == ("multiclass", ["train", "test"], "test")
    assert ds.classes[:3] == ["airplane", "automobile", "bird"] and len(ds.classes) == 10
    images, labels = expected["test"]
    assert len(ds) == len(images)
    np.testing.assert_array_equal(ds.targets, labels)
    for i in range(len(ds)):
        image = ds[i].image()
        assert image.shape == (32, 32, 3) and image.dtype == np.uint8 and image.flags.c_contiguous
        np.testing.assert_array_equal(image, images[i])
    assert ds[0].meta["filename"] == "img_test_batch_0.png"


def test_cifar10_train_split_concatenates_the_five_batches(tmp_path: Path) -> None:
    expected = write_cifar10(tmp_path, per_batch=2)
    ds = open_dataset(tmp_path, split="train")  # the folder holding cifar-10-batches-py
    images, labels = expected["train"]
    assert len(ds) == 10
    np.testing.assert_array_equal(ds.targets, labels)
    np.testing.assert_array_equal(ds[7].image(), images[7])
    assert ds[7].id == "data_batch_4/00001"
    assert ds.with_split("test").split == "test"


def test_cifar_image_is_a_copy_not_a_view_into_the_dataset(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    ds = open_dataset(tmp_path)
    image = ds[0].image()
    image[:] = 0
    assert ds[0].image().any()


def test_cifar10_written_by_python3_pickle_protocol_5(tmp_path: Path) -> None:
    expected = write_cifar10(tmp_path, py2=False)
    ds = open_dataset(tmp_path)
    np.testing.assert_array_equal(ds[1].image(), expected["test"][0][1])


def test_cifar100_fine_labels_and_coarse_meta(tmp_path: Path) -> None:
    expected = write_cifar100(tmp_path)
    ds = open_dataset(tmp_path / "cifar-100-python", split="train")
    images, fine, coarse = expected["train"]
    assert ds.layout == "CIFAR-100" and len(ds.classes) == 100
    np.testing.assert_array_equal(ds.targets, fine)
    np.testing.assert_array_equal(ds[2].image(), images[2])
    assert ds[2].meta["coarse_label"] == coarse[2]
    assert ds[2].meta["coarse_class"] == f"coarse_{coarse[2]}"
    assert open_dataset(tmp_path).split == "test"


def test_missing_train_batch_is_named(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetError, match="data_batch_3 is missing"):
        open_dataset(tmp_path, split="train")
    assert len(open_dataset(tmp_path)) == 4  # test split still opens


def test_label_outside_classes_is_a_dataset_error(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    entry = safe_pickle.load_path(path)
    entry["labels"][2] = 10
    write_py2_pickle(path, entry)
    with pytest.raises(DatasetError, match="label 10 of sample test_batch/00002"):
        open_dataset(tmp_path)


def test_wrong_data_shape_names_file_and_key(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    entry = safe_pickle.load_path(path)
    entry["data"] = entry["data"][:, :100]
    write_py2_pickle(path, entry)
    with pytest.raises(DatasetError, match="test_batch 'data' should be N x 3072 uint8"):
        open_dataset(tmp_path)


def test_truncated_pickle_is_a_dataset_error(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DatasetError, match=r"cannot read .*test_batch"):
        open_dataset(tmp_path)


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_hostile_pickle_is_refused_and_does_not_run(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"data": _Exploit(marker), "labels": []}, protocol=2)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(payload)
    with pytest.raises(DatasetError, match=r"refused to load (posix|nt|os).system"):
        open_dataset(tmp_path)
    with pytest.raises(pickle.UnpicklingError):
        safe_pickle.loads(payload)
    assert not marker.exists()
    pickle.loads(payload)  # the same bytes through the plain unpickler do run: the test is real
    assert marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_safe_pickle_reads_numpy_arrays_of_every_protocol(protocol: int) -> None:
    obj = {"a": np.arange(12, dtype=np.uint8).reshape(3, 4), "b": [np.int64(3), 1.5, "x"], "c": {1, 2}}
    out = safe_pickle.loads(pickle.dumps(obj, protocol=protocol))
    np.testing.assert_array_equal(out["a"], obj["a"])
    assert out["b"] == obj["b"] and out["c"] == {1, 2}


@pytest.mark.parametrize("name", ["builtins.eval", "subprocess.Popen", "numpy.load", "builtins.getattr"])
def test_safe_pickle_refuses_other_globals(name: str) -> None:
    module, attr = name.rsplit(".", 1)
    payload = b"\x80\x02c" + module.encode() + b"\n" + attr.encode() + b"\n."
    with pytest.raises(safe_pickle.ForbiddenGlobal, match=name):
        safe_pickle.loads(payload)
