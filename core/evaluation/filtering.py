"""Which samples the browser's grid shows: the selection narrowed by every filter of its toolbar, order kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from core.datasets import Dataset
from core.evaluation.selection import (
    IdSearch,
    Selection,
    counts_by_class,
    labels_by_class,
    matching_ids,
    narrow,
    shown_indices,
    with_mark,
    with_tags,
)


class UserMarks(Protocol):
    """The user's work on every sample as arrays (``core.labels.marks.LabelMarks`` reads them from the
    project store): edited (bool), review mark (a ``core.labels.STATUSES`` code), notes by dataset index."""

    edited: np.ndarray
    status: np.ndarray
    notes: dict[int, str]


@dataclass
class Filters:
    """What the toolbar asks for (None / empty: no filter)."""

    class_index: int | None = None
    wrong_only: bool = False
    has: tuple[int, ...] = ()
    lacks: tuple[int, ...] = ()
    search: str = ""
    mark: str | None = None


def visible_rows(
    dataset: Dataset,
    selection: Selection | None,
    filters: Filters,
    *,
    tags: np.ndarray | None,
    outcome: np.ndarray | None,
    ids: np.ndarray | IdSearch | None,
    marks: UserMarks | None,
) -> np.ndarray:
    """The dataset indices to show, in the selection's order when it has one.

    ``ids``: the sample ids to search, best as an :class:`IdSearch` kept between calls (lowercased once)."""
    rows = narrow(
        shown_indices(len(dataset), selection),
        targets=dataset.targets,
        tags=tags,
        class_index=filters.class_index,
        outcome=outcome,
        wrong_only=filters.wrong_only,
    )
    if tags is not None and (filters.has or filters.lacks):
        rows = with_tags(rows, tags, filters.has, filters.lacks)
    if filters.mark is not None and marks is not None:
        rows = with_mark(rows, filters.mark, edited=marks.edited, status=marks.status, noted=list(marks.notes))
    if filters.search and ids is not None:
        rows = matching_ids(ids, rows, filters.search)
    return rows


def class_counts(
    dataset: Dataset | None, selection: Selection | None, tags: np.ndarray | None
) -> tuple[np.ndarray, int, int]:
    """(samples per class, samples in the selection, unlabeled ones) for the class filter's entries."""
    if dataset is None:
        return np.zeros(0, dtype=np.int64), 0, 0
    base = shown_indices(len(dataset), selection)
    if tags is None and dataset.tags is None and dataset.targets is not None and dataset.classes:
        counts = labels_by_class(base, len(dataset.classes), dataset.targets)
        return counts[2:], len(base), int(counts[1])  # unlabeled (-1), not "ignore" (-2)
    counts = counts_by_class(base, len(dataset.classes), targets=dataset.targets, tags=tags)
    unlabeled = 0
    if dataset.tags is None and dataset.targets is not None and dataset.classes:
        unlabeled = int(np.count_nonzero(dataset.targets[base] == -1))
    return counts, len(base), unlabeled
