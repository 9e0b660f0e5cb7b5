"""Hostile dataset files end as a DatasetError within seconds and under 2 GB (issue 11)."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, SampleError, open_dataset, safe_pickle
from tests.core.hostile import run_capped
from tests.fake_datasets import idx_bytes, write_cifar10, write_coco, write_images, write_mnist

# A 12 GiB bytearray: builtins.bytearray is allowed (protocol-5 arrays are rebuilt from one).
BYTEARRAY_BOMB = b"\x80\x02cbuiltins\nbytearray\n\x8a\x05\x00\x00\x00\x00\x03\x85R."
# LONG_BINPUT 2**30: the C unpickler would grow and zero a memo table of 2**30 entries (8 GiB).
MEMO_BOMB = b"\x80\x02Nr\x00\x00\x00\x40."


def _open_capped(root: Path) -> str:
    result = run_capped(
        f"""
        from core.datasets import DatasetError, open_dataset
        try:
            open_dataset({str(root)!r})
        except DatasetError as exc:
            print("DatasetError:", exc)
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize(
    ("payload", "message"),
    [(BYTEARRAY_BOMB, "refused bytearray"), (MEMO_BOMB, "refused memo index 1073741824")],
)
def test_cifar_allocation_bombs_are_refused_before_allocating(tmp_path: Path, payload: bytes, message: str) -> None:
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(payload)
    start = time.monotonic()
    out = _open_capped(tmp_path)
    assert "DatasetError" in out and message in out and "test_batch" in out
    assert time.monotonic() - start < 30


def test_pickle_cannot_call_ndarray_or_build_object_arrays() -> None:
    direct = b"\x80\x02cnumpy\nndarray\n\x8a\x05\x00\x00\x00\x00\x03\x85\x85R."
    with pytest.raises(safe_pickle.RefusedPickle, match=r"numpy\.ndarray"):
        safe_pickle.loads(direct)
    with pytest.raises(safe_pickle.RefusedPickle, match="dtype object"):
        safe_pickle.loads(pickle.dumps(np.array([1, "a"], dtype=object), protocol=2))
    with pytest.raises(safe_pickle.RefusedPickle, match=r"_codecs\.encode"):
        safe_pickle.loads(b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x04\x00\x00\x00zlib\x86R.")


def test_real_pickles_still_load_in_every_protocol() -> None:
    obj = {"data": np.arange(3072 * 2, dtype=np.uint8).reshape(2, 3072), "labels": [1, 2], "n": np.int64(4)}
    for protocol in range(2, 6):
        out = safe_pickle.loads(pickle.dumps(obj, protocol=protocol))
        np.testing.assert_array_equal(out["data"], obj["data"])
        assert out["labels"] == [1, 2] and out["n"] == 4


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("label_names", 5, "'label_names' should be a list of class names, found int"),
        ("label_names", [b"a", 3] + [b"x"] * 8, "'label_names' should be a list of class names, found non-text"),
    ],
)
def test_cifar_meta_of_the_wrong_type_is_a_dataset_error(tmp_path: Path, key: str, value, message: str) -> None:
    write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "batches.meta"
    path.write_bytes(pickle.dumps({key: value}, protocol=2))
    with pytest.raises(DatasetError, match=message):
        open_dataset(tmp_path)


def test_cifar_labels_that_are_strings_are_a_dataset_error(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    entry = safe_pickle.load_path(path)
    entry["labels"] = [str(v) for v in entry["labels"]]
    path.write_bytes(pickle.dumps(entry, protocol=2))
    with pytest.raises(DatasetError, match="'labels' should be a list of integer class indices"):
        open_dataset(tmp_path)


def test_cifar_batch_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_2"
    path.unlink()
    os.mkfifo(path)
    start = time.monotonic()
    with pytest.raises(DatasetError, match="FIFO"):
        open_dataset(tmp_path, split="train")
    assert time.monotonic() - start < 5


def _mnist_gz(folder: Path, header_shape: tuple[int, ...], payload: bytes) -> None:
    """Replace the test images with a .gz whose IDX header declares ``header_shape``."""
    write_mnist(folder, gz=True)
    header = b"\0\0\x08" + bytes([len(header_shape)]) + struct.pack(f">{len(header_shape)}I", *header_shape)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + payload, compresslevel=1))


def test_mnist_gzip_that_inflates_past_its_header_stops_at_the_declared_size(tmp_path: Path) -> None:
    # 3 images declared, 200 MB of zeros behind them (200 KB compressed): read 3 x 28 x 28 + 1 bytes
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    header = b"\0\0\x08\x03" + struct.pack(">3I", 3, 28, 28)
    chunk = bytes(1 << 20)
    body = compressor.compress(header) + b"".join(compressor.compress(chunk) for _ in range(200))
    write_mnist(tmp_path, gz=True)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(body + compressor.flush())
    out = _open_capped(tmp_path)
    assert "header says 3 x 28 x 28 values" in out and "the file holds more" in out


def test_mnist_gzip_declaring_gigabytes_is_refused_from_its_header(tmp_path: Path) -> None:
    _mnist_gz(tmp_path, (10_000, 1024, 1024), b"")
    out = _open_capped(tmp_path)
    assert "header declares 10485760000 values" in out and "decompress it first" in out


def test_mnist_header_whose_dimensions_overflow_int64_is_a_size_error(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    # 2**31 x 2**31 x 4 = 2**64: np.prod overflowed to 0, so a bare header passed the size check
    header = b"\0\0\x08\x03" + struct.pack(">3I", 1 << 31, 1 << 31, 4)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(header)
    with pytest.raises(DatasetError, match="header says 2147483648 x 2147483648 x 4 values"):
        open_dataset(tmp_path)


def test_mnist_images_that_are_a_fifo_are_refused_without_blocking(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    labels.unlink()
    os.mkfifo(labels)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(3, np.uint8))))
    start = time.monotonic()
    ds = open_dataset(tmp_path)  # the FIFO is passed over for the .gz beside it
    assert len(ds) == 3 and time.monotonic() - start < 5


