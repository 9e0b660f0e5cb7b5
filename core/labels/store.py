"""The project store: one SQLite database per dataset holding the user's work on it.

Label edits with their history and persisted undo/redo, review marks and notes, model runs and
the view state. :meth:`ProjectStore.open` finds the store again (``location``), takes the
writer's lock (``lock``), checks, recovers or migrates the file (``connection``); every write is
one transaction, so an edit is either wholly saved or not at all.

Opening never fails for a reason the user can work around: a store held by another copy of
the app opens read-only, a damaged one is kept aside and replaced, an old one is migrated.
``read_only`` and ``notice`` say what happened, for the GUI to show.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import stat
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.labels import history
from core.labels.connection import damaged_on_read, explain, open_database
from core.labels.errors import StoreError, StoreReadOnlyError, StoreWriteError
from core.labels.location import DB_NAME, LOCK_NAME, RUNS_FOLDER, can_write, store_folder
from core.labels.lock import StoreLock
from core.labels.run_arrays import remove_partial_files
from core.labels.values import Change, HistoryEntry, Step

if TYPE_CHECKING:
    from core.datasets.base import Dataset

Listener = Callable[[Step], None]

_OPEN: weakref.WeakValueDictionary[str, ProjectStore] = weakref.WeakValueDictionary()
_OPEN_MUTEX = threading.Lock()


class ProjectStore:
    """One dataset's store. Use :meth:`open` (or ``open_project``), not the constructor."""

    def __init__(self, folder: Path, lock: StoreLock, root: Path, layout: str, *, read_only: bool) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DB_NAME
        self.root, self.layout = Path(root), layout
        self._lock = lock
        self._mutex = threading.RLock()
        self._listeners: list[Callable[[], Listener | None]] = []
        self._view_overlay: dict[str, Any] = {}
        self.closed = False
        identity = {"dataset_root": str(self.root.resolve()), "layout": layout}
        opened = open_database(self.path, identity, read_only=read_only)
        self._conn = opened.conn
        self.read_only = opened.read_only
        self.notices: list[str] = opened.notices
        self.recovered_from = opened.recovered_from
        self.migrated_from = opened.migrated_from

    # -- opening and closing ---------------------------------------------------------
    @classmethod
    def open(cls, root: str | Path, layout: str, *, shared: bool = True) -> ProjectStore:
        """The store of the dataset at ``root`` in ``layout``; the one already open in this process if any.

        ``shared=False`` opens a second handle, as a second copy of the app would (it is read-only then).
        """
        folder = store_folder(root, layout)
        key = str((folder / DB_NAME).resolve())
        with _OPEN_MUTEX:
            existing = _OPEN.get(key) if shared else None
            if existing is not None and not existing.closed:
                return existing
            store = cls._acquire(folder, Path(root), layout)
            if shared:
                _OPEN[key] = store
            return store

    @classmethod
    def _acquire(cls, folder: Path, root: Path, layout: str) -> ProjectStore:
        lock = StoreLock(folder / LOCK_NAME)
        notices = []
        if not can_write(folder):
            notices.append(f"The folder {folder} is read-only: the labels are shown but cannot be changed.")
        elif _write_protected(folder / DB_NAME):
            notices.append(
                f"The project store {folder / DB_NAME} is write-protected (no write permission on the file): "
                "the labels are shown but cannot be changed."
            )
        elif not lock.acquire():
            who = lock.holder()
            notices.append(
                f"This dataset is open in another copy of CV Lens ({who or 'another process'}); "
                "its labels are shown read-only until that copy closes it."
            )
        store = cls(folder, lock, root, layout, read_only=not lock.held)
        store.notices[:0] = notices
        if not store.read_only:
            remove_partial_files(store.runs_folder)
        return store

    @property
    def notice(self) -> str:
        """What the user should be told about this store ("" when all is well)."""
        return "\n".join(self.notices)

    @property
    def runs_folder(self) -> Path:
        return self.folder / RUNS_FOLDER

    def close(self) -> None:
        """Close the database and release the writer's lock; the store cannot be used afterwards."""
        if self.closed:
            return
        self.closed = True
        with self._mutex:
            try:
                self._conn.close()
            finally:
                self._lock.release()

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "closed", True):
            with contextlib.suppress(Exception):  # at interpreter exit modules may be half torn down
                self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "writable"
        return f"<ProjectStore {str(self.path)!r} {mode}>"

    # -- transactions ----------------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        if self.closed:
            raise StoreError(f"the project store {self.path} is closed")
        with self._mutex:
            try:
                yield self._conn
            except sqlite3.Error as exc:  # writes turn theirs into StoreWriteError before they get here
                raise damaged_on_read(self.path, exc) from exc

    @contextmanager
    def writing(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is saved, or (StoreWriteError) none of it."""
        if self.read_only:
            raise StoreReadOnlyError(f"Cannot {what}: {self.notice or 'the project store is read-only'}")
        with self.reading() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise StoreWriteError(explain(exc, what, self.folder)) from exc
            except BaseException:
                _rollback(conn)
                raise

    # -- label edits -----------------------------------------------------------------
    def overrides(self, split: str) -> list[tuple[str, str, str]]:
        """(sample_id, field, stored JSON) of every field edited away from the dataset's value in ``split``."""
        with self.reading() as conn:
            return conn.execute("SELECT sample_id, field, value FROM current WHERE split = ?", (split,)).fetchall()

    def commit(self, changes: Sequence[Change], description: str) -> Step | None:
        """Record ``changes`` as one undoable step (one transaction); None when there are none."""
        if not changes:
            return None
        with self.writing(f"save the edit '{description}'") as conn:
            step = history.commit(conn, changes, description)
        self._notify(step)
        return step

    def commit_built(self, build: Callable[[sqlite3.Connection], Sequence[Change]], description: str) -> Step:
        """One undoable step of the changes ``build(conn)`` returns after writing rows of its own (a saved
        mask's version row), all in one transaction."""
        with self.writing(f"save '{description}'") as conn:
            step = history.commit(conn, build(conn), description)
        self._notify(step)
        return step

    def undo(self) -> Step | None:
        """Revert the latest edit step (of any split); None when there is nothing to undo."""
        with self.writing("undo") as conn:
            step = history.undo(conn)
        self._notify(step)
        return step

    def redo(self) -> Step | None:
        with self.writing("redo") as conn:
            step = history.redo(conn)
        self._notify(step)
        return step

    @property
    def undo_description(self) -> str | None:
        """What Undo would revert, for the menu ("Undo label -> cat, 3 samples"); None when nothing."""
        with self.reading() as conn:
            return history.next_undo(conn)

    @property
    def redo_description(self) -> str | None:
        with self.reading() as conn:
            return history.next_redo(conn)

    def history(
        self, split: str | None = None, sample_id: str | None = None, limit: int | None = None
    ) -> list[HistoryEntry]:
        """Every recorded change (edits, undos, redos), oldest first; filtered by split / sample."""
        with self.reading() as conn:
            return history.entries(conn, split, sample_id, limit)

    # -- listeners -------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(step)`` after every committed edit, undo and redo (held weakly if a method)."""
        ref = weakref.WeakMethod(listener) if hasattr(listener, "__self__") else (lambda: listener)
        self._listeners.append(ref)

    def _notify(self, step: Step | None) -> None:
        if step is None:
            return
        alive = [(ref, ref()) for ref in self._listeners]
        self._listeners = [ref for ref, fn in alive if fn is not None]
        for _, fn in alive:
            if fn is not None:
                fn(step)

    # -- view state ------------------------------------------------------------------
    def get_view(self, key: str, default: Any = None) -> Any:
        """A value of the user's view state (sort order, filters, column widths), JSON-decoded."""
        if key in self._view_overlay:
            return self._view_overlay[key]
        with self.reading() as conn:
            row = conn.execute("SELECT value FROM view_state WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_view(self, key: str, value: Any) -> None:
        """Remember a view-state value; in a read-only store it is kept for this session only."""
        if self.read_only:
            self._view_overlay[key] = value
            return
        text = json.dumps(value, ensure_ascii=False)
        with self.writing("save the view state") as conn:
            conn.execute("INSERT OR REPLACE INTO view_state (key, value) VALUES (?, ?)", (key, text))

    # -- health ----------------------------------------------------------------------
    def integrity_check(self) -> str:
        """SQLite's full integrity check: "ok" for a sound store."""
        with self.reading() as conn:
            return "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))


def _write_protected(path: Path) -> bool:
    """The file exists without any write permission bit (root could still write it: the user chose not to)."""
    try:
        return not stat.S_IMODE(path.stat().st_mode) & 0o222
    except OSError:
        return False


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):  # a failed COMMIT may have rolled back already
            conn.execute("ROLLBACK")


def open_store(dataset: Dataset) -> ProjectStore:
    """The store of ``dataset`` (any of its splits)."""
    return ProjectStore.open(dataset.root, dataset.layout)
