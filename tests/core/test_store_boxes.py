"""Box edits in the project store: one undo step per edit, undo/redo across a restart, classes stored by name,
the v4 -> v5 migration, and the dataset view whose load_boxes gives the edited truth."""

from __future__ import annotations

import json
import pickle
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from core.labels import SCHEMA_VERSION, location, open_project
from core.labels.schema import _SCHEMA_V4
from gui.state import labeled_view
from tests.box_fakes import TinyBoxes, write_tiny_boxes


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_tiny_boxes(tmp_path / "data")


def reopen(project, task: str = "detection"):
    project.store.close()
    return open_project(TinyBoxes(project.dataset.root, project.dataset.split, task))


def test_an_edit_is_one_step_and_survives_a_restart_with_undo_and_redo(root: Path) -> None:
    project = open_project(TinyBoxes(root))
    assert project.store.migrated_from is None and SCHEMA_VERSION == 5
    boxes, classes = project.boxes(0)
    assert classes.tolist() == [0, 1] and boxes.dtype == np.float32
    new_boxes = [*boxes.tolist(), [1.5, 2.5, 9.0, 8.0]]
    step = project.set_boxes(0, new_boxes, ["cat", "dog", "bird"], flags={"difficult": [False, True, False]})
    assert step.description == "boxes of a.png: 2 objects → 3 objects" and len(step.changes) == 1
    assert project.boxes(0)[1].tolist() == [0, 1, 2] and project.edited().tolist() == [True, False, False]
    assert project.set_boxes(0, new_boxes, [0, 1, 2], flags={"difficult": [False, True, False]}) is None  # no change
    project.set_boxes(2, [[0, 0, 5, 5]], [1])

    project = reopen(project)
    assert project.boxes(2)[1].tolist() == [1] and np.allclose(project.boxes(0)[0][2], [1.5, 2.5, 9, 8])
    assert project.objects(0).flag("difficult").tolist() == [False, True, False]
    assert project.store.undo_description == "boxes of c.png: 0 objects → 1 object"
    project.undo()
    project.undo()
    assert project.boxes(0)[1].tolist() == [0, 1] and len(project.boxes(2)[0]) == 0

    project = reopen(project)
    assert project.store.redo_description == "boxes of a.png: 2 objects → 3 objects"
    project.redo()
    assert project.boxes(0)[1].tolist() == [0, 1, 2]
    lines = [(e.field, e.kind, e.old, e.new) for e in project.history(0)]
    assert lines == [
        ("boxes", "edit", "2 objects", "3 objects"),
        ("boxes", "undo", "3 objects", "2 objects"),
        ("boxes", "redo", "2 objects", "3 objects"),
    ]
    project.store.close()


def test_back_to_the_datasets_own_objects_stores_nothing(root: Path) -> None:
    project = open_project(TinyBoxes(root))
    own = project.objects(0)
    project.set_boxes(0, [[0, 0, 4, 4]], [2])
    project.set_objects(0, own)
    assert project.edited_boxes() == {} and project.store.overrides("train") == []
    project.store.close()


def test_classes_are_stored_by_name_and_a_reordered_class_list_cannot_relabel(root: Path) -> None:
    project = open_project(TinyBoxes(root))
    project.set_boxes(1, [[1, 1, 8, 8], [2, 2, 6, 6]], [1, 2])
    ((_, field, text),) = project.store.overrides("train")
    assert field == "boxes" and [o["class"] for o in json.loads(text)["objects"]] == ["dog", "bird"]
    project.store.close()
    dataset = TinyBoxes(root)
    dataset.classes = ["bird", "cat", "dog"]  # a new class order
    again = open_project(dataset)
    assert [dataset.classes[c] for c in again.boxes(1)[1]] == ["dog", "bird"]
    again.store.close()
    dataset = TinyBoxes(root)
    dataset.classes = ["cat", "dog"]  # "bird" is gone: the edit is kept, not shown with a wrong class
    third = open_project(dataset)
    assert third.boxes(1)[1].tolist() == [2] and list(third.unmatched) == [("b.png", "boxes")]
    third.store.close()