def _ten_classes(root: Path) -> None:
    write_images(root, [f"c{i}/img{j}.png" for i in range(10) for j in range(2)])


def test_a_looping_symlink_in_a_class_folder_keeps_the_folder_and_fails_alone(tmp_path: Path) -> None:
    _ten_classes(tmp_path)
    loop = tmp_path / "c3" / "loop.png"
    loop.symlink_to(loop)
    ds = open_dataset(tmp_path)
    assert ds.classes == [f"c{i}" for i in range(10)]  # c3 did not vanish, later classes did not shift
    assert ds.targets[ds.sample_ids.index("c9/img1.png")] == 9
    bad = ds.sample_ids.index("c3/loop.png")
    with pytest.raises(SampleError, match=r"loop\.png: cannot read"):
        ds[bad].image()
    assert ds[bad + 1].image().shape[2] == 3


def test_a_class_folder_that_cannot_be_listed_stays_a_class_and_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ten_classes(tmp_path)
    real = os.scandir

    def scandir(path):
        if Path(path).name == "c4":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    ds = open_dataset(tmp_path)
    assert len(ds.classes) == 10 and ds.classes[4] == "c4" and len(ds) == 18
    assert ds.targets[ds.sample_ids.index("c5/img0.png")] == 5
    assert any("c4: cannot be listed (Permission denied)" in notice for notice in ds.notices)


def _edit_coco(root: Path, edit) -> None:
    path = write_coco(root)
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _category_id(data, index, value):
    data["categories"][index]["id"] = value
    for ann in data["annotations"]:
        ann["category_id"] = data["categories"][0]["id"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: _category_id(d, 1, str(d["categories"][1]["id"])),
            r"categories\[1\] has id '\d+'; ids are integers",
        ),
        (lambda d: d["images"][0].update(id=[1, 2]), r"images\[0\] has id \[1, 2\]; ids are integers"),
        (lambda d: d["images"][1].update(height="tall"), r"images\[1\] \(.*\) has height 'tall'; expected pixels"),
        (lambda d: d["images"][1].update(width=-4), "has width -4"),
        (lambda d: d["images"][2].update(id=d["images"][0]["id"]), r"images\[0\] .* and images\[2\] .* share id"),
        (lambda d: d["images"][0].update(file_name=None), "has file_name None"),
        (
            lambda d: d["categories"].extend({"id": 1000 + i, "name": f"c{i}"} for i in range(300)),
            "categories; CV Lens's masks hold at most 254",
        ),
    ],
)
def test_coco_entries_of_the_wrong_kind_are_dataset_errors(tmp_path: Path, edit, message: str) -> None:
    _edit_coco(tmp_path, edit)
    with pytest.raises(DatasetError, match=message):
        open_dataset(tmp_path, task="segmentation")


def test_coco_with_more_categories_than_a_mask_holds_opens_for_its_objects(tmp_path: Path) -> None:
    _edit_coco(tmp_path, lambda d: d["categories"].extend({"id": 1000 + i, "name": f"c{i}"} for i in range(300)))
    ds = open_dataset(tmp_path)
    assert ds.tasks == ("instance_segmentation", "detection") and len(ds.classes) == 303


@pytest.mark.parametrize("name", ["../../outside/secret.png", "/dev/zero", "~/secret.png"])
def test_a_coco_file_name_outside_the_dataset_is_not_read(tmp_path: Path, name: str) -> None:
    outside = tmp_path / "outside"
    write_images(outside, ["secret.png"])
    root = tmp_path / "data" / "coco"
    _edit_coco(root, lambda d: d["images"][0].update(file_name=name))
    ds = open_dataset(root)
    with pytest.raises(SampleError, match="outside its folder"):
        ds[0].image()
    with pytest.raises(SampleError, match="outside its folder"):
        ds[0].instances()
    with pytest.raises(SampleError, match="outside its folder"):
        ds.with_task("segmentation")[0].mask()
    assert ds[1].image().shape == (12, 16, 3)  # the rest of the dataset reads


def test_a_file_outside_is_read_when_the_user_allows_it(tmp_path: Path) -> None:
    write_images(tmp_path / "outside", ["secret.png"], size=(12, 16))
    root = tmp_path / "data"
    _edit_coco(root, lambda d: d["images"][0].update(file_name="../../outside/secret.png"))
    ds = open_dataset(root)
    ds.allow_outside_root = True
    assert ds[0].image().shape == (12, 16, 3)


def test_a_probe_that_hits_an_unreadable_folder_is_a_reason_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ten_classes(tmp_path)
    real_is_dir = Path.is_dir

    def is_dir(self: Path) -> bool:  # what a folder without execute permission does to a probe
        if self.name in ("VOCdevkit", "annotations"):
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_dir(self)

    monkeypatch.setattr(Path, "is_dir", is_dir)
    ds = open_dataset(tmp_path)  # the layouts that cannot look say so; the image folder still opens
    assert ds.layout == "Image folder" and len(ds.classes) == 10


def test_a_label_file_that_cannot_be_read_is_a_dataset_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_cifar10(tmp_path)
    import core.datasets.readers.cifar as cifar

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cifar, "_read_batch", refuse)
    with pytest.raises(DatasetError, match="test_batch cannot be read \\(Permission denied\\)"):
        open_dataset(tmp_path)
