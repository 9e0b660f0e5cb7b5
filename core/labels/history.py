"""Edits, undo and redo as SQL, inside the caller's transaction (see ``schema`` for the stacks)."""

from __future__ import annotations

import getpass
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from core.labels.values import Change, HistoryEntry, Step, decode, encode

_INSERT_EDIT = (
    "INSERT INTO edits (step, split, sample_id, field, old, new) VALUES "
    "(?, ?, ?, ?, (SELECT value FROM current WHERE split = ? AND sample_id = ? AND field = ?), ?)"
)
_HISTORY = (
    "SELECT e.id, e.step, s.kind, s.description, s.user, s.time, e.split, e.sample_id, e.field, e.old, e.new "
    "FROM edits AS e JOIN steps AS s ON s.id = e.step"
)


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers, services): still record the edit
        return "unknown"


def _new_step(
    conn: sqlite3.Connection, kind: str, description: str, target: int | None = None
) -> tuple[int, str, float]:
    user, now = current_user(), time.time()
    state = "done" if kind == "edit" else None
    cursor = conn.execute(
        "INSERT INTO steps (kind, target, state, description, user, time) VALUES (?, ?, ?, ?, ?, ?)",
        (kind, target, state, description, user, now),
    )
    return int(cursor.lastrowid), user, now


def _record(
    conn: sqlite3.Connection, step: int, rows: Sequence[tuple[str, str, str, str | None]]
) -> tuple[Change, ...]:
    """Write (split, sample, field, new JSON) rows as edits of ``step`` and into ``current``."""
    conn.executemany(_INSERT_EDIT, [(step, sp, sid, f, sp, sid, f, new) for sp, sid, f, new in rows])
    conn.executemany(
        "INSERT OR REPLACE INTO current (split, sample_id, field, value) VALUES (?, ?, ?, ?)",
        [row for row in rows if row[3] is not None],
    )
    conn.executemany(
        "DELETE FROM current WHERE split = ? AND sample_id = ? AND field = ?",
        [row[:3] for row in rows if row[3] is None],
    )
    cursor = conn.execute("SELECT split, sample_id, field, old, new FROM edits WHERE step = ? ORDER BY id", (step,))
    values: dict[str | None, Any] = {None: None}  # a batch repeats few distinct values: decode each once
    recorded = cursor.fetchall()
    for row in recorded:
        for text in row[3:]:
            if text not in values:
                values[text] = decode(text)
    return tuple(Change(sp, sid, f, new=values[new], old=values[old]) for sp, sid, f, old, new in recorded)


def commit(conn: sqlite3.Connection, changes: Sequence[Change], description: str) -> Step:
    """A new undoable step holding ``changes``; clears the redo stack."""
    conn.execute("UPDATE steps SET state = 'cleared' WHERE state = 'undone'")
    step, user, now = _new_step(conn, "edit", description)
    texts: dict[Any, str | None] = {}
    rows = []
    for c in changes:
        # A batch repeats few distinct values: encode each once. An object list (a dict) is its own text.
        key = tuple(c.new) if isinstance(c.new, list) else encode(c.new) if isinstance(c.new, dict) else c.new
        if key not in texts:
            texts[key] = encode(c.new)
        rows.append((c.split, c.sample_id, c.field, texts[key]))
    return Step(step, "edit", description, user, now, _record(conn, step, rows))


def undo(conn: sqlite3.Connection) -> Step | None:
    """Revert the latest 'done' step (its edits in reverse order); None when there is nothing to undo."""
    target = conn.execute("SELECT id, description FROM steps WHERE state = 'done' ORDER BY id DESC LIMIT 1").fetchone()
    if target is None:
        return None
    edits = conn.execute("SELECT split, sample_id, field, old FROM edits WHERE step = ? ORDER BY id DESC", (target[0],))
    rows = edits.fetchall()
    step, user, now = _new_step(conn, "undo", target[1], target[0])
    changes = _record(conn, step, rows)
    conn.execute("UPDATE steps SET state = 'undone' WHERE id = ?", (target[0],))
    return Step(step, "undo", target[1], user, now, changes)


def redo(conn: sqlite3.Connection) -> Step | None:
    """Apply again the most recently undone step; None when the redo stack is empty."""
    target = conn.execute("SELECT id, description FROM steps WHERE state = 'undone' ORDER BY id LIMIT 1").fetchone()
    if target is None:
        return None
    edits = conn.execute("SELECT split, sample_id, field, new FROM edits WHERE step = ? ORDER BY id", (target[0],))
    rows = edits.fetchall()
    step, user, now = _new_step(conn, "redo", target[1], target[0])
    changes = _record(conn, step, rows)
    conn.execute("UPDATE steps SET state = 'done' WHERE id = ?", (target[0],))
    return Step(step, "redo", target[1], user, now, changes)


def next_undo(conn: sqlite3.Connection) -> str | None:
    """Description of the step Undo would revert ("label -> cat, 3 samples"), None when none."""
    row = conn.execute("SELECT description FROM steps WHERE state = 'done' ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else row[0]


def next_redo(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT description FROM steps WHERE state = 'undone' ORDER BY id LIMIT 1").fetchone()
    return None if row is None else row[0]


def entries(
    conn: sqlite3.Connection, split: str | None = None, sample_id: str | None = None, limit: int | None = None
) -> list[HistoryEntry]:
    """Recorded edits, oldest first; of one sample when ``sample_id`` is given, the latest ``limit``."""
    where, params = [], []
    if split is not None:
        where.append("e.split = ?")
        params.append(split)
    if sample_id is not None:
        where.append("e.sample_id = ?")
        params.append(sample_id)
    sql = _HISTORY + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY e.id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = conn.execute(sql, params).fetchall()
    return [HistoryEntry(*row[:9], old=decode(row[9]), new=decode(row[10])) for row in reversed(rows)]
