"""Translation between the store's values (class and tag names) and a dataset's array codes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from core.labels.values import IGNORE, STATUS_CODES, STATUSES, UNLABELED

SPECIAL_LABELS = {"unlabeled": UNLABELED, "ignore": IGNORE}


class Codec:
    """Class names <-> indices for one dataset; unknown names map to None, never to a wrong class."""

    def __init__(self, classes: Sequence[str]) -> None:
        self.classes = list(classes)
        self.index: dict[str, int] = {}
        for i, name in enumerate(self.classes):
            self.index.setdefault(name, i)

    # -- labels ---------------------------------------------------------------------
    def label_code(self, stored: Any) -> int | None:
        """Array code of a stored label; None when the class is no longer in the dataset."""
        if isinstance(stored, int):
            return stored if stored in (UNLABELED, IGNORE) else None
        return self.index.get(stored)

    def label_stored(self, code: int) -> str | int:
        return int(code) if code in (UNLABELED, IGNORE) else self.classes[int(code)]

    def label_from_user(self, label: int | str) -> int:
        """A class index, a class name, UNLABELED / IGNORE or "unlabeled" / "ignore" -> array code."""
        if isinstance(label, (int, np.integer)):
            code = int(label)
            if code in (UNLABELED, IGNORE) or 0 <= code < len(self.classes):
                return code
            raise ValueError(f"label {code} is outside the {len(self.classes)} classes")
        if label in self.index:
            return self.index[label]
        if label in SPECIAL_LABELS:
            return SPECIAL_LABELS[label]
        raise ValueError(f"{label!r} is not one of the dataset's classes")

    def label_codes(self, label: Any, n: int) -> np.ndarray:
        """Codes of ``n`` samples: one label for all (index, name, special) or a sequence of one each."""
        if isinstance(label, (str, int, np.integer)):
            return np.full(n, self.label_from_user(label), dtype=np.int64)
        codes = np.array([self.label_from_user(v) for v in label], dtype=np.int64)
        if len(codes) != n:
            raise ValueError(f"{len(codes)} labels for {n} samples")
        return codes

    def label_name(self, code: int) -> str:
        """What the user reads: the class name, "unlabeled" or "ignore"."""
        if code == UNLABELED:
            return "unlabeled"
        if code == IGNORE:
            return "ignore"
        return self.classes[int(code)]

    # -- tags -----------------------------------------------------------------------
    def tag_index(self, tag: int | str) -> int:
        if isinstance(tag, (int, np.integer)):
            if 0 <= int(tag) < len(self.classes):
                return int(tag)
            raise ValueError(f"tag {tag} is outside the {len(self.classes)} labels")
        if tag in self.index:
            return self.index[tag]
        raise ValueError(f"{tag!r} is not one of the dataset's labels")

    def tags_row(self, stored: Iterable[str]) -> np.ndarray | None:
        """The N-label 0/1 row of a stored tag list; None when a name is unknown."""
        row = np.zeros(len(self.classes), dtype=np.uint8)
        for name in stored:
            if name not in self.index:
                return None
            row[self.index[name]] = 1
        return row

    def tags_stored(self, row: np.ndarray) -> list[str]:
        return sorted(self.classes[i] for i in np.flatnonzero(row))


def status_code(status: str | int | None) -> int:
    """A review mark by name ("reviewed"), by code, or None / "" for no mark -> its code."""
    if status is None:
        return 0
    if isinstance(status, (int, np.integer)):
        if 0 <= int(status) < len(STATUSES):
            return int(status)
        raise ValueError(f"status code {status} is not one of {STATUSES}")
    if status in STATUS_CODES:
        return STATUS_CODES[status]
    raise ValueError(f"{status!r} is not a review mark; expected one of {STATUSES[1:]}")


def sample_indices(indices: Any, n: int) -> np.ndarray:
    """An index, a list/array of indices or a boolean mask -> int64 indices, checked against ``n`` samples."""
    idx = np.atleast_1d(np.asarray(indices))
    if idx.dtype == bool:
        idx = np.flatnonzero(idx)
    idx = idx.astype(np.int64, copy=False).ravel()
    if len(idx) and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"sample indices must be in 0..{n - 1}")
    return idx
