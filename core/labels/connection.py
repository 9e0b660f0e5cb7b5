"""Opening the store's SQLite file: pragmas, the health check, recovery and migration.

Durability: WAL journal with ``synchronous=FULL``. WAL alone (any ``synchronous``) keeps the
database consistent and keeps every committed edit through a crash of the *process* (SIGKILL):
the commit is in the WAL in the OS cache before ``commit`` returns. ``FULL`` adds an fsync of the
WAL at every commit, so a committed edit also survives a crash of the *machine* (power cut, a
laptop's empty battery); with ``NORMAL`` everything since the last checkpoint (up to ~4 MB of
WAL, thousands of edits) could roll back. One fsync per keystroke costs 1-6 ms, well below what
a person notices, and batch edits are one transaction, so one fsync.

Health at open: SQLite's ``quick_check`` misses damage inside indexes and text that is not
UTF-8 (which Python then fails to decode on the first read). So a store under
:data:`THOROUGH_BYTES`, or one that was not closed cleanly (its ``-wal`` is still there), gets the
full ``integrity_check`` and a read of every text value; only a large, cleanly closed store gets the
quick check. Any SQLite error while opening is the "damaged" path: the file is set aside, a
notice says so, and a new store starts.

Read-only: a WAL store in a folder that cannot be written (a read-only mount, a write-protected
copy) cannot be opened in place when its ``-shm`` is missing, and opening it as "immutable" would
skip the edits still in its ``-wal``. It is copied (with its ``-wal``) to a private temporary folder
and read from there into memory, so everything it holds is shown.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.labels import schema
from core.labels.errors import StoreDamagedError, StoreError

SYNCHRONOUS = "FULL"
BUSY_TIMEOUT_MS = 5000
#: Stores up to this size get the full integrity check at every open (tens of milliseconds).
THOROUGH_BYTES = 64 << 20


@dataclass
class Opened:
    conn: sqlite3.Connection
    read_only: bool
    notices: list[str] = field(default_factory=list)
    #: Where a damaged store was moved to (the user's data, kept), or None.
    recovered_from: Path | None = None
    #: The schema version the store was migrated from, or None.
    migrated_from: int | None = None


def connect(path: Path | str, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, foreign keys on."""
    if str(path) == ":memory:":
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    else:
        uri = f"{Path(path).resolve().as_uri()}?mode={'ro' if read_only else 'rwc'}"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=5.0)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        if not read_only and str(path) != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def health(conn: sqlite3.Connection, *, thorough: bool = False) -> int:
    """The schema version of a sound store; raises DatabaseError / UnknownDatabase when it is not one.

    ``thorough``: SQLite's full integrity check (indexes too) and every text value decoded.
    """
    rows = conn.execute("PRAGMA integrity_check" if thorough else "PRAGMA quick_check").fetchall()
    if rows != [("ok",)]:
        raise sqlite3.DatabaseError("; ".join(str(r[0]) for r in rows[:3]))
    version = schema.schema_version(conn)
    if thorough:
        _check_text(conn)
    return version


#: Columns whose values are JSON documents: a stray byte there fails on the first read, not at open.
JSON_COLUMNS = {
    "current": ("value",),
    "edits": ("old", "new"),
    "view_state": ("value",),
    "runs": ("settings", "metrics"),
}


def _check_text(conn: sqlite3.Connection) -> None:
    """Every TEXT value decodes as UTF-8 and every JSON column parses (random bytes in a page can pass
    SQLite's structural checks)."""
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    saved = conn.text_factory
    conn.text_factory = bytes
    try:
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            json_columns = {columns.index(c) for c in JSON_COLUMNS.get(table, ()) if c in columns}
            for row in cursor:
                for k, value in enumerate(row):
                    if isinstance(value, bytes):
                        _check_value(value, k in json_columns, table, columns[k])
    finally:
        conn.text_factory = saved


def _check_value(value: bytes, is_json: bool, table: str, column: str) -> None:
    try:
        text = value.decode("utf-8")
        if is_json:
            json.loads(text)
    except UnicodeDecodeError:
        raise sqlite3.DatabaseError(f"table {table} holds text that is not UTF-8") from None
    except ValueError:
        raise sqlite3.DatabaseError(f"table {table} holds a {column} that is not valid JSON") from None


def needs_thorough_check(path: Path) -> bool:
    """Small stores always; large ones when they were not closed cleanly (the -wal is left behind) or a read
    found them damaged (:func:`damaged_on_read` left a marker)."""
    try:
        return (
            path.stat().st_size <= THOROUGH_BYTES
            or path.with_name(path.name + "-wal").exists()
            or _marker(path).exists()
        )
    except OSError:
        return True


def _marker(path: Path) -> Path:
    return path.with_name(path.name + "-check")


