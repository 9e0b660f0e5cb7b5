"""A run's embeddings kept in the project store beside its predictions, and the 2-D maps made of them."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import core.labels.location as location
from core.analysis.projection import compute_map
from core.inference.predictions import Predictions
from core.labels import SCHEMA_VERSION, ProjectStore, StoreError, StoreReadOnlyError, StoreWriteError, open_project
from core.labels.project import Project
from core.labels.schema import _SCHEMA_V3
from core.tasks.classification import write
from tests.core.test_labels_support import synthetic
from tests.core.test_store_runs import predictions


def embeddings_for(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    """Float32 rows with four clusters (a map has something to separate)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, dim)) * 5
    return (centres[np.arange(n) % 4] + rng.normal(size=(n, dim))).astype(np.float32)


def saved_with_embeddings(tmp_path: Path, n: int = 60):
    dataset = synthetic(tmp_path / "ds", n, classes=4)
    project = open_project(dataset)
    rows = embeddings_for(n)
    run = project.save_run(predictions(dataset, dataset.targets), embeddings=rows)
    return dataset, project, run, rows


def test_embeddings_are_kept_with_the_run_and_read_back_memory_mapped(tmp_path: Path) -> None:
    dataset, project, run, rows = saved_with_embeddings(tmp_path)
    plain = project.save_run(predictions(dataset, dataset.targets), name="no embeddings")
    assert run.has_embeddings and not plain.has_embeddings and plain.embeddings_file is None
    npz, npy = Path(run.predictions_file), Path(run.embeddings_file)
    assert npy.parent == npz.parent == Path("runs") and npy.name == npz.stem + ".embeddings.npy"
    project.store.close()

    project = open_project(dataset)  # reopened: the row says where they are
    first, second = project.runs()
    loaded = project.load_run_embeddings(first)
    assert isinstance(loaded, np.memmap) and not loaded.flags.writeable
    assert loaded.dtype == np.float16 and loaded.shape == (60, 16)
    np.testing.assert_array_equal(loaded, rows.astype(np.float16))
    assert project.load_run_embeddings(second) is None and project.load_run_embeddings(first.id).shape == (60, 16)
    files = sorted(p.name for p in project.store.runs_folder.iterdir())
    assert len(files) == 3 and not any(".tmp" in f for f in files)
    project.store.close()


def test_embeddings_that_are_not_one_row_per_sample_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    dataset = synthetic(tmp_path / "ds", 20, classes=4)
    project = open_project(dataset)
    with pytest.raises(ValueError, match=r"embeddings must be 20 x D"):
        project.save_run(predictions(dataset, dataset.targets), embeddings=np.zeros((19, 8), np.float16))
    assert project.runs() == [] and not project.store.runs_folder.exists()
    project.store.close()


def test_a_failed_insert_leaves_neither_predictions_nor_embeddings(tmp_path: Path) -> None:
    dataset = synthetic(tmp_path / "ds", 20, classes=4)
    project = open_project(dataset)
    with project.store.writing("make inserts fail") as conn:
        conn.execute("CREATE TRIGGER no_runs BEFORE INSERT ON runs BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
    with pytest.raises(StoreWriteError):
        project.save_run(predictions(dataset, dataset.targets), embeddings=embeddings_for(20))
    assert project.runs() == [] and list(project.store.runs_folder.iterdir()) == []
    project.store.close()


def test_a_full_disk_while_writing_the_embeddings_leaves_nothing_of_the_run(tmp_path: Path, monkeypatch) -> None:
    dataset = synthetic(tmp_path / "ds", 20, classes=4)
    project = open_project(dataset)

    write_array = np.lib.format.write_array

    def full_disk(out, array, *args, **options):  # the predictions' arrays fit, the embeddings do not
        if array.dtype != np.float16:
            return write_array(out, array, *args, **options)
        out.write(b"\x93NUMPY half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", full_disk)
    with pytest.raises(StoreWriteError, match=r"embeddings.*No space left on device\. Nothing of the run was saved"):
        project.save_run(predictions(dataset, dataset.targets), embeddings=embeddings_for(20))
    assert project.runs() == [] and list(project.store.runs_folder.iterdir()) == []
    project.store.close()


def test_half_written_files_a_crash_left_are_removed_when_the_store_opens(tmp_path: Path) -> None:
    dataset, project, run, _ = saved_with_embeddings(tmp_path)
    runs = project.store.runs_folder
    project.store.close()
    (runs / ".run-0123.embeddings.npy.ab12cd34.tmp.npy").write_bytes(b"half")
    (runs / ".run-0123.npz.ab12cd34.tmp.npz").write_bytes(b"half")
    project = open_project(dataset)
    assert sorted(p.name for p in runs.iterdir()) == sorted(
        Path(f).name for f in (run.predictions_file, run.embeddings_file)
    )
    assert project.load_run_embeddings(run).shape == (60, 16)
    project.store.close()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncated", "cannot be read from .*: the file is cut short"),
        ("garbage", "cannot be read"),
        ("empty", "the file is cut short"),
        ("gone", "are missing"),
        ("float32", "not N x D float16"),
        ("a folder", "cannot be read"),
        ("fewer rows", "have 59 rows, not one per sample"),
    ],
)
def test_damaged_embeddings_are_a_store_error_that_says_so(tmp_path: Path, damage: str, message: str) -> None:
    _, project, run, rows = saved_with_embeddings(tmp_path)
    path = project.store.folder / run.embeddings_file
    data = path.read_bytes()
    path.unlink()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "float32":
        np.save(path, rows)
    elif damage == "a folder":
        path.mkdir()
    elif damage == "fewer rows":
        np.save(path, rows[:59].astype(np.float16))
    with pytest.raises(StoreError, match=message) as error:
        project.load_run_embeddings(run)
    assert f"run {run.id}" in str(error.value)
    assert project.load_run(run).num_done == 60  # the predictions are still there
    project.store.close()


