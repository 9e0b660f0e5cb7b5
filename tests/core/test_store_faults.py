"""The project store under faults: random bytes in the file, text that is not UTF-8, read-only places (issue 11)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from core.labels import open_project
from tests.core.test_labels_support import synthetic

ROOT = Path(__file__).resolve().parents[2]


def _store_with_notes(tmp_path: Path, n: int = 300):
    dataset = synthetic(tmp_path / "ds", n)
    project = open_project(dataset)
    project.set_note(np.arange(0, n, 3), "a note about this sample, " + "x" * 40)
    return dataset, project


@pytest.mark.parametrize("seed", range(40))
def test_random_bytes_inside_a_store_open_as_sound_or_set_aside_never_as_an_error(tmp_path: Path, seed: int) -> None:
    dataset, project = _store_with_notes(tmp_path)
    path = project.store.path
    project.store.close()
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(seed)
    for _ in range(4):  # a few stray bytes past the header page: inside text, a record header, an index
        data[int(rng.integers(4096, len(data)))] = int(rng.integers(0, 256))
    path.write_bytes(bytes(data))

    project = open_project(dataset)  # never raises
    store = project.store
    if store.recovered_from is None:
        assert store.integrity_check() == "ok"
        notes = project.notes()  # every read works
        assert all(isinstance(v, str) for v in notes.values())
        project.history(0)
    else:
        assert "was damaged" in store.notice and store.recovered_from.exists()
        assert project.notes() == {}


def test_text_that_is_not_utf8_sets_the_store_aside_at_open(tmp_path: Path) -> None:
    dataset, project = _store_with_notes(tmp_path, 30)
    path = project.store.path
    project.store.close()
    with sqlite3.connect(path) as conn:  # what a flipped byte inside a text value does
        conn.execute("UPDATE current SET value = CAST(x'22ff22' AS TEXT) WHERE field = 'note'")
    project = open_project(dataset)
    assert "was damaged" in project.store.notice and "not UTF-8" in project.store.notice
    assert project.notes() == {} and not project.read_only


def test_a_write_protected_store_file_opens_read_only_with_a_notice(tmp_path: Path) -> None:
    dataset, project = _store_with_notes(tmp_path, 30)
    path = project.store.path
    project.store.close()
    path.chmod(0o444)
    try:
        project = open_project(dataset)
        assert project.read_only and "write-protected" in project.notice
        assert len(project.notes()) == 10
    finally:
        project.store.close()
        path.chmod(0o644)


_READ_AS_NOBODY = """
import json, os, sys
from pathlib import Path
from core.labels import connection, schema  # everything imported before the privileges are dropped
import shutil, sqlite3, tempfile
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
opened = connection.open_database(Path(sys.argv[1]), {}, read_only=True)
notes = opened.conn.execute("SELECT count(*) FROM current WHERE field = 'note'").fetchone()[0]
print(json.dumps({"notes": notes, "notices": opened.notices}))
"""


def test_a_store_left_with_its_wal_in_a_read_only_folder_shows_everything(tmp_path: Path) -> None:
    _dataset, project = _store_with_notes(tmp_path, 150)  # 50 notes, committed into the -wal
    source = project.store.path
    folder = Path(tempfile.mkdtemp(prefix="cvlens-ro-"))  # under /tmp: reachable by an unprivileged user
    try:
        for suffix in ("", "-wal"):  # what a crash leaves on a medium that is then mounted read-only
            shutil.copyfile(source.with_name(source.name + suffix), folder / (source.name + suffix))
            (folder / (source.name + suffix)).chmod(0o444)
        assert (folder / "project.sqlite-wal").stat().st_size > 0
        folder.chmod(0o555)
        result = subprocess.run(
            [sys.executable, "-c", _READ_AS_NOBODY, str(folder / "project.sqlite")],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        out = json.loads(result.stdout)
        assert out["notes"] == 50 and not any("damaged" in n for n in out["notices"])
    finally:
        project.store.close()
        folder.chmod(0o755)
        shutil.rmtree(folder)


def test_a_damaged_value_met_while_reading_is_a_store_error_and_the_next_open_sets_the_store_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.labels.connection as connection
    from core.labels import StoreDamagedError

    monkeypatch.setattr(connection, "THOROUGH_BYTES", 0)  # as a large, cleanly closed store: quick check only
    dataset, project = _store_with_notes(tmp_path, 30)
    path = project.store.path
    project.store.close()
    conn = sqlite3.connect(path)  # text that is not UTF-8: SQLite's checks pass, Python's decode fails
    with conn:
        conn.execute("UPDATE edits SET new = CAST(x'22ff22' AS TEXT) WHERE field = 'note'")
    conn.close()  # closed cleanly: no -wal left behind
    project = open_project(dataset)
    assert project.store.recovered_from is None  # the quick check did not see it
    with pytest.raises(StoreDamagedError, match=r"is damaged .*Open the dataset again"):
        project.store.history()
    project.store.close()
    project = open_project(dataset)  # marked: checked in full, set aside, a new store
    assert project.store.recovered_from is not None and "was damaged" in project.store.notice
    assert project.store.history() == []
