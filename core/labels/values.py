"""What a label edit is made of: the fields, the special labels, review marks and how values are stored.

The store keeps values in a form that survives a change of the dataset's class list: a class is
stored by *name*, never by index (adding a class folder renumbers ImageFolder's classes).

========  ==========================================================  ======================
field     stored value (JSON in the store)                            array code (``Project``)
========  ==========================================================  ======================
label     class name (str), ``UNLABELED`` (-1) or ``IGNORE`` (-2)     int64 class index, -1, -2
tags      sorted list of tag names                                    N x L uint8 row
status    "reviewed", "flagged" or "excluded"                         int8 ``STATUS_CODES``
note      free text                                                   ``Project.notes()``
mask      id of the sample's newest saved mask (``mask_versions``)    ``Project.saved_masks()``
boxes     {"objects": [{"box": [x0, y0, x1, y1], "class": name,      ``Project.boxes(i)``
          flags...}]}: the sample's whole object list (``boxes.py``)
========  ==========================================================  ======================

``None`` (SQL NULL) always means "the dataset's own value": the original label and tags, no
review mark, no note. Setting a sample back to its original value stores None, so the store
only holds real differences.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.datasets.base import UNLABELED

#: A sample the user chose to leave out of metrics and exports ("ignore" in the label menu).
IGNORE = -2

FIELDS = ("label", "tags", "status", "note", "mask", "boxes")

#: Review marks; a mark's code in ``Project.status()`` is its index here (0 = no mark).
STATUSES = ("", "reviewed", "flagged", "excluded")
NO_STATUS, REVIEWED, FLAGGED, EXCLUDED = range(4)
STATUS_CODES = {name: code for code, name in enumerate(STATUSES)}

__all__ = [
    "EXCLUDED",
    "FIELDS",
    "FLAGGED",
    "IGNORE",
    "NO_STATUS",
    "REVIEWED",
    "STATUSES",
    "STATUS_CODES",
    "UNLABELED",
    "Change",
    "HistoryEntry",
    "Step",
    "decode",
    "encode",
]


@dataclass(frozen=True)
class Change:
    """One field of one sample set to a new stored value (None = back to the dataset's own value)."""

    split: str
    sample_id: str
    field: str
    new: Any
    #: The stored value before the change; filled in by the store when it records the change.
    old: Any = None


@dataclass(frozen=True)
class Step:
    """One undoable step: an edit (possibly of thousands of samples), or the undo/redo of one."""

    id: int
    kind: str  # "edit", "undo" or "redo"
    description: str
    user: str
    time: float
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a sample's history: who changed which field when, from what to what."""

    edit_id: int
    step: int
    kind: str
    description: str
    user: str
    time: float
    split: str
    sample_id: str
    field: str
    old: Any
    new: Any


def encode(value: Any) -> str | None:
    """The JSON text the store keeps for a stored value; None stays SQL NULL."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def decode(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def split_key(split: str | None) -> str:
    """The store's key for a split; datasets without splits use ''."""
    return split or ""
