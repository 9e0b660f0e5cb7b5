"""The project store: edits, history, undo/redo across a restart, batch steps, review marks, view state."""

from __future__ import annotations

import getpass
from pathlib import Path

import numpy as np
import pytest

from core.datasets import open_dataset
from core.labels import IGNORE, UNLABELED, ProjectStore, open_project
from tests.core.test_labels_support import image_folder
from tests.fake_datasets import write_celeba


def reopen(project):
    """The same dataset opened again after closing the store, as after a restart of the app."""
    project.store.close()
    return open_project(open_dataset(project.dataset.root, split=project.dataset.split))


def test_store_lives_beside_the_dataset_and_is_found_again(tmp_path: Path) -> None:
    root = image_folder(tmp_path)
    project = open_project(open_dataset(root))
    assert project.store.path == root / ".cvlens" / "image-folder" / "project.sqlite"
    assert not project.read_only and project.notice == ""
    assert project.targets().tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert open_project(open_dataset(root)).store is project.store  # one store per dataset in a process
    project.set_label(0, "dog")
    again = reopen(project)
    assert again.store.path == project.store.path and again.targets()[0] == 1
    assert open_dataset(root).sample_ids == project.dataset.sample_ids  # .cvlens/ is not read as a class


def test_edits_history_and_undo_redo_survive_a_restart(tmp_path: Path) -> None:
    project = open_project(open_dataset(image_folder(tmp_path)))
    project.set_label(0, "dog")
    project.set_label(1, 2)  # by index
    project.set_label(2, IGNORE)
    project.set_label(3, "unlabeled")
    assert project.targets()[:4].tolist() == [1, 2, IGNORE, UNLABELED]
    assert project.undo().description == "label → unlabeled, 1 sample"
    assert project.undo().description == "label → ignore, 1 sample"

    project = reopen(project)
    assert project.targets()[:4].tolist() == [1, 2, 0, 1]
    assert project.edited()[:4].tolist() == [True, True, False, False]
    assert project.store.redo_description == "label → ignore, 1 sample"
    project.redo()
    assert project.targets()[2] == IGNORE
    project = reopen(project)
    assert project.store.redo_description == "label → unlabeled, 1 sample"
    assert project.store.undo_description == "label → ignore, 1 sample"

    history = project.history(2)
    assert [(e.kind, e.old, e.new) for e in history] == [
        ("edit", "cat", IGNORE),
        ("undo", IGNORE, "cat"),
        ("redo", "cat", IGNORE),
    ]
    assert {e.user for e in history} == {getpass.getuser()} and history[0].time <= history[-1].time
    assert history[0].field == "label" and history[0].sample_id == "cat/cat_2.png" and history[0].split == ""

    project.set_label(5, "cat")  # a new edit clears the redo stack
    assert project.store.redo_description is None and project.redo() is None
    for _ in range(4):
        project.undo()
    assert project.targets().tolist() == project.targets(original=True).tolist()
    assert project.undo() is None and not project.edited().any()


def test_batch_assign_is_one_step_and_skips_samples_that_already_hold_the_label(tmp_path: Path) -> None:
    project = open_project(open_dataset(image_folder(tmp_path)))
    step = project.set_label([0, 1, 2, 3, 6], "eel")
    assert len(step.changes) == 4  # sample 6 is an eel already
    assert {c.sample_id for c in step.changes} == {"cat/cat_0.png", "cat/cat_1.png", "cat/cat_2.png", "dog/dog_0.png"}
    assert project.targets().tolist() == [2, 2, 2, 2, 1, 1, 2, 2, 2]
    assert project.set_label([0, 1], "eel") is None  # nothing to change, no empty undo step
    project.set_label(np.array([False] * 8 + [True]), "cat")  # a boolean selection works too
    project.undo()
    project.undo()
    assert project.targets().tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert project.store.redo_description == "label → eel, 5 samples"


def test_setting_the_original_label_again_stores_no_difference(tmp_path: Path) -> None:
    project = open_project(open_dataset(image_folder(tmp_path)))
    project.set_label(0, "dog")
    project.set_label(0, "cat")
    assert project.store.overrides("") == [] and not project.edited().any()
    assert [(e.old, e.new) for e in project.history(0)] == [("cat", "dog"), ("dog", "cat")]


def test_review_marks_notes_and_counts(tmp_path: Path) -> None:
    project = open_project(open_dataset(image_folder(tmp_path)))
    project.set_status([0, 1, 2], "reviewed")
    project.set_status(3, "flagged")
    project.set_status(4, "excluded")
    project.set_note(5, "blurry, maybe a dog")
    project.edit(6, label="cat", status="reviewed")  # review mode: take the model's label, one step
    project = reopen(project)
    assert project.status().tolist() == [1, 1, 1, 2, 3, 0, 1, 0, 0]
    assert project.review_counts() == {"": 3, "reviewed": 4, "flagged": 1, "excluded": 1}
    assert project.notes() == {5: "blurry, maybe a dog"} and project.note(0) == ""
    assert project.excluded().tolist() == [False] * 4 + [True] + [False] * 4
    project.undo()
    assert project.targets()[6] == 2 and project.status()[6] == 0
    project.set_note(5, "")
    assert project.notes() == {}
    with pytest.raises(ValueError, match="not a review mark"):
        project.set_status(0, "great")


