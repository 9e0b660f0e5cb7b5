"""Saved masks with a history: every save of a sample's mask is kept, undoable like a label edit.

A save writes the mask as a single-channel class-index PNG (255 = ignore, whatever the dataset's
own encoding) into the store's ``masks/`` folder, synced, under a new name; then, in one
transaction, a ``mask_versions`` row (split, sample, file, SHA-256, size, user, time) and an edit
step setting the sample's field ``mask`` to the version's id. So:

- an earlier save is never overwritten: its file and row stay, and the sample's history lists it;
- Undo of a save is the edits' undo (the field goes back to the previous version's id, or to
  NULL, the dataset's own mask), across restarts, since the stacks live in the store;
- a crash between the file and the row leaves at worst a file no row names, never a row without
  its file.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.labels.errors import StoreError, StoreReadOnlyError
from core.labels.history import current_user
from core.labels.values import Change
from core.system.files import write_atomic

if TYPE_CHECKING:
    from core.labels.store import ProjectStore
    from core.labels.values import Step

MASKS_FOLDER = "masks"
_COLUMNS = "id, split, sample_id, file, sha256, height, width, user, time"


@dataclass(frozen=True)
class MaskVersion:
    """One saved mask of one sample: ``file`` is relative to the store's folder."""

    id: int
    split: str
    sample_id: str
    file: str
    sha256: str
    height: int
    width: int
    user: str
    time: float


def encode_png(mask: np.ndarray) -> bytes:
    """Lossless PNG of an H x W uint8 class mask."""
    import cv2

    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be H x W, got shape {mask.shape}")
    ok, data = cv2.imencode(".png", mask)
    if not ok:
        raise ValueError("the mask could not be encoded as PNG")
    return data.tobytes()


def _write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably (temp file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


def save_version(store: ProjectStore, split: str, sample_id: str, mask: np.ndarray, description: str) -> Step:
    """Keep ``mask`` as the newest saved mask of the sample: one undoable step (see the module docstring)."""
    if store.read_only:
        raise StoreReadOnlyError(f"Cannot save the mask: {store.notice or 'the project store is read-only'}")
    data = encode_png(mask)
    relative = f"{MASKS_FOLDER}/{uuid.uuid4().hex[:16]}.png"
    path = store.folder / relative
    try:
        _write_file(path, data)
    except OSError as exc:
        reason = exc.strerror or exc
        raise StoreError(f"Could not save the mask into {path.parent}: {reason}. Nothing was saved.") from None
    row = (split, sample_id, relative, hashlib.sha256(data).hexdigest(), *np.shape(mask), current_user(), time.time())

    def changes(conn) -> list[Change]:
        cursor = conn.execute(
            "INSERT INTO mask_versions (split, sample_id, file, sha256, height, width, user, time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )
        return [Change(split, sample_id, "mask", int(cursor.lastrowid))]

    try:
        return store.commit_built(changes, description)
    except StoreError:
        path.unlink(missing_ok=True)
        raise


def get_version(store: ProjectStore, version_id: int) -> MaskVersion | None:
    with store.reading() as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM mask_versions WHERE id = ?", (int(version_id),)).fetchone()
    return None if row is None else MaskVersion(*row)


def list_versions(store: ProjectStore, split: str, sample_id: str) -> list[MaskVersion]:
    """Every saved mask of a sample, oldest first (undone ones too: they are history)."""
    with store.reading() as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM mask_versions WHERE split = ? AND sample_id = ? ORDER BY id", (split, sample_id)
        ).fetchall()
    return [MaskVersion(*row) for row in rows]


def read_version(store: ProjectStore, version: MaskVersion) -> np.ndarray:
    """The H x W uint8 class mask of a saved version; StoreError when its file is gone or damaged."""
    import cv2

    path = store.folder / version.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"The saved mask {path} cannot be read: {exc.strerror or exc}") from None
    if hashlib.sha256(data).hexdigest() != version.sha256:
        raise StoreError(f"The saved mask {path} was changed or damaged since it was saved")
    mask = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if mask is None or mask.shape != (version.height, version.width):
        raise StoreError(f"The saved mask {path} is not the {version.width}x{version.height} mask that was saved")
    return mask


def next_step_saves(
    store: ProjectStore, split: str, sample_id: str, *, redo: bool = False, field: str = "mask"
) -> bool:
    """Whether Undo (``redo``: Redo) would now take back (bring back) a save of this sample's mask (``field``:
    or of its objects, "boxes"), and nothing else."""
    state, order = ("undone", "ASC") if redo else ("done", "DESC")
    with store.reading() as conn:
        step = conn.execute(f"SELECT id FROM steps WHERE state = ? ORDER BY id {order} LIMIT 1", (state,)).fetchone()
        if step is None:
            return False
        rows = conn.execute("SELECT DISTINCT split, sample_id, field FROM edits WHERE step = ?", (step[0],)).fetchall()
    return rows == [(split, sample_id, field)]
