"""CIFAR-10 / CIFAR-100 pickles, and the restricted unpickler that reads them."""

from __future__ import annotations

import json
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


# -- reopening from the index of each batch (core.datasets.readers.cifar_cache) ---------------------------
from core.datasets.readers import cifar_cache  # noqa: E402


@pytest.fixture
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder of this test's own: the indexes it writes are looked at and damaged."""
    folder = tmp_path / "data"
    monkeypatch.setenv("CVLENS_DATA_DIR", str(folder))
    return folder


def _everything(ds) -> tuple:
    """What a user sees of a dataset: ids, labels, pixels and meta of every sample."""
    return (
        list(ds.sample_ids),
        ds.targets.tolist(),
        np.stack([ds[i].image() for i in range(len(ds))]),
        [ds[i].meta for i in range(len(ds))],
    )


def _assert_same(a: tuple, b: tuple) -> None:
    assert a[0] == b[0] and a[1] == b[1] and a[3] == b[3]
    np.testing.assert_array_equal(a[2], b[2])


@pytest.mark.parametrize("py2", [True, False])
def test_cifar10_reopen_maps_the_pickles_and_gives_the_same_samples(tmp_path: Path, data_folder: Path, py2) -> None:
    expected = write_cifar10(tmp_path, per_batch=4, py2=py2)
    first = open_dataset(tmp_path, split="train")
    assert len(list((data_folder / "cache" / "cifar").glob("*.npz"))) == 5  # one index a batch
    again = open_dataset(tmp_path, split="train")
    assert all(isinstance(part, np.memmap) for part in again.images.parts)  # mapped, not parsed
    _assert_same(_everything(first), _everything(again))
    np.testing.assert_array_equal(again.targets, expected["train"][1])
    np.testing.assert_array_equal(np.stack([again[i].image() for i in range(20)]), expected["train"][0])


def test_cifar100_reopen_keeps_fine_and_coarse_labels(tmp_path: Path, data_folder: Path) -> None:
    write_cifar100(tmp_path)
    first = _everything(open_dataset(tmp_path / "cifar-100-python", split="train"))
    again = open_dataset(tmp_path / "cifar-100-python", split="train")
    assert isinstance(again.images.base, np.memmap) or isinstance(again.images, np.memmap)
    _assert_same(first, _everything(again))
    assert again[0].meta["coarse_class"].startswith("coarse_")


def test_a_rewritten_batch_is_parsed_again(tmp_path: Path, data_folder: Path) -> None:
    write_cifar10(tmp_path, per_batch=4, seed=0)
    open_dataset(tmp_path, split="test")
    expected = write_cifar10(tmp_path, per_batch=4, n_test=6, seed=1)  # new pixels and labels, one more row
    ds = open_dataset(tmp_path, split="test")
    assert len(ds) == 6
    np.testing.assert_array_equal(ds.targets, expected["test"][1])
    np.testing.assert_array_equal(ds[5].image(), expected["test"][0][5])


def test_a_same_size_change_with_the_old_mtime_is_seen_in_the_hashed_ends(tmp_path: Path, data_folder: Path) -> None:
    expected = write_cifar10(tmp_path, per_batch=4)
    batch = tmp_path / "cifar-10-batches-py" / "test_batch"
    open_dataset(tmp_path, split="test")
    offset = cifar_cache.load(batch, 3072).data.offset
    status = batch.stat()
    data = bytearray(batch.read_bytes())
    data[offset + 4 * 3072 - 1] ^= 0xFF  # the last byte of the last image: its blue channel's last pixel
    batch.write_bytes(bytes(data))
    os.utime(batch, ns=(status.st_atime_ns, status.st_mtime_ns))  # same size, same mtime
    assert cifar_cache.load(batch, 3072) is None
    image = open_dataset(tmp_path, split="test")[3].image()
    assert image[31, 31, 2] == expected["test"][0][3][31, 31, 2] ^ 0xFF
    np.testing.assert_array_equal(image[:31], expected["test"][0][3][:31])


