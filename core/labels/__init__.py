"""Labeling: the project store (edits with history and undo/redo, review marks, notes, model runs,
view state), the effective labels as numpy arrays, CSV import and exporters.

Start with :func:`open_project`; it finds or creates the dataset's store and binds it to the
dataset's split. Imports numpy and sqlite3 only (no torch, no Qt).
"""

from core.labels.compare import RunComparison
from core.labels.errors import ExportError, StoreDamagedError, StoreError, StoreReadOnlyError, StoreWriteError
from core.labels.project import KEEP, Project, open_project
from core.labels.runs import Run
from core.labels.schema import SCHEMA_VERSION
from core.labels.store import ProjectStore, open_store
from core.labels.values import (
    EXCLUDED,
    FIELDS,
    FLAGGED,
    IGNORE,
    NO_STATUS,
    REVIEWED,
    STATUS_CODES,
    STATUSES,
    UNLABELED,
    Change,
    HistoryEntry,
    Step,
)

__all__ = [
    "EXCLUDED",
    "FIELDS",
    "FLAGGED",
    "IGNORE",
    "KEEP",
    "NO_STATUS",
    "REVIEWED",
    "SCHEMA_VERSION",
    "STATUSES",
    "STATUS_CODES",
    "UNLABELED",
    "Change",
    "ExportError",
    "HistoryEntry",
    "Project",
    "ProjectStore",
    "Run",
    "RunComparison",
    "Step",
    "StoreDamagedError",
    "StoreError",
    "StoreReadOnlyError",
    "StoreWriteError",
    "open_project",
    "open_store",
]
