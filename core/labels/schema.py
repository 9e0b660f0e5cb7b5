"""The store's tables, its ``schema_version`` and the migrations from older versions.

Version history:

1. ``meta``, ``view_state`` and one ``edits`` table (time, user, split, sample, field, old, new):
   every edit its own step, no undo stacks, no runs.
2. Edits grouped into undoable ``steps`` with persisted undo/redo stacks, a ``current`` table of
   the latest value of every edited field (so loading labels is one indexed scan), model ``runs``.
3. Saved masks have a history: every save of a sample's mask is a ``mask_versions`` row (split, sample,
   the PNG file in the store's ``masks/`` folder, its SHA-256 and size, user, time) and an edit of the
   field ``mask`` whose value is the version's id, so undo/redo of a save is the edits' undo/redo and
   ``current`` names the sample's newest saved mask (NULL: the dataset's own).
4. A run may keep its embeddings: ``runs.embeddings`` names the N x D float16 ``.npy`` beside its
   predictions in ``runs/`` (NULL: none), ``runs.embeddings_samples`` the digest of the sample ids its
   rows follow (``core/labels/run_arrays.py``). Older rows get NULL: runs without embeddings.
5. Edits may be of the field ``boxes``: one sample's whole object list (boxes, class names, flags) as one
   JSON value (``core/labels/boxes.py``). SQLite cannot alter the ``edits.field`` CHECK, so the table is
   copied into a new one, as the v2 -> v3 migration did.

A store from an older version is migrated in one transaction, after a copy of it is kept as
``project.v<old>-backup-<time>.sqlite``; a store from a newer version is opened read-only.

Undo/redo stacks: an edit step's ``state`` is 'done' (on the undo stack), 'undone' (on the redo
stack) or 'cleared' (undone, then a new edit cleared the redo stack; kept for history). Undo
takes the 'done' step with the highest id, redo the 'undone' step with the lowest: a new edit
always has the highest id and clears 'undone', so every 'done' id is below every 'undone' id.
Undo and redo themselves are recorded as steps of kind 'undo' / 'redo' with their own edits,
so a sample's history shows them too.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

SCHEMA_VERSION = 5

#: Version 2 as it was, for the v1 -> v2 migration (later versions migrate from it).
_SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS view_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE steps (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('edit', 'undo', 'redo')),
    target INTEGER REFERENCES steps(id),
    state TEXT CHECK (state IN ('done', 'undone', 'cleared')),
    description TEXT NOT NULL DEFAULT '',
    user TEXT NOT NULL,
    time REAL NOT NULL
);
CREATE INDEX steps_state ON steps(state, id);
CREATE TABLE edits (
    id INTEGER PRIMARY KEY,
    step INTEGER NOT NULL REFERENCES steps(id),
    split TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    field TEXT NOT NULL CHECK (field IN ('label', 'tags', 'status', 'note')),
    old TEXT,
    new TEXT
);
CREATE INDEX edits_sample ON edits(split, sample_id);
CREATE INDEX edits_step ON edits(step);
CREATE TABLE current (
    split TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (split, sample_id, field)
) WITHOUT ROWID;
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    model TEXT NOT NULL,
    weights_path TEXT,
    weights_sha256 TEXT,
    settings TEXT NOT NULL DEFAULT '{}',
    time REAL NOT NULL,
    user TEXT NOT NULL,
    device TEXT NOT NULL DEFAULT '',
    split TEXT NOT NULL,
    predictions TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}'
);
"""

_EDITS_V3 = """
CREATE TABLE edits (
    id INTEGER PRIMARY KEY,
    step INTEGER NOT NULL REFERENCES steps(id),
    split TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    field TEXT NOT NULL CHECK (field IN ('label', 'tags', 'status', 'note', 'mask')),
    old TEXT,
    new TEXT
);
CREATE INDEX edits_sample ON edits(split, sample_id);
CREATE INDEX edits_step ON edits(step);
"""

_MASK_VERSIONS = """
CREATE TABLE mask_versions (
    id INTEGER PRIMARY KEY,
    split TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    height INTEGER NOT NULL,
    width INTEGER NOT NULL,
    user TEXT NOT NULL,
    time REAL NOT NULL
);
CREATE INDEX mask_versions_sample ON mask_versions(split, sample_id, id);
"""

#: Version 5's edits: the field 'boxes' is allowed too.
_EDITS_V5 = _EDITS_V3.replace("'note', 'mask')", "'note', 'mask', 'boxes')")

_SCHEMA_V3 = _SCHEMA_V2.replace("'status', 'note')", "'status', 'note', 'mask')") + _MASK_VERSIONS

