"""Importing a run is idempotent and honest: the same run (same files) is recorded once, whatever folder it is
read from; a folder of the same name whose files changed is another run, kept beside the earlier one, or in its
place only when the user asks. The command line (`import-run`) says which happened."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.datasets import open_dataset
from core.labels import open_project
from core.labels.run_import import AlreadyImported, import_run, run_digest
from cvlens.cli import main
from tests.core.test_labels_support import synthetic
from tests.core.test_run_import import evaluated
from tests.fake_datasets import write_flat_colour_folder


def test_the_same_run_imported_again_is_not_recorded_twice(tmp_path):
    dataset = synthetic(tmp_path / "ds", 80, classes=4)
    evaluated(dataset, tmp_path / "out")
    project = open_project(dataset)
    first = import_run(project, tmp_path / "out")
    with pytest.raises(AlreadyImported, match=rf"already imported as #{first.id} net \(imported\)") as again:
        import_run(project, tmp_path / "out")
    assert again.value.run.id == first.id
    shutil.copytree(tmp_path / "out", tmp_path / "copied" / "elsewhere")  # the same files, another folder
    with pytest.raises(AlreadyImported):
        import_run(project, tmp_path / "copied" / "elsewhere")
    assert [r.id for r in project.runs()] == [first.id]
    project.store.close()


def test_a_changed_run_in_the_same_folder_is_kept_beside_the_earlier_one_under_a_new_name(tmp_path):
    dataset = synthetic(tmp_path / "ds", 80, classes=4)
    first_made = evaluated(dataset, tmp_path / "out", seed=1)
    project = open_project(dataset)
    first = import_run(project, tmp_path / "out")
    second_made = evaluated(dataset, tmp_path / "out", seed=2)  # evaluate ran again into the same folder
    second = import_run(project, tmp_path / "out")
    assert second.id != first.id and second.name == "net (imported 2)"
    assert [r.name for r in project.runs()] == ["net (imported)", "net (imported 2)"]
    np.testing.assert_array_equal(project.load_run(first).scores, first_made.scores)  # the user's run untouched
    np.testing.assert_array_equal(project.load_run(second).scores, second_made.scores)
    project.store.close()


def test_replace_puts_the_changed_run_in_the_earlier_ones_place_and_removes_its_files(tmp_path):
    dataset = synthetic(tmp_path / "ds", 60, classes=3)
    evaluated(dataset, tmp_path / "out", seed=1)
    np.save(tmp_path / "out" / "embeddings.npy", np.ones((60, 4), np.float16))
    project = open_project(dataset)
    first = import_run(project, tmp_path / "out")
    old_files = [project.store.folder / first.predictions_file, project.store.folder / first.embeddings_file]
    assert all(f.is_file() for f in old_files)
    made = evaluated(dataset, tmp_path / "out", seed=2)
    replaced = import_run(project, tmp_path / "out", replace=True)
    assert replaced.id == first.id and replaced.name == first.name
    assert [r.id for r in project.runs()] == [first.id]
    np.testing.assert_array_equal(project.load_run(replaced).scores, made.scores)
    assert not any(f.exists() for f in old_files)
    with pytest.raises(AlreadyImported):  # and it is now the run that folder holds
        import_run(project, tmp_path / "out", replace=True)
    project.store.close()


def test_the_digest_follows_the_files_not_the_folder(tmp_path):
    dataset = synthetic(tmp_path / "ds", 30, classes=3)
    evaluated(dataset, tmp_path / "out")
    outputs = ("predictions.npz", "masks/")
    (tmp_path / "out" / "masks" / "samples").mkdir(parents=True)
    (tmp_path / "out" / "masks" / "run.json").write_text("{}")
    (tmp_path / "out" / "masks" / "samples" / "0.npz").write_bytes(b"12345")
    digest = run_digest(tmp_path / "out", outputs)
    shutil.copytree(tmp_path / "out", tmp_path / "copy")
    assert run_digest(tmp_path / "copy", outputs) == digest
    (tmp_path / "copy" / "masks" / "samples" / "0.npz").write_bytes(b"123456")  # one sample's mask changed
    assert run_digest(tmp_path / "copy", outputs) != digest


# -- the command line --------------------------------------------------------------------------------------------
@pytest.fixture
def folder_and_run(tmp_path):
    """An image folder on disk and a classifier's `evaluate --out` folder made on it."""
    root = write_flat_colour_folder(tmp_path / "data", classes=("a", "b", "c"), per_class=4)
    evaluated(open_dataset(root), tmp_path / "out", seed=1)
    return root, tmp_path / "out"


def runs_of(root):
    project = open_project(open_dataset(root))
    try:
        return project.runs()
    finally:
        project.store.close()


def test_import_run_twice_says_already_imported_and_exits_0(folder_and_run, capsys):
    root, out = folder_and_run
    assert main(["import-run", str(root), str(out)]) == 0
    (run,) = runs_of(root)
    capsys.readouterr()
    assert main(["import-run", str(root), str(out)]) == 0
    said = capsys.readouterr()
    assert f"already imported as #{run.id} net (imported)" in said.out and "nothing recorded" in said.out
    assert said.err == "" and [r.id for r in runs_of(root)] == [run.id]


def test_import_run_of_a_changed_folder_keeps_both_unless_replace(folder_and_run, capsys):
    root, out = folder_and_run
    dataset = open_dataset(root)
    assert main(["import-run", str(root), str(out)]) == 0
    evaluated(dataset, out, seed=2)
    capsys.readouterr()
    assert main(["import-run", str(root), str(out)]) == 0
    said = capsys.readouterr().out
    assert "changed since it was imported as #1 net (imported)" in said and "as net (imported 2)" in said
    assert "--replace" in said
    assert [r.name for r in runs_of(root)] == ["net (imported)", "net (imported 2)"]
    made = evaluated(dataset, out, seed=3)
    assert main(["import-run", str(root), str(out), "--replace"]) == 0
    assert "replaced it" in capsys.readouterr().out
    runs = runs_of(root)
    assert [r.name for r in runs] == ["net (imported)", "net (imported 2)"]  # the newest import was replaced
    project = open_project(dataset)
    np.testing.assert_array_equal(project.load_run(runs[1]).scores, made.scores)
    project.store.close()
