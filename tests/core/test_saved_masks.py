"""Saved masks keep their history in the project store: every save a version, undo across saves and restarts,
a v2 store migrated, and a run's stored predictions re-scored against a new true mask."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

import core.labels.location as location
from core.datasets import open_dataset
from core.inference.mask_store import SegmentationPredictions
from core.inference.rescoring import rescore
from core.labels import SCHEMA_VERSION, open_project
from core.labels.schema import _SCHEMA_V2
from core.masks.writers import WithSavedMasks, newest_mask
from core.metrics import pixel_confusion_matrix, segmentation_report
from tests.fake_datasets import write_voc


@pytest.fixture
def voc(tmp_path: Path):
    root, _, masks = write_voc(tmp_path / "data")
    return open_dataset(root, split="train"), masks


def painted(mask: np.ndarray, value: int, rows: slice) -> np.ndarray:
    out = mask.copy()
    out[rows] = value
    return out


def reopen(project, dataset):
    """A restart: the store closed and opened again from its file."""
    project.store.close()
    return open_project(dataset)


def test_a_second_save_keeps_the_first_and_undo_walks_back_across_a_restart(voc) -> None:
    dataset, _ = voc
    project = open_project(dataset)
    original = dataset.load_mask(1)
    first, second = painted(original, 3, slice(0, 2)), painted(original, 7, slice(4, 6))
    project.save_mask(1, first)
    project.save_mask(1, second)
    versions = project.mask_versions(1)
    assert len(versions) == 2 and versions[0].user and versions[0].time <= versions[1].time
    assert np.array_equal(project.load_saved_mask(1), second)
    assert (project.store.folder / versions[0].file).is_file()  # the earlier save is still there

    project = reopen(project, dataset)
    assert np.array_equal(project.load_saved_mask(1), second)
    assert project.undo() is not None  # Ctrl+Z after a restart: back to the first save
    assert np.array_equal(project.load_saved_mask(1), first)
    project = reopen(project, dataset)
    assert np.array_equal(project.load_saved_mask(1), first)
    project.undo()  # back to the dataset's own mask
    assert project.saved_mask(1) is None and project.saved_masks() == {}
    project.redo()
    assert np.array_equal(project.load_saved_mask(1), first)
    lines = [(e.field, e.old, e.new, e.kind) for e in project.history(1)]
    assert lines[0] == ("mask", "the dataset's mask", f"saved mask #{versions[0].id}", "edit")
    assert len(lines) == 5  # two saves, two undos, one redo
    project.store.close()


def test_the_editor_and_the_labels_read_the_newest_saved_mask(voc, tmp_path: Path) -> None:
    dataset, _ = voc
    project = open_project(dataset)
    edited = painted(dataset.load_mask(0), 5, slice(2, 3))
    project.save_mask(0, edited)
    mask, source = newest_mask(dataset, 0, project, tmp_path / "nowhere")
    assert np.array_equal(mask, edited) and "your mask saved" in source and "(of 1 saved)" in source
    assert np.array_equal(WithSavedMasks(dataset, tmp_path / "nowhere", project).load_mask(0), edited)
    mask, source = newest_mask(dataset, 2, project, tmp_path / "nowhere")
    assert np.array_equal(mask, dataset.load_mask(2)) and source == "the dataset's own mask"
    project.store.close()


def test_a_damaged_saved_mask_is_an_error_not_the_original(voc) -> None:
    dataset, _ = voc
    project = open_project(dataset)
    project.save_mask(0, dataset.load_mask(0))
    (project.store.folder / project.saved_mask(0).file).write_bytes(b"not a png")
    with pytest.raises(Exception, match="changed or damaged"):
        WithSavedMasks(dataset, "/nowhere", project).load_mask(0)
    project.store.close()


def test_a_v2_store_is_migrated_with_its_edits_and_undo(tmp_path: Path) -> None:
    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="train")
    folder = location.beside_folder(root, dataset.layout)
    folder.mkdir(parents=True)
    with sqlite3.connect(folder / "project.sqlite") as conn:
        conn.executescript(
            _SCHEMA_V2
            + ";INSERT INTO meta VALUES ('schema_version', '2');"
            + "INSERT INTO view_state VALUES ('browser', '{\"sort\": \"iou\"}');"
            + "INSERT INTO steps VALUES (1, 'edit', NULL, 'done', 'note of a', 'ada', 1000.0);"
            + f"INSERT INTO edits VALUES (1, 1, 'train', '{dataset.sample_ids[0]}', 'note', NULL, '\"torn\"');"
            + f"INSERT INTO current VALUES ('train', '{dataset.sample_ids[0]}', 'note', '\"torn\"');"
        )
    project = open_project(dataset)
    assert project.store.migrated_from == 2 and not project.read_only
    assert project.notes() == {0: "torn"} and project.store.get_view("browser") == {"sort": "iou"}
    assert len(list(folder.glob("project.v2-backup-*.sqlite"))) == 1
    project.save_mask(0, dataset.load_mask(0))  # the new field and table exist
    project.undo()
    project.undo()  # the migrated edit is still an undo step
    assert project.notes() == {} and project.saved_masks() == {}
    assert project.store.integrity_check() == "ok"
    project.store.close()
    with sqlite3.connect(folder / "project.sqlite") as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"edits_sample", "edits_step", "mask_versions_sample"} <= indexes


def fake_run(dataset, folder: Path) -> SegmentationPredictions:
    """A run whose prediction of every sample is its true mask with the top rows set to class 1."""
    preds = SegmentationPredictions.empty(dataset.classes, dataset.sample_ids, folder)
    c = len(dataset.classes)
    for i in range(len(dataset)):
        truth = dataset.load_mask(i)
        predicted = painted(np.where(truth == 255, 0, truth).astype(np.uint8), 1, slice(0, 3))
        probs = np.zeros((c, 2, 2), np.uint8)
        preds.record(i, predicted, probs, pixel_confusion_matrix(truth, predicted, c, 255))
    return preds


def test_a_run_is_rescored_against_a_saved_mask_without_running_the_model(voc, tmp_path: Path) -> None:
    dataset, _ = voc
    preds = fake_run(dataset, tmp_path / "run")
    before = preds.per_image_scores()["mean_iou"].copy()
    totals_before = preds.confusion()
    project = open_project(dataset)
    project.save_mask(1, preds.mask(1))  # the user agrees with the model on sample 1
    list(rescore(preds, WithSavedMasks(dataset, tmp_path / "out", project), [1]))
    after = preds.per_image_scores()["mean_iou"]
    assert after[1] == pytest.approx(1.0) and before[1] < 1.0
    assert np.array_equal(after[[0, 2]], before[[0, 2]])  # the others keep their scores
    expected = totals_before - pixel_confusion_matrix(dataset.load_mask(1), preds.mask(1), 21, 255)
    expected += pixel_confusion_matrix(preds.mask(1), preds.mask(1), 21, 255)
    assert np.array_equal(preds.confusion(), expected)  # the dataset totals are the new sum
    assert segmentation_report(preds.image_confusion(1))["pixel_accuracy"] == 1.0
    project.store.close()