_RUN_EMBEDDINGS = """
ALTER TABLE runs ADD COLUMN embeddings TEXT;
ALTER TABLE runs ADD COLUMN embeddings_samples TEXT;
"""

#: Version 4 as it was (for tests of the v4 -> v5 migration).
_SCHEMA_V4 = _SCHEMA_V3 + _RUN_EMBEDDINGS

#: A new store is version 4 with version 5's field allowed, exactly as a migrated one.
SCHEMA = _SCHEMA_V4.replace("'note', 'mask')", "'note', 'mask', 'boxes')")


class UnknownDatabase(Exception):
    """The file is an SQLite database, but not a CV Lens store."""


def schema_version(conn: sqlite3.Connection) -> int:
    """0 for an empty database, else the stored version; UnknownDatabase for someone else's database."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return 0
    if "meta" not in tables:
        raise UnknownDatabase(f"it holds tables {sorted(tables)} but no 'meta' table")
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None or not str(row[0]).isdigit():
        raise UnknownDatabase("its 'meta' table has no schema_version")
    return int(row[0])


def create(conn: sqlite3.Connection, identity: dict[str, str]) -> None:
    """The current schema in an empty database (inside the caller's transaction)."""
    for statement in _statements(SCHEMA):
        conn.execute(statement)
    _set_meta(conn, {"schema_version": str(SCHEMA_VERSION), "created": str(time.time()), **identity})


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring a store of ``version`` to SCHEMA_VERSION, one migration at a time (caller's transaction)."""
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](conn)
        version += 1
        _set_meta(conn, {"schema_version": str(version)})


def _set_meta(conn: sqlite3.Connection, values: dict[str, str]) -> None:
    conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", values.items())


def _statements(script: str) -> list[str]:
    # executescript() commits first, which would split a migration over two transactions.
    return [s.strip() for s in script.split(";") if s.strip()]


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """v1 edits become one 'done' step each; `current` is rebuilt from each field's latest edit."""
    conn.execute("ALTER TABLE edits RENAME TO edits_v1")
    indexes = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'edits_v1' AND sql IS NOT NULL"
    for (name,) in conn.execute(indexes).fetchall():  # their names may clash with v2's
        conn.execute(f'DROP INDEX "{name}"')
    for statement in _statements(_SCHEMA_V2):
        conn.execute(statement)
    conn.execute(
        "INSERT INTO steps (id, kind, state, description, user, time) "
        "SELECT id, 'edit', 'done', field || ' of ' || sample_id, user, time FROM edits_v1 ORDER BY id"
    )
    conn.execute(
        "INSERT INTO edits (id, step, split, sample_id, field, old, new) "
        "SELECT id, id, split, sample_id, field, old, new FROM edits_v1 ORDER BY id"
    )
    conn.execute(
        "INSERT INTO current (split, sample_id, field, value) "
        "SELECT split, sample_id, field, new FROM edits_v1 AS e "
        "WHERE new IS NOT NULL AND id = (SELECT max(id) FROM edits_v1 "
        "WHERE split = e.split AND sample_id = e.sample_id AND field = e.field)"
    )
    conn.execute("DROP TABLE edits_v1")


def _copy_edits(conn: sqlite3.Connection, old: int, new_tables: str) -> None:
    """Move ``edits`` into the table ``new_tables`` creates (SQLite cannot alter a CHECK), ids and order kept."""
    conn.execute(f"ALTER TABLE edits RENAME TO edits_v{old}")
    for name in ("edits_sample", "edits_step"):  # the new table gets them again
        conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    for statement in _statements(new_tables):
        conn.execute(statement)
    conn.execute(
        "INSERT INTO edits (id, step, split, sample_id, field, old, new) "
        f"SELECT id, step, split, sample_id, field, old, new FROM edits_v{old} ORDER BY id"
    )
    conn.execute(f"DROP TABLE edits_v{old}")


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    """Edits may now be of the field 'mask' (the table is copied); saved-mask versions."""
    _copy_edits(conn, 2, _EDITS_V3 + _MASK_VERSIONS)


def _v3_to_v4(conn: sqlite3.Connection) -> None:
    """Runs may keep their embeddings (two nullable columns: every run saved before has none)."""
    for statement in _statements(_RUN_EMBEDDINGS):
        conn.execute(statement)


def _v4_to_v5(conn: sqlite3.Connection) -> None:
    """Edits may now be of the field 'boxes' (a sample's object list; the table is copied)."""
    _copy_edits(conn, 4, _EDITS_V5)


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
    4: _v4_to_v5,
}