def damaged_on_read(path: Path, exc: sqlite3.Error) -> StoreError:
    """The error a read of an open store raises: the user's words, and the store marked for the full check
    at its next open (where a damaged one is set aside and a new one started)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    damaged = name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "decode" in str(exc).lower()
    if not damaged:
        return StoreError(f"Could not read the project store {path}: {exc}.")
    with contextlib.suppress(OSError):  # a read-only place: it is checked in full when opened there anyway
        _marker(path).touch()
    return StoreDamagedError(
        f"The project store {path} is damaged ({exc}). Open the dataset again: the store is then checked, "
        "kept aside under another name, and a new one started; the dataset's own labels are unchanged."
    )


def move_aside(path: Path) -> Path:
    """Rename a damaged store (and its -wal/-shm) to ``project.corrupt-<time>.sqlite``; never delete it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.stem}.corrupt-{stamp}{path.suffix}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.stem}.corrupt-{stamp}-{n}{path.suffix}")
    _marker(path).unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.replace(target.with_name(target.name + suffix))
    path.replace(target)
    return target


def explain(exc: sqlite3.Error, what: str, folder: Path) -> str:
    """A failed write in the user's words: what could not be done, why, and that nothing was saved."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name == "SQLITE_FULL":
        reason = "the disk is full"
    elif name.startswith("SQLITE_READONLY"):
        reason = f"the folder {folder} is read-only"
    elif name.startswith("SQLITE_IOERR"):
        reason = f"the disk reported an I/O error ({exc})"
    elif name in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        reason = "the store is damaged; open the dataset again to recover it"
    else:
        reason = str(exc)
    return f"Could not {what}: {reason}. Nothing of it was saved."


def transaction(conn: sqlite3.Connection, work) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        work(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def open_database(path: Path, identity: dict[str, str], *, read_only: bool) -> Opened:
    """Open (creating, recovering or migrating as needed) the store at ``path``."""
    if read_only:
        return _open_read_only(path, identity)
    opened = Opened(conn=None, read_only=False)  # type: ignore[arg-type]
    thorough = needs_thorough_check(path)  # before connecting: opening in WAL mode creates a -wal
    try:
        conn = connect(path)
        version = _checked(conn, thorough=thorough)
        _marker(path).unlink(missing_ok=True)  # checked in full: sound
    except (sqlite3.Error, schema.UnknownDatabase) as exc:
        moved = move_aside(path)
        opened.recovered_from = moved
        opened.notices.append(
            f"The project store {path} was damaged ({exc}). It was kept as {moved.name} and a new, empty store "
            "was started; the labels of the dataset itself are unchanged."
        )
        conn = connect(path)
        version = 0
    if version > schema.SCHEMA_VERSION:
        conn.close()
        opened.conn, opened.read_only = connect(path, read_only=True), True
        opened.notices.append(f"{path} was written by a newer CV Lens (schema {version}); it is opened read-only.")
        return opened
    _bring_up_to_date(conn, path, version, identity, opened)
    opened.conn = conn
    return opened


def _checked(conn: sqlite3.Connection, *, thorough: bool = False) -> int:
    try:
        return health(conn, thorough=thorough)
    except BaseException:
        conn.close()
        raise


def _bring_up_to_date(conn: sqlite3.Connection, path: Path | None, version: int, identity, opened: Opened) -> None:
    try:
        if version == 0:
            transaction(conn, lambda c: schema.create(c, identity))
        elif version < schema.SCHEMA_VERSION:
            if path is not None:
                _backup(conn, path.with_name(f"{path.stem}.v{version}-backup-{time.strftime('%Y%m%d-%H%M%S')}.sqlite"))
            transaction(conn, lambda c: schema.migrate(c, version))
            opened.migrated_from = version
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(
            f"Could not prepare the project store {path or ''}: {exc}. Nothing in it was changed."
        ) from exc


def _backup(conn: sqlite3.Connection, target: Path) -> None:
    backup = sqlite3.connect(target)
    try:
        conn.backup(backup)
    finally:
        backup.close()


def _open_read_only(path: Path, identity: dict[str, str]) -> Opened:
    """Read what is there; anything that would need a write (create, migrate) happens in memory."""
    opened = Opened(conn=None, read_only=True)  # type: ignore[arg-type]
    memory = connect(":memory:")
    version = 0
    if path.exists():
        thorough = needs_thorough_check(path)
        try:
            conn = connect(path, read_only=True)
            version = _checked(conn, thorough=thorough)
        except (sqlite3.Error, schema.UnknownDatabase) as exc:
            version = _read_copy(path, memory, exc, opened)
        else:
            if version >= schema.SCHEMA_VERSION:
                memory.close()
                opened.conn = conn
                return opened
            conn.backup(memory)
            conn.close()
    _bring_up_to_date(memory, None, version, identity, opened)
    opened.conn = memory
    return opened


def _read_copy(path: Path, memory: sqlite3.Connection, first: BaseException, opened: Opened) -> int:
    """Read a store that cannot be opened in place from a private copy of it and its -wal, into ``memory``.

    Returns its schema version (0 when even the copy cannot be read: a notice then says it is damaged).
    """
    with tempfile.TemporaryDirectory(prefix="cvlens-store-") as tmp:
        copy = Path(tmp) / path.name
        try:
            shutil.copyfile(path, copy)
            wal = path.with_name(path.name + "-wal")
            if wal.exists():
                shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
            conn = connect(copy)
            try:
                version = health(conn, thorough=True)
                conn.backup(memory)
            finally:
                conn.close()
        except (OSError, sqlite3.Error, schema.UnknownDatabase) as exc:
            opened.notices.append(
                f"The project store {path} cannot be read ({first}; {exc}) and cannot be repaired read-only."
            )
            return 0
    return version
