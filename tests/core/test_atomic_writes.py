"""Every file CV Lens writes goes through core.system.files: whole or not at all, no temporary file left over."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from core.inference.mask_store import MaskStore, SegmentationPredictions
from core.models.cards import bundled_cards
from core.system.files import atomic_writer, write_atomic
from tests.core.test_evaluation import single_label


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_stream_replaces_the_file_only_when_it_ends_well(tmp_path: Path, umask_022) -> None:
    target = tmp_path / "arrays.npz"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="stopped"), atomic_writer(target, suffix=".tmp.npz") as out:
        np.savez(out, a=np.arange(3))
        raise ValueError("stopped halfway")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["arrays.npz"]

    with atomic_writer(target, suffix=".tmp.npz") as out:
        np.savez(out, a=np.arange(3))
    with np.load(target) as data:
        assert data["a"].tolist() == [0, 1, 2]
    assert mode(target) == 0o644 and [p.name for p in tmp_path.iterdir()] == ["arrays.npz"]


def test_write_atomic_leaves_nothing_when_the_rename_fails(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(OSError):
        write_atomic(tmp_path / "taken", b"data")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_a_model_card_that_cannot_be_saved_leaves_no_temporary_file(tmp_path: Path) -> None:
    card = bundled_cards()[0]
    (tmp_path / "card.json").mkdir()
    with pytest.raises(OSError):
        card.save(tmp_path / "card.json")
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]
    card.save(tmp_path / "saved.json")
    assert (tmp_path / "saved.json").read_text(encoding="utf-8") == card.to_json()


def test_predictions_that_cannot_be_saved_leave_no_temporary_file(tmp_path: Path, umask_022) -> None:
    _, preds = single_label("multiclass", n=20)
    (tmp_path / "run.npz").mkdir()
    with pytest.raises(OSError):
        preds.save(tmp_path / "run.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]
    preds.save(tmp_path / "saved.npz")
    assert mode(tmp_path / "saved.npz") == 0o644


def test_a_segmentation_sample_that_cannot_be_stored_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = MaskStore(tmp_path / "samples")
    store.path(0).mkdir(parents=True)
    with pytest.raises(OSError):
        store.write(0, np.zeros((4, 5), np.uint8), np.zeros((2, 4, 5), np.uint8))
    assert [p.name for p in store.folder.iterdir()] == [store.path(0).name]
    store.write(1, np.ones((4, 5), np.uint8), np.zeros((2, 4, 5), np.uint8))
    with np.load(io.BytesIO(store.path(1).read_bytes())) as data:
        assert data["mask"].tolist() == np.ones((4, 5)).tolist() and data["probs"].shape == (2, 4, 5)


def test_a_segmentation_run_whose_index_cannot_be_written_leaves_no_temporary_file(tmp_path: Path) -> None:
    preds = SegmentationPredictions.empty(["bg", "cat"], ["a", "b"], tmp_path / "run", model="m", device="cpu")
    (tmp_path / "run" / "run.json").mkdir(parents=True)
    with pytest.raises(OSError):
        preds.save()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["confusions.npz", "run.json"]
