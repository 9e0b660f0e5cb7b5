"""A sample's labels in words, and the user's marks on it, as the browser and the labeling tools show them.

:class:`LabelMarks` keeps per-sample arrays read from the project (edited, review mark, note,
original label) so that painting a tile reads arrays and never queries the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.datasets import Dataset
from core.labels.project import Project
from core.labels.values import IGNORE, STATUSES

IGNORE_TEXT = "⊘ ignore"


def tag_names(classes: list[str], row: np.ndarray, skip: tuple[int, ...] = ()) -> list[str]:
    """The names of the labels set in one row of a tags array."""
    return [classes[c] for c in np.flatnonzero(row) if c not in skip]


def class_text(classes: list[str], label: int) -> str:
    """A class index in words: its name, "⊘ ignore" for IGNORE, "" when unlabeled."""
    if label == IGNORE:
        return IGNORE_TEXT
    return classes[label] if 0 <= label < len(classes) else ""


def label_text(dataset: Dataset, index: int) -> str:
    """The sample's label in words: its class, its tags joined, or "" when it has none."""
    if dataset.tags is not None:
        return ", ".join(tag_names(dataset.classes, dataset.tags[index]))
    if dataset.targets is None or not dataset.classes:
        return ""
    return class_text(dataset.classes, int(dataset.targets[index]))


def tag_changes_text(classes: list[str], original: np.ndarray, current: np.ndarray) -> str:
    """What the user changed in a sample's tags: "added Smiling; removed Bald"."""
    added = [classes[c] for c in np.flatnonzero((current > 0) & (original == 0))]
    removed = [classes[c] for c in np.flatnonzero((current == 0) & (original > 0))]
    parts = ["added " + ", ".join(added)] * bool(added) + ["removed " + ", ".join(removed)] * bool(removed)
    return "; ".join(parts)


@dataclass
class LabelMarks:
    """The user's work on every sample, as arrays: edited, review mark (``STATUSES`` code), notes."""

    edited: np.ndarray
    status: np.ndarray
    notes: dict[int, str] = field(default_factory=dict)
    original_targets: np.ndarray | None = None
    original_tags: np.ndarray | None = None

    @classmethod
    def of(cls, project: Project) -> LabelMarks:
        return cls(
            project.edited(),
            project.status(),
            project.notes(),
            project.targets(original=True),
            project.tags(original=True),
        )

    def status_name(self, index: int) -> str:
        return STATUSES[int(self.status[index])]

    def original_text(self, classes: list[str], index: int) -> str:
        """The dataset's own label of a sample in words ("(none)" when it had none)."""
        if self.original_tags is not None:
            return ", ".join(tag_names(classes, self.original_tags[index])) or "(no tags)"
        if self.original_targets is not None:
            return class_text(classes, int(self.original_targets[index])) or "(unlabeled)"
        return ""

    def edit_text(self, classes: list[str], index: int, tags: np.ndarray | None = None) -> str:
        """What an edited sample was: "the dataset says: dog", or its tag changes ("added Smiling")."""
        if tags is not None and self.original_tags is not None:
            return tag_changes_text(classes, self.original_tags[index], tags[index])
        return f"the dataset says: {self.original_text(classes, index)}"

    def tooltip_lines(self, classes: list[str], index: int, tags: np.ndarray | None = None) -> list[str]:
        lines = []
        if self.edited[index]:
            lines.append(f"✎ edited; {self.edit_text(classes, index, tags)}")
        if self.status[index]:
            lines.append(f"marked {self.status_name(index)}")
        note = self.notes.get(index)
        if note:
            lines.append(f"note: {note if len(note) < 120 else note[:117] + '…'}")
        return lines