def test_embeddings_of_other_samples_than_the_dataset_has_now_are_refused(tmp_path: Path) -> None:
    dataset, project, run, _ = saved_with_embeddings(tmp_path, n=50)
    project.store.close()
    grown = synthetic(tmp_path / "ds", 60, classes=4)  # ten images added to the folder since the run
    project = open_project(grown)
    with pytest.raises(StoreError, match="dataset changed since the run"):
        project.load_run_embeddings(run)
    assert project.load_run(run).num_done == 50
    project.store.close()

    project = open_project(dataset)
    order = np.random.default_rng(0).permutation(50)  # the same samples, predicted in another order
    full = predictions(dataset, dataset.targets)
    shuffled = Predictions(
        "multiclass", dataset.classes, [dataset.sample_ids[i] for i in order], full.scores[order], np.ones(50, bool)
    )
    other = project.save_run(shuffled, embeddings=embeddings_for(50), metrics={})
    with pytest.raises(StoreError, match="made for other samples than the dataset has now"):
        project.load_run_embeddings(other)
    project.store.close()


@pytest.mark.parametrize("name", ["../../outside.npy", "{outside}", "runs/../../../outside.npy", "runs/link.npy"])
def test_a_row_naming_a_file_outside_the_store_is_refused(tmp_path: Path, name: str) -> None:
    _, project, run, rows = saved_with_embeddings(tmp_path)
    outside = tmp_path / "outside.npy"
    np.save(outside, rows.astype(np.float16))  # a valid file: only where it is makes it wrong
    (project.store.runs_folder / "link.npy").symlink_to(outside)
    name = name.format(outside=outside)
    with project.store.writing("tamper") as conn:
        conn.execute("UPDATE runs SET embeddings = ?, predictions = ? WHERE id = ?", (name, name, run.id))
    tampered = project.runs()[0]
    with pytest.raises(StoreError, match=r"not inside its folder|leads out of its folder"):
        project.load_run_embeddings(tampered)
    with pytest.raises(StoreError, match=r"not inside its folder|leads out of its folder"):
        project.load_run(tampered)
    project.store.close()


def test_the_map_of_a_run_is_kept_and_found_again(tmp_path: Path) -> None:
    dataset, project, run, _ = saved_with_embeddings(tmp_path)
    assert project.load_run_map(run) is None  # none made yet
    coords, method = compute_map(project.load_run_embeddings(run), method="pca")
    project.save_run_map(run, coords, method)
    project.store.close()

    project = open_project(dataset)
    run = project.runs()[0]
    kept, kept_method = project.load_run_map(run)
    assert kept_method == "pca" and kept.dtype == np.float32
    np.testing.assert_array_equal(kept, coords)
    assert project.load_run_map(run, "pacmap") is None  # one method's map is not another's
    finer = coords * 2 + 1
    project.save_run_map(run, finer, "pacmap")
    _, best = project.load_run_map(run)
    assert best == "pacmap"  # the best map kept comes first
    np.testing.assert_array_equal(project.load_run_map(run, "pca")[0], coords)
    project.save_run_map(run, coords, "pacmap")  # made again: replaced
    np.testing.assert_array_equal(project.load_run_map(run, "pacmap")[0], coords)
    assert not any(".tmp" in p.name for p in project.store.runs_folder.iterdir())
    project.store.close()