def test_bad_boxes_and_classes_are_refused(root: Path) -> None:
    project = open_project(TinyBoxes(root))
    with pytest.raises(ValueError, match="x0 < x1"):
        project.set_boxes(0, [[5, 5, 2, 9]], [0])
    with pytest.raises(ValueError, match="not one of the dataset's classes"):
        project.set_boxes(0, [[0, 0, 2, 2]], ["horse"])
    with pytest.raises(ValueError, match="not one of the dataset's classes"):
        project.set_boxes(0, [[0, 0, 2, 2]], [7])
    assert project.store.undo_description is None
    project.store.close()


def test_the_dataset_view_reads_the_edited_truth_live_and_keeps_excluded(root: Path) -> None:
    project = open_project(TinyBoxes(root))
    view = labeled_view(project.dataset, project)
    assert isinstance(view, TinyBoxes) and view is not project.dataset
    project.set_boxes(0, [[1, 1, 9, 9]], ["bird"], flags={"iscrowd": [True]})
    boxes, classes = view.load_boxes(0)
    assert classes.tolist() == [2] and np.allclose(boxes, [[1, 1, 9, 9]])
    assert view.box_extras(0)["iscrowd"].tolist() == [True]
    assert view.sample_meta(0) == {"iscrowd": [True], "difficult": [False]}
    assert view.load_boxes(1)[1].tolist() == [2]  # not edited: the dataset's own
    project.set_status(1, "excluded")
    metrics = project.label_dataset()
    assert metrics.excluded.tolist() == [False, True, False] and metrics.load_boxes(0)[1].tolist() == [2]
    project.undo()
    project.undo()
    assert view.load_boxes(0)[1].tolist() == [0, 1]  # the undo shows at once
    assert metrics.load_boxes(0)[1].tolist() == [2]  # the metrics' view is a snapshot
    again = pickle.loads(pickle.dumps(metrics))  # workers may get it pickled
    assert again.load_boxes(0)[1].tolist() == [2] and again.excluded.tolist() == [False, True, False]
    project.store.close()


def test_instance_masks_follow_their_objects(root: Path) -> None:
    project = open_project(TinyBoxes(root, task="instance_segmentation"))
    own = project.dataset.load_instances(0)
    objects = project.objects(0)
    assert objects.instances.tolist() == [0, 1]
    # Swap the two objects' order and change the first one's class: both keep their masks; a new box has its
    # rectangle.
    project.set_boxes(0, [objects.boxes[1], objects.boxes[0], [0, 0, 4, 3]], [2, 0, 1], instances=[1, 0, -1])
    masks = project.boxes_dataset().load_instances(0)
    assert np.array_equal(masks[0], own[1]) and np.array_equal(masks[1], own[0])
    assert masks[2].sum() == 12 and masks[2][:3, :4].all()
    project.store.close()