def test_tags_toggle_on_a_selection_is_one_step(tmp_path: Path) -> None:
    write_celeba(tmp_path, n=9)
    project = open_project(open_dataset(tmp_path / "celeba", split="train"))
    tags = project.tags()
    column = 2  # "Attractive"
    selection = [0, 1, 2]
    was = tags[selection, column].copy()
    step = project.toggle_tag(selection, "Attractive")
    on = not was.all()
    assert (project.tags()[selection, column] == on).all()
    assert len(step.changes) == int((was != on).sum())
    project.toggle_tag(selection, column)
    assert (project.tags()[selection, column] == (not on)).all()
    project.set_tags(0, ["Bald", "Attr_7"])
    assert project.codec.tags_stored(project.tags()[0]) == ["Attr_7", "Bald"]
    project = reopen(project)
    assert project.codec.tags_stored(project.tags()[0]) == ["Attr_7", "Bald"]
    project.undo()
    project.undo()
    assert (project.tags()[selection, column] == on).all()
    project.undo()
    assert (project.tags() == tags).all() and not project.edited().any()
    with pytest.raises(ValueError, match="no class labels"):
        project.set_label(0, 1)


def test_tags_of_several_samples_each_their_own_are_one_step(tmp_path: Path) -> None:
    """Accepting the suggested tags of several label issues at once: one row per sample, one undo step."""
    write_celeba(tmp_path, n=9)
    project = open_project(open_dataset(tmp_path / "celeba", split="train"))
    tags = project.tags()
    rows = np.zeros((2, tags.shape[1]), bool)
    rows[0, [0, 4]] = True
    rows[1, 7] = True
    project.set_tags([0, 2], rows)
    assert project.tags()[[0, 2]].tolist() == rows.astype(np.uint8).tolist()
    assert (project.tags()[1] == tags[1]).all()
    project.undo()
    assert (project.tags() == tags).all()
    with pytest.raises(ValueError, match="one row of every label per sample"):
        project.set_tags([0, 2], rows[:1])


def test_undo_is_over_the_whole_dataset_and_updates_every_split(tmp_path: Path) -> None:
    root = image_folder(tmp_path, splits=("train", "test"))
    test = open_project(open_dataset(root, split="test"))
    train = test.for_split("train")
    assert train.store is test.store and train.split == "train"
    train.set_label(0, "eel")
    test.set_label(0, "dog")
    assert train.targets()[0] == 2 and test.targets()[0] == 1
    test.undo()
    test.undo()  # the train edit: undo is per dataset, like an editor's over all its pages
    assert train.targets()[0] == 0 and test.targets()[0] == 0


def test_view_state_is_kept(tmp_path: Path) -> None:
    project = open_project(open_dataset(image_folder(tmp_path)))
    project.store.set_view("browser", {"sort": "loss", "columns": [1, 2]})
    assert reopen(project).store.get_view("browser") == {"sort": "loss", "columns": [1, 2]}
    assert ProjectStore.open(project.dataset.root, project.dataset.layout).get_view("nothing", 7) == 7


def test_edits_of_classes_the_dataset_no_longer_has_are_kept_not_misapplied(tmp_path: Path) -> None:
    root = image_folder(tmp_path)
    project = open_project(open_dataset(root))
    project.set_label(0, "eel")
    project.set_label(3, "cat")
    project.store.close()
    for file in (root / "eel").iterdir():  # the class folder disappears: eel is no longer a class
        file.unlink()
    (root / "eel").rmdir()
    project = open_project(open_dataset(root))
    assert project.dataset.classes == ["cat", "dog"]
    assert project.targets().tolist() == [0, 0, 0, 0, 1, 1]  # sample 0 keeps its own label
    assert project.unmatched == {("cat/cat_0.png", "label"): "eel"}


def test_listeners_hear_every_committed_step(tmp_path: Path) -> None:
    project = open_project(open_dataset(image_folder(tmp_path)))
    heard = []
    project.store.subscribe(lambda step: heard.append((step.kind, [c.sample_id for c in step.changes])))
    project.set_label([0, 1], "dog")
    project.undo()
    project.redo()
    assert heard == [
        ("edit", ["cat/cat_0.png", "cat/cat_1.png"]),
        ("undo", ["cat/cat_1.png", "cat/cat_0.png"]),
        ("redo", ["cat/cat_0.png", "cat/cat_1.png"]),
    ]