def test_a_map_is_refused_for_a_run_without_embeddings_or_of_the_wrong_shape(tmp_path: Path) -> None:
    dataset, project, run, _ = saved_with_embeddings(tmp_path)
    plain = project.save_run(predictions(dataset, dataset.targets))
    assert project.load_run_map(plain) is None
    with pytest.raises(ValueError, match="kept no embeddings"):
        project.save_run_map(plain, np.zeros((60, 2), np.float32), "pca")
    with pytest.raises(ValueError, match="must be 60 x 2"):
        project.save_run_map(run, np.zeros((59, 2), np.float32), "pca")
    with pytest.raises(ValueError, match="unknown map method"):
        project.save_run_map(run, np.zeros((60, 2), np.float32), "tsne")
    project.store.close()


def test_a_damaged_map_reads_as_none_and_is_made_again(tmp_path: Path) -> None:
    _, project, run, _ = saved_with_embeddings(tmp_path)
    coords = np.arange(120, dtype=np.float32).reshape(60, 2)
    project.save_run_map(run, coords, "umap")
    path = next(project.store.runs_folder.glob("*.map-umap.npy"))
    path.write_bytes(path.read_bytes()[:100])
    assert project.load_run_map(run) is None
    project.save_run_map(run, coords, "umap")
    np.testing.assert_array_equal(project.load_run_map(run)[0], coords)
    project.store.close()


def test_a_store_of_the_previous_schema_opens_and_keeps_its_runs(tmp_path: Path) -> None:
    dataset = synthetic(tmp_path / "ds", 30, classes=4)
    folder = location.beside_folder(dataset.root, dataset.layout)
    (folder / "runs").mkdir(parents=True)
    old = predictions(dataset, dataset.targets, "old net")
    write(folder / "runs" / "run-000000000001.npz", old)
    with sqlite3.connect(folder / "project.sqlite") as conn:
        conn.executescript(
            _SCHEMA_V3
            + ";INSERT INTO meta VALUES ('schema_version', '3');"
            + "INSERT INTO runs (id, name, model, settings, time, user, device, split, predictions, metrics) "
            + "VALUES (1, 'old net', 'old net', '{}', 1000.0, 'ada', 'cpu', '', 'runs/run-000000000001.npz', "
            + '\'{"task": "multiclass", "accuracy": 1.0}\')'
        )
    project = open_project(dataset)
    assert project.store.migrated_from == 3 and not project.read_only and SCHEMA_VERSION == 5  # through v4
    assert len(list(folder.glob("project.v3-backup-*.sqlite"))) == 1
    (run,) = project.runs()
    assert run.name == "old net" and not run.has_embeddings and run.headline == "accuracy 100.0%"
    assert project.load_run_embeddings(run) is None and project.load_run_map(run) is None
    np.testing.assert_array_equal(project.load_run(run).scores, old.scores)
    new = project.save_run(predictions(dataset, dataset.targets), embeddings=embeddings_for(30))
    assert project.load_run_embeddings(new).shape == (30, 16)
    assert project.store.integrity_check() == "ok"
    project.store.close()


def test_a_read_only_copy_reads_embeddings_and_maps_but_keeps_no_map(tmp_path: Path) -> None:
    dataset, project, run, rows = saved_with_embeddings(tmp_path)
    coords = np.zeros((60, 2), np.float32)
    project.save_run_map(run, coords, "pca")
    second = Project(ProjectStore.open(dataset.root, dataset.layout, shared=False), dataset)  # another copy
    assert second.read_only
    np.testing.assert_array_equal(second.load_run_embeddings(run), rows.astype(np.float16))
    assert second.load_run_map(run)[1] == "pca"
    with pytest.raises(StoreReadOnlyError, match="Cannot keep the map"):
        second.save_run_map(run, coords, "pacmap")
    assert second.load_run_map(run, "pacmap") is None
    second.store.close()
    project.store.close()
