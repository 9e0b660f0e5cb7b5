"""Bad situations: an old store, a store held by another copy, a damaged store, a read-only dataset, a full disk."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import core.labels.location as location
from core.datasets import open_dataset
from core.labels import SCHEMA_VERSION, ProjectStore, StoreReadOnlyError, StoreWriteError, open_project
from tests.core.test_labels_support import image_folder, spawn, synthetic

#: The schema CV Lens 0.1 wrote (schema_version 1): a flat list of edits, no undo stacks, no runs.
V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE view_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE edits (id INTEGER PRIMARY KEY, time REAL NOT NULL, user TEXT NOT NULL, split TEXT NOT NULL,
                    sample_id TEXT NOT NULL, field TEXT NOT NULL, old TEXT, new TEXT);
CREATE INDEX edits_sample ON edits(split, sample_id);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO view_state VALUES ('browser', '{"sort": "loss"}');
INSERT INTO edits VALUES (1, 1000.0, 'ada', '', 'cat/cat_0.png', 'label', NULL, '"dog"');
INSERT INTO edits VALUES (2, 1001.0, 'ada', '', 'cat/cat_0.png', 'label', '"dog"', '"eel"');
INSERT INTO edits VALUES (3, 1002.0, 'bob', '', 'dog/dog_1.png', 'status', NULL, '"flagged"');
INSERT INTO edits VALUES (4, 1003.0, 'bob', '', 'eel/eel_2.png', 'note', NULL, '"tail cut off"');
INSERT INTO edits VALUES (5, 1004.0, 'bob', '', 'eel/eel_0.png', 'label', NULL, '-2');
"""


def test_a_v1_store_is_migrated_with_its_data(tmp_path: Path) -> None:
    root = image_folder(tmp_path)
    folder = location.beside_folder(root, "Image folder")
    folder.mkdir(parents=True)
    with sqlite3.connect(folder / "project.sqlite") as conn:
        conn.executescript(V1_SCHEMA)
    project = open_project(open_dataset(root))
    assert project.store.migrated_from == 1 and not project.read_only
    assert project.targets().tolist() == [2, 0, 0, 1, 1, 1, -2, 2, 2]
    assert project.status()[4] == 2 and project.notes() == {8: "tail cut off"}
    assert [(e.user, e.old, e.new) for e in project.history(0)] == [("ada", "cat", "dog"), ("ada", "dog", "eel")]
    assert project.store.get_view("browser") == {"sort": "loss"}
    assert project.undo().description == "label of eel/eel_0.png"  # v1 edits are undo steps now
    assert project.targets()[6] == 2
    assert len(list(folder.glob("project.v1-backup-*.sqlite"))) == 1  # the old file is kept as it was
    project.store.close()
    with sqlite3.connect(folder / "project.sqlite") as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)


def test_a_store_from_a_newer_version_opens_read_only(tmp_path: Path) -> None:
    dataset = synthetic(tmp_path / "ds", 10)
    store = ProjectStore.open(dataset.root, dataset.layout)
    path = store.path
    with store.writing("pretend to be newer") as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    store.close()
    again = ProjectStore.open(dataset.root, dataset.layout)
    assert again.read_only and "newer CV Lens" in again.notice and again.path == path


HOLDER = r"""
import sys
from pathlib import Path
from tests.core.test_labels_support import synthetic
from core.labels import open_project
project = open_project(synthetic(Path(sys.argv[1]), 50))
project.set_label([1, 2], "class_9")
print("ready", flush=True)
sys.stdin.readline()
"""


def test_a_store_held_by_another_copy_opens_read_only_with_a_message(tmp_path: Path) -> None:
    child = spawn(HOLDER, str(tmp_path / "ds"))
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        project = open_project(synthetic(tmp_path / "ds", 50))
        assert project.read_only
        assert "open in another copy of CV Lens" in project.notice and f"pid {child.pid}" in project.notice
        assert project.targets()[[1, 2]].tolist() == [9, 9]  # what the other copy saved is shown
        with pytest.raises(StoreReadOnlyError, match="another copy"):
            project.set_label(0, "class_0")
        project.store.set_view("sort", "loss")  # view state is kept for the session, not refused
        assert project.store.get_view("sort") == "loss"
        project.store.close()
    finally:
        child.communicate("\n", timeout=30)
    assert not open_project(synthetic(tmp_path / "ds", 50)).read_only  # the lock went with the process


