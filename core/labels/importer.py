"""Import labels from a CSV: a preview of what would change, and every row that did not match.

Columns are found by their header (case-insensitive): the sample by ``sample_id`` / ``id`` /
``path`` / ``file`` / ``image`` (a sample id, or the image's path relative to the dataset root,
or absolute); the label by ``label`` / ``class`` (a class name, or its index; empty = unlabeled,
``<ignore>`` = ignore), or tags by ``tags`` / ``labels`` (names or indices separated by ``;``);
optional ``split``, ``status`` and ``note``. Without a header the columns are sample, label.
Rows naming an unknown sample, split, class or mark are listed in ``mismatches`` and not applied.
:meth:`ImportPreview.apply` records all changes as one undoable step.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.labels.codec import SPECIAL_LABELS, Codec
from core.labels.errors import StoreError
from core.labels.project import Project
from core.labels.values import STATUSES, Change, Step
from core.labels.writers import CSV_IGNORE, CSV_UNLABELED, TAG_SEPARATOR

SAMPLE_COLUMNS = ("sample_id", "id", "sample", "path", "file", "filename", "image", "image_id")
LABEL_COLUMNS = ("label", "class", "label_name", "class_name", "category", "target")
TAG_COLUMNS = ("tags", "labels", "attributes")


@dataclass(frozen=True)
class PlannedChange:
    """One field of one sample the import would change, with readable from / to."""

    line: int
    split: str
    index: int
    sample_id: str
    field: str
    old: str
    new: str
    change: Change = field(repr=False)


@dataclass(frozen=True)
class Mismatch:
    line: int
    row: tuple[str, ...]
    reason: str


@dataclass
class ImportPreview:
    project: Project
    path: Path
    changes: list[PlannedChange] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    #: Rows that matched and already hold what the CSV says.
    unchanged: int = 0

    def apply(self, description: str | None = None) -> Step | None:
        """Record every planned change as one undoable step; None when there is nothing to change."""
        changes = [planned.change for planned in self.changes]
        text = description or f"import {self.path.name}: {len(changes)} changes"
        return self.project.store.commit(changes, text) if changes else None


@dataclass
class _Split:
    """One split's current and original labels, copied once for the whole import."""

    project: Project
    targets: np.ndarray | None
    original_targets: np.ndarray | None
    tags: np.ndarray | None
    original_tags: np.ndarray | None
    status: np.ndarray
    notes: dict[int, str]

    @classmethod
    def of(cls, p: Project) -> _Split:
        return cls(p, p.targets(), p.targets(True), p.tags(), p.tags(True), p.status(), p.notes())

    @property
    def codec(self) -> Codec:
        return self.project.codec