def test_a_truncated_batch_invalidates_its_index_and_says_why(tmp_path: Path, data_folder: Path) -> None:
    write_cifar10(tmp_path, per_batch=4)
    open_dataset(tmp_path, split="test")
    batch = tmp_path / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(batch.read_bytes()[:5000])
    with pytest.raises(DatasetError, match="cannot read"):
        open_dataset(tmp_path, split="test")


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated index
        lambda raw: b"not a zip file at all",
        lambda raw: b"",
    ],
)
def test_a_corrupt_index_is_ignored(tmp_path: Path, data_folder: Path, damage) -> None:
    write_cifar10(tmp_path, per_batch=4)
    first = _everything(open_dataset(tmp_path, split="test"))
    (index,) = (data_folder / "cache" / "cifar").glob("*.npz")
    index.write_bytes(damage(index.read_bytes()))
    _assert_same(first, _everything(open_dataset(tmp_path, split="test")))


def _rewrite_index(index: Path, **changes) -> None:
    with np.load(index, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    key = json.loads(bytes(arrays["key"]).decode())
    key.update({k: v for k, v in changes.items() if k in key or k in ("offset", "rows")})
    arrays["key"] = np.frombuffer(json.dumps(key).encode(), dtype=np.uint8)
    for name in ("labels", "filenames"):
        if name in changes:
            arrays[name] = changes[name]
    np.savez(index, **arrays)  # the name ends in .npz: written in place


@pytest.mark.parametrize(
    "changes",
    [
        {"offset": 10**9},  # past the end of the file
        {"offset": -1},
        {"rows": 10**6},  # more rows than the file holds
        {"offset": 1.5},
        {"labels": np.arange(3, dtype=np.int64)},  # fewer labels than rows
        {"labels": np.zeros(4, dtype=np.float64)},
        {"filenames": np.array([b"a"] * 9)},
        {"path": "/elsewhere/test_batch"},
        {"version": 0},
    ],
    ids=lambda c: next(iter(c)),
)
def test_a_tampered_index_is_never_trusted(tmp_path: Path, data_folder: Path, changes) -> None:
    write_cifar10(tmp_path, per_batch=4)
    first = _everything(open_dataset(tmp_path, split="test"))
    (index,) = (data_folder / "cache" / "cifar").glob("*.npz")
    _rewrite_index(index, **changes)
    batch = (tmp_path / "cifar-10-batches-py" / "test_batch").resolve()
    assert cifar_cache.load(batch, 3072) is None
    _assert_same(first, _everything(open_dataset(tmp_path, split="test")))


def test_a_data_folder_that_cannot_be_written_only_costs_the_index(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("CVLENS_DATA_DIR", str(blocker / "data"))  # a folder under a file: mkdir fails
    expected = write_cifar10(tmp_path, per_batch=4)
    for _ in range(2):
        np.testing.assert_array_equal(open_dataset(tmp_path, split="test").targets, expected["test"][1])


def test_the_index_folder_drops_indexes_of_gone_batches_and_keeps_the_most_recently_opened(
    tmp_path: Path, data_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    indexes = data_folder / "cache" / "cifar"
    write_cifar10(tmp_path / "a", per_batch=2)
    write_cifar10(tmp_path / "b", per_batch=2)
    open_dataset(tmp_path / "a", split="test")
    open_dataset(tmp_path / "b", split="test")
    assert len(list(indexes.glob("*.npz"))) == 2
    shutil.rmtree(tmp_path / "a")  # a dataset deleted: its index goes when the next one is written
    write_cifar10(tmp_path / "c", per_batch=2)
    open_dataset(tmp_path / "c", split="test")
    survivors = {cifar_cache._source(path) for path in indexes.glob("*.npz")}
    assert survivors == {_batch(tmp_path / "b"), _batch(tmp_path / "c")}

    (indexes / "foreign.npz").write_bytes(b"not an index")  # unreadable: kept, it says nothing of a batch
    monkeypatch.setattr(cifar_cache, "MAX_INDEXES", 2)
    os.utime(indexes / "foreign.npz", ns=(1, 1))  # the oldest
    open_dataset(tmp_path / "b", split="test")  # an open touches its index: b is the most recent now
    write_cifar10(tmp_path / "d", per_batch=2)
    open_dataset(tmp_path / "d", split="test")  # a write prunes: 3 readable + 1 foreign > 2
    names = sorted(p.name for p in indexes.glob("*.npz"))
    assert len(names) == 2 and "foreign.npz" not in names
    assert {cifar_cache._source(indexes / n) for n in names} == {_batch(tmp_path / "b"), _batch(tmp_path / "d")}
    again = open_dataset(tmp_path / "b", split="test")
    assert isinstance(again.images, np.memmap) or all(isinstance(p, np.memmap) for p in again.images.parts)


def _batch(parent: Path) -> str:
    return str((parent / "cifar-10-batches-py" / "test_batch").resolve())