def test_a_second_handle_in_the_same_process_is_read_only(tmp_path: Path) -> None:
    dataset = synthetic(tmp_path / "ds", 5)
    first = ProjectStore.open(dataset.root, dataset.layout)
    second = ProjectStore.open(dataset.root, dataset.layout, shared=False)
    assert not first.read_only and second.read_only
    second.close()
    first.close()


@pytest.mark.parametrize("damage", ["everything", "all but the header page"])
def test_a_damaged_store_is_kept_aside_and_a_new_one_started(tmp_path: Path, damage: str) -> None:
    dataset = synthetic(tmp_path / "ds", 200)
    project = open_project(dataset)
    project.set_note(np.arange(200), "x" * 100)
    path = project.store.path
    project.store.close()
    data = bytearray(path.read_bytes())
    start = 0 if damage == "everything" else 4096
    data[start:] = np.random.default_rng(1).integers(0, 256, len(data) - start, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))

    project = open_project(dataset)
    store = project.store
    assert "was damaged" in store.notice and store.recovered_from.name.startswith("project.corrupt-")
    assert store.recovered_from.read_bytes() == bytes(data)  # the user's file, byte for byte
    assert not store.read_only and project.notes() == {} and store.integrity_check() == "ok"
    project.set_label(0, "class_1")
    assert open_project(dataset).targets()[0] == 1


def test_a_read_only_dataset_keeps_its_store_in_the_data_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CVLENS_DATA_DIR", str(tmp_path / "data"))
    root = image_folder(tmp_path)
    real_can_write = location.can_write
    # chmod does not stop root (as in CI containers), so the write probe is told the truth as well
    monkeypatch.setattr(location, "can_write", lambda f: False if root in f.parents else real_can_write(f))
    root.chmod(0o555)
    try:
        project = open_project(open_dataset(root))
        assert project.store.path.parent.parent == tmp_path / "data" / "projects"
        assert project.store.path.parent.name == f"image-folder-{location.dataset_key(root, 'Image folder')}"
        assert not project.read_only and not (root / ".cvlens" / "image-folder" / "project.sqlite").exists()
        project.set_label(0, "eel")
        project.store.close()
        assert open_project(open_dataset(root)).targets()[0] == 2  # found again by the dataset's identity
        other = open_project(open_dataset(image_folder(tmp_path / "elsewhere")))
        assert other.store.path != project.store.path and other.targets()[0] == 0
    finally:
        root.chmod(0o755)


def test_a_full_disk_saves_nothing_of_the_edit_and_says_so(tmp_path: Path) -> None:
    dataset = synthetic(tmp_path / "ds", 300)
    project = open_project(dataset)
    project.set_label(0, "class_3")
    conn = project.store._conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk full" (SQLITE_FULL)
    before = project.targets()
    with pytest.raises(StoreWriteError, match=r"the disk is full\. Nothing of it was saved"):
        project.edit(np.arange(300), label="class_1", note="y" * 2000)
    assert (project.targets() == before).all() and project.notes() == {}
    assert project.store.undo_description == "label → class_3, 1 sample"
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert project.store.integrity_check() == "ok"
    project.set_label(1, "class_2")
    project.store.close()
    assert open_project(dataset).targets()[[0, 1]].tolist() == [3, 2]


def test_a_store_in_a_read_only_location_opens_read_only(tmp_path: Path, monkeypatch) -> None:
    dataset = synthetic(tmp_path / "ds", 20)
    open_project(dataset).set_label(0, "class_5")
    ProjectStore.open(dataset.root, dataset.layout).close()
    monkeypatch.setattr("core.labels.store.can_write", lambda folder: False)
    project = open_project(dataset)
    assert project.read_only and "read-only" in project.notice and project.targets()[0] == 5
    with pytest.raises(StoreReadOnlyError):
        project.undo()
    project.store.close()
    assert os.path.exists(project.store.path)