class _Samples:
    """Finds a sample of the dataset by id or path, in the project's split first, then the others."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._lookups: dict[tuple[str, str], dict[str, int]] = {}
        self._splits: dict[str, _Split] = {}

    def split(self, part: Project) -> _Split:
        if part.split not in self._splits:
            self._splits[part.split] = _Split.of(part)
        return self._splits[part.split]

    def find(self, key: str, split: str | None) -> tuple[Project, int] | None:
        dataset = self.project.dataset
        names = [split] if split is not None else [dataset.split] + [s for s in dataset.splits if s != dataset.split]
        key = key.replace("\\", "/")
        parts = [self.project.for_split(name) for name in names]
        for lookup in (self._ids, self._paths):  # ids first: listing every file's path costs more
            for part in parts:
                index = lookup(part).get(key)
                if index is not None:
                    return part, index
        return None

    def _ids(self, part: Project) -> dict[str, int]:
        if ("id", part.split) not in self._lookups:
            self._lookups[("id", part.split)] = {sample_id: i for i, sample_id in enumerate(part.dataset.sample_ids)}
        return self._lookups[("id", part.split)]

    def _paths(self, part: Project) -> dict[str, int]:
        """Absolute paths and paths relative to the dataset root."""
        if ("path", part.split) not in self._lookups:
            found: dict[str, int] = {}
            root = part.dataset.root
            for i in range(len(part.dataset)):
                path = part.dataset.sample_path(i)
                if path is not None:
                    found.setdefault(str(path), i)
                    if path.is_relative_to(root):
                        found.setdefault(path.relative_to(root).as_posix(), i)
            self._lookups[("path", part.split)] = found
        return self._lookups[("path", part.split)]


def preview_csv(project: Project, path: str | Path) -> ImportPreview:
    """What importing ``path`` into ``project`` would change; nothing is written."""
    path = Path(path)
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise StoreError(f"Cannot read {path}: {exc}") from exc
    preview = ImportPreview(project, path)
    columns, first = _columns(rows[0] if rows else [])
    samples, seen = _Samples(project), {}
    for line, row in enumerate(rows[first:], first + 1):
        if not any(cell.strip() for cell in row):
            continue
        _plan_row(preview, samples, seen, columns, line, row)
    return preview


def _columns(header: list[str]) -> tuple[dict[str, int], int]:
    """Column positions by role, and the index of the first data row."""
    names = [h.strip().lower() for h in header]
    columns = {}
    for role, options in (("sample", SAMPLE_COLUMNS), ("label", LABEL_COLUMNS), ("tags", TAG_COLUMNS)):
        found = next((names.index(o) for o in options if o in names), None)
        if found is not None:
            columns[role] = found
    for role in ("split", "status", "note"):
        if role in names:
            columns[role] = names.index(role)
    if "sample" not in columns:
        return {"sample": 0, "label": 1}, 0
    return columns, 1


def _plan_row(preview: ImportPreview, samples: _Samples, seen: dict, columns: dict[str, int], line: int, row) -> None:
    def cell(role: str) -> str | None:
        position = columns.get(role)
        return None if position is None else (row[position].strip() if position < len(row) else "")

    def mismatch(reason: str) -> None:
        preview.mismatches.append(Mismatch(line, tuple(row), reason))

    dataset = preview.project.dataset
    split = cell("split") or None
    if split is not None and split not in dataset.splits and split != (dataset.split or ""):
        return mismatch(f"unknown split {split!r}; the dataset has {dataset.splits}")
    found = samples.find(cell("sample") or "", split)
    if found is None:
        return mismatch(f"no sample {cell('sample')!r} in the dataset")
    part, index = found
    if (part.split, index) in seen:
        return mismatch(f"the sample was already given on line {seen[(part.split, index)]}")
    seen[(part.split, index)] = line
    planned, reason = [], None
    for role, parse in (("label", _label), ("tags", _tags), ("status", _status), ("note", _note)):
        text = cell(role)
        if text is None:
            continue
        try:
            planned += parse(samples.split(part), index, text)
        except ValueError as exc:
            reason = str(exc)
            break
    if reason is not None:
        return mismatch(reason)
    if not planned:
        preview.unchanged += 1
    for field_name, old, new, stored in planned:
        change = Change(part.split, part.dataset.sample_ids[index], field_name, stored)
        preview.changes.append(PlannedChange(line, part.split, index, change.sample_id, field_name, old, new, change))
    return None


def _label(part: _Split, index: int, text: str) -> list[tuple[str, str, str, Any]]:
    targets = part.targets
    if targets is None:
        raise ValueError("the dataset has no class labels (use a tags column)")
    code = _label_code(part.codec, text)
    if code == targets[index]:
        return []
    original = part.original_targets[index]
    stored = None if code == original else part.codec.label_stored(code)
    return [("label", part.codec.label_name(targets[index]), part.codec.label_name(code), stored)]


def _label_code(codec: Codec, text: str) -> int:
    if text in codec.index:
        return codec.index[text]
    if text == CSV_UNLABELED:
        return SPECIAL_LABELS["unlabeled"]
    if text in (CSV_IGNORE, "ignore"):
        return SPECIAL_LABELS["ignore"]
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(codec.classes):
        return int(text)
    raise ValueError(f"label {text!r} is not one of the {len(codec.classes)} classes")


def _tags(part: _Split, index: int, text: str) -> list[tuple[str, str, str, Any]]:
    tags = part.tags
    if tags is None:
        raise ValueError("the dataset has no tags (use a label column)")
    row = np.zeros(tags.shape[1], dtype=np.uint8)
    for name in (t.strip() for t in text.replace("|", TAG_SEPARATOR).split(TAG_SEPARATOR)):
        if name in part.codec.index:
            row[part.codec.index[name]] = 1
        elif name.isdigit() and int(name) < len(row):
            row[int(name)] = 1
        elif name:
            raise ValueError(f"tag {name!r} is not one of the {len(row)} labels")
    if (row == tags[index]).all():
        return []
    same = (row == part.original_tags[index]).all()
    old, new = part.codec.tags_stored(tags[index]), part.codec.tags_stored(row)
    return [("tags", TAG_SEPARATOR.join(old), TAG_SEPARATOR.join(new), None if same else new)]


def _status(part: _Split, index: int, text: str) -> list[tuple[str, str, str, Any]]:
    if text not in STATUSES:
        raise ValueError(f"status {text!r} is not one of {STATUSES[1:]} (or empty)")
    old = STATUSES[part.status[index]]
    return [] if old == text else [("status", old, text, text or None)]


def _note(part: _Split, index: int, text: str) -> list[tuple[str, str, str, Any]]:
    old = part.notes.get(index, "")
    return [] if old == text else [("note", old, text, text or None)]