def test_a_v4_store_with_data_is_migrated_and_backed_up(root: Path) -> None:
    dataset = TinyBoxes(root)
    folder = location.beside_folder(root, dataset.layout)
    folder.mkdir(parents=True)
    with sqlite3.connect(folder / "project.sqlite") as conn:
        conn.executescript(
            _SCHEMA_V4
            + ";INSERT INTO meta VALUES ('schema_version', '4');"
            + "INSERT INTO steps VALUES (1, 'edit', NULL, 'done', 'note of a', 'ada', 1000.0);"
            + "INSERT INTO edits VALUES (1, 1, 'train', 'a.png', 'note', NULL, '\"blurry\"');"
            + "INSERT INTO current VALUES ('train', 'a.png', 'note', '\"blurry\"');"
            + "INSERT INTO steps VALUES (2, 'edit', NULL, 'done', 'mark b', 'ada', 1001.0);"
            + "INSERT INTO edits VALUES (2, 2, 'train', 'b.png', 'status', NULL, '\"flagged\"');"
            + "INSERT INTO current VALUES ('train', 'b.png', 'status', '\"flagged\"');"
        )
        with pytest.raises(sqlite3.IntegrityError):  # what v4 refuses
            conn.execute("INSERT INTO edits VALUES (3, 2, 'train', 'a.png', 'boxes', NULL, '{}')")
    project = open_project(dataset)
    assert project.store.migrated_from == 4 and not project.read_only
    assert project.notes() == {0: "blurry"} and project.status().tolist() == [0, 2, 0]
    assert len(list(folder.glob("project.v4-backup-*.sqlite"))) == 1
    project.set_boxes(0, [[0, 0, 3, 3]], [1])
    assert project.undo().description == "boxes of a.png: 2 objects → 1 object"
    project.undo()
    project.undo()  # the migrated edits are still undo steps, in their order
    assert project.notes() == {} and project.status().tolist() == [0, 0, 0]
    assert project.store.integrity_check() == "ok"
    project.store.close()
    with sqlite3.connect(folder / "project.sqlite") as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("5",)
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"edits_sample", "edits_step"} <= indexes and "edits_v4" not in tables


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools' own, not ours
def test_a_real_coco_dataset_edited_then_exported_again_reads_back_edited(tmp_path: Path) -> None:
    from core.datasets import open_dataset
    from core.labels.export import export_labels
    from tests.fake_datasets import write_coco

    write_coco(tmp_path / "coco")
    dataset = open_dataset(tmp_path / "coco")
    assert dataset.task == "instance_segmentation"
    project = open_project(dataset)
    objects = project.objects(0)
    # Drop the first object, give the second another class (it keeps its mask), add a box.
    keep = np.arange(len(objects)) >= 1
    boxes = [*objects.boxes[keep].tolist(), [1, 1, 6, 5]]
    classes = [*objects.classes[keep].tolist(), 0]
    classes[0] = (classes[0] + 1) % len(dataset.classes)
    flags = {"iscrowd": [*objects.flag("iscrowd")[keep].tolist(), False]}
    project.set_boxes(0, boxes, classes, flags=flags, instances=[*objects.instances[keep].tolist(), -1])
    masks = project.label_dataset().load_instances(0)
    assert np.array_equal(masks[0], dataset.load_instances(0)[1]) and masks[-1][1:5, 1:6].all()
    result = export_labels(project, tmp_path / "out", "coco")
    again = open_dataset(result.path)
    assert again.classes == dataset.classes and again.sample_ids == dataset.sample_ids
    got_boxes, got_classes = again.load_boxes(0)
    assert got_classes.tolist() == classes and np.allclose(got_boxes, boxes, atol=1e-3)
    project.store.close()


def test_an_object_datasets_tags_follow_its_edited_objects(tmp_path: Path) -> None:
    """COCO's tags (the classes each image has) are those of its objects: a box edit changes them, its undo and a
    restart too, and the app's dataset view (the class filter, the tiles, the chart) follows."""
    from core.datasets import open_dataset
    from tests.fake_datasets import write_coco

    write_coco(tmp_path / "coco")
    dataset = open_dataset(tmp_path / "coco")
    assert dataset.has_boxes and dataset.tags is not None
    project = open_project(dataset)
    view = labeled_view(project.dataset, project)
    own = dataset.tags[0].copy()
    absent = int(np.flatnonzero(own == 0)[0])
    objects = project.objects(0)
    project.set_boxes(0, [*objects.boxes.tolist(), [1, 1, 6, 5]], [*objects.classes.tolist(), absent])
    expected = own.copy()
    expected[absent] = 1
    assert project.tags()[0].tolist() == expected.tolist()
    assert project.tags(original=True)[0].tolist() == own.tolist()
    project.set_boxes(0, [[1, 1, 6, 5]], [absent])  # only the new object left
    only = np.zeros_like(own)
    only[absent] = 1
    assert project.tags()[0].tolist() == only.tolist()
    project = reopen_real(project, tmp_path / "coco")
    assert project.tags()[0].tolist() == only.tolist()
    project.undo()
    project.undo()
    assert project.tags()[0].tolist() == own.tolist()
    project.store.close()
    assert view.tags is not None  # the first view was made before the restart: still its own array


def reopen_real(project, root: Path):
    from core.datasets import open_dataset

    project.store.close()
    return open_project(open_dataset(root))
