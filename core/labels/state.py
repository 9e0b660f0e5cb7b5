"""The effective labels of one split as numpy arrays, kept in step with the store.

Loaded once from the store's ``current`` table (one indexed scan), then updated in place from
each committed step, so reading the arrays costs one copy, whatever the number of edits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.datasets.base import Dataset, SampleError
from core.labels.boxes import Objects, count_text, dataset_objects
from core.labels.codec import Codec
from core.labels.values import STATUS_CODES, STATUSES, Change, decode

_ORIGINAL, _UNKNOWN = -100, -101


class LabelState:
    """Original labels of ``dataset`` overridden by stored values; keeps what it cannot place in ``unmatched``."""

    def __init__(self, dataset: Dataset, split: str) -> None:
        self.dataset, self.split = dataset, split
        self.codec = Codec(dataset.classes)
        self.index = {sample_id: i for i, sample_id in enumerate(dataset.sample_ids)}
        self.original_targets = dataset.targets
        self.original_tags = dataset.tags
        self.targets = None if dataset.targets is None else dataset.targets.copy()
        self.tags = None if dataset.tags is None else dataset.tags.copy()
        self.status = np.zeros(len(dataset), dtype=np.int8)
        self.notes: dict[int, str] = {}
        #: index -> id of the sample's newest saved mask (``core.labels.masks``); absent: the dataset's own.
        self.masks: dict[int, int] = {}
        #: index -> the sample's edited objects (``core.labels.boxes``); absent: the dataset's own.
        self.boxes: dict[int, Objects] = {}
        self._flags: tuple[str, ...] | None = None
        #: (sample_id, field) -> stored value of edits this dataset cannot show: a sample it no longer
        #: has, a class or tag it no longer lists. Kept in the store, counted for the user, never dropped.
        self.unmatched: dict[tuple[str, str], Any] = {}

    # -- loading and updating ---------------------------------------------------------
    def load(self, rows: Sequence[tuple[str, str, str]]) -> None:
        """Apply the store's (sample_id, field, JSON) overrides of this split."""
        cache: dict[str, Any] = {}
        grouped: dict[str, list[tuple[str, Any]]] = {}
        for sample_id, field, text in rows:
            if text not in cache:
                cache[text] = decode(text)
            grouped.setdefault(field, []).append((sample_id, cache[text]))
        for field, items in grouped.items():
            self.apply(field, items)

    def apply_changes(self, changes: Sequence[Change]) -> None:
        grouped: dict[str, list[tuple[str, Any]]] = {}
        for change in changes:
            if change.split == self.split:
                grouped.setdefault(change.field, []).append((change.sample_id, change.new))
        for field, items in grouped.items():
            self.apply(field, items)

    def apply(self, field: str, items: Sequence[tuple[str, Any]]) -> None:
        """Set ``field`` of each (sample_id, stored value); None = back to the dataset's own value."""
        if self.unmatched:
            for sample_id, _ in items:
                self.unmatched.pop((sample_id, field), None)
        idx = np.fromiter((self.index.get(s, -1) for s, _ in items), dtype=np.int64, count=len(items))
        for k in np.flatnonzero(idx < 0):
            self.unmatched[(items[k][0], field)] = items[k][1]
        if field == "label":
            self._apply_labels(idx, items)
        elif field == "tags":
            self._apply_tags(idx, items)
        elif field == "status":
            codes = _codes(items, lambda v: 0 if v is None else STATUS_CODES.get(v, 0))
            self.status[idx[idx >= 0]] = codes[idx >= 0]
        elif field == "note":
            _set_or_drop(self.notes, idx, items)
        elif field == "mask":
            _set_or_drop(self.masks, idx, items)
        elif field == "boxes":
            self._apply_boxes(idx, items)

    def _apply_boxes(self, idx: np.ndarray, items: Sequence[tuple[str, Any]]) -> None:
        """Decode each sample's stored objects; one naming a class the dataset lacks stays unmatched. An object
        dataset's tags (the classes each image has, COCO's and YOLO's) follow its edited objects."""
        flags = self._box_flags()
        derived = self.tags is not None and self.dataset.has_boxes
        for i, (sample_id, value) in zip(idx.tolist(), items):
            if i < 0:
                continue
            objects = None if value is None else Objects.from_stored(value, self.codec.index, flags)
            if objects is None:
                self.boxes.pop(i, None)
                if value is not None:
                    self.unmatched[(sample_id, "boxes")] = value
                if derived:
                    self.tags[i] = self.original_tags[i]
            else:
                self.boxes[i] = objects
                if derived:
                    self.tags[i] = 0
                    self.tags[i, objects.classes] = 1

    def _box_flags(self) -> tuple[str, ...]:
        """The flags the dataset's objects carry (edited objects carry the same, all False when not stored)."""
        if self._flags is None:
            named = getattr(self.dataset, "flag_names", None)  # the box readers say which they have
            if named is not None:
                self._flags = tuple(named)
            else:
                try:
                    self._flags = tuple(dataset_objects(self.dataset, 0).flags) if len(self.dataset) else ()
                except SampleError:  # the first image's annotation is broken: its flags are unknown
                    self._flags = ()
        return self._flags

    def objects(self, index: int) -> Objects:
        """The sample's objects now: edited, or the dataset's own."""
        found = self.boxes.get(int(index))
        return found if found is not None else dataset_objects(self.dataset, int(index))

    def objects_text(self, index: int) -> str:
        """How many objects the image has now ("3 objects"), for a step's description."""
        try:
            return count_text(len(self.objects(index)))
        except SampleError:
            return "the dataset's objects"

    def boxes_changes(self, index: int, objects: Objects) -> list[Change]:
        """The change setting one sample's objects (None when they are the dataset's own again); [] if no change."""
        try:
            if self.objects(index).same_as(objects):
                return []
        except SampleError:  # the dataset's own objects cannot be read: whatever is given is a change
            pass
        try:
            own = dataset_objects(self.dataset, index)
        except SampleError:  # the dataset's own cannot be read: the edit is a difference anyway
            own = None
        value = None if own is not None and own.same_as(objects) else objects.stored(self.codec.classes)
        return [Change(self.split, self.dataset.sample_ids[index], "boxes", value)]

    def _apply_labels(self, idx: np.ndarray, items: Sequence[tuple[str, Any]]) -> None:
        if self.targets is None:
            self._unmatched_all(idx, items, "label")
            return

        def code(value: Any) -> int:
            if value is None:
                return _ORIGINAL
            found = self.codec.label_code(value)
            return _UNKNOWN if found is None else found

        codes = _codes(items, code)
        known = idx >= 0
        back = known & (codes == _ORIGINAL)
        self.targets[idx[back]] = self.original_targets[idx[back]]
        unknown = known & (codes == _UNKNOWN)
        self.targets[idx[unknown]] = self.original_targets[idx[unknown]]
        for k in np.flatnonzero(unknown):
            self.unmatched[(items[k][0], "label")] = items[k][1]
        ok = known & ~back & ~unknown
        self.targets[idx[ok]] = codes[ok]

    def _apply_tags(self, idx: np.ndarray, items: Sequence[tuple[str, Any]]) -> None:
        if self.tags is None:
            self._unmatched_all(idx, items, "tags")
            return
        rows: dict[tuple[str, ...], np.ndarray | None] = {}
        for i, (sample_id, value) in zip(idx, items):
            if i < 0:
                continue
            if value is None:
                self.tags[i] = self.original_tags[i]
                continue
            key = tuple(value)
            if key not in rows:
                rows[key] = self.codec.tags_row(value)
            row = rows[key]
            if row is None:
                self.unmatched[(sample_id, "tags")] = value
                self.tags[i] = self.original_tags[i]
            else:
                self.tags[i] = row

    def _unmatched_all(self, idx: np.ndarray, items: Sequence[tuple[str, Any]], field: str) -> None:
        for i, (sample_id, value) in zip(idx, items):
            if i >= 0 and value is not None:
                self.unmatched[(sample_id, field)] = value

    # -- the changes an edit makes (only samples whose value differs) -----------------------
    def label_changes(self, idx: np.ndarray, codes: np.ndarray) -> list[Change]:
        keep = self.targets[idx] != codes
        idx, codes = idx[keep], codes[keep]
        originals = self.original_targets[idx].tolist()
        ids, codec = self.dataset.sample_ids, self.codec
        return [
            Change(self.split, ids[i], "label", None if c == o else codec.label_stored(c))
            for i, c, o in zip(idx.tolist(), codes.tolist(), originals)
        ]

    def tag_changes(self, idx: np.ndarray, rows: np.ndarray) -> list[Change]:
        keep = (self.tags[idx] != rows).any(axis=1)
        ids, originals = self.dataset.sample_ids, self.original_tags
        return [
            Change(self.split, ids[i], "tags", None if (row == originals[i]).all() else self.codec.tags_stored(row))
            for i, row in zip(idx[keep].tolist(), rows[keep])
        ]

    def status_changes(self, idx: np.ndarray, code: int) -> list[Change]:
        ids, value = self.dataset.sample_ids, STATUSES[code] or None
        return [Change(self.split, ids[i], "status", value) for i in idx[self.status[idx] != code].tolist()]

    def note_changes(self, idx: np.ndarray, text: str) -> list[Change]:
        ids = self.dataset.sample_ids
        return [Change(self.split, ids[i], "note", text or None) for i in idx.tolist() if self.notes.get(i, "") != text]

    def resolved(self, field: str, value: Any, index: int) -> Any:
        """A stored value with None (the dataset's own) replaced by what the dataset says."""
        if field == "mask":  # a version id says nothing to a person
            return f"saved mask #{value}" if value else "the dataset's mask"
        if field == "boxes":  # a list of coordinates neither: how many objects
            if value is None:
                try:
                    return count_text(len(dataset_objects(self.dataset, index)))
                except SampleError:
                    return "the dataset's objects"
            return count_text(len(value.get("objects", [])) if isinstance(value, dict) else 0)
        if value is not None:
            return value
        if field == "label" and self.original_targets is not None:
            return self.codec.label_stored(self.original_targets[index])
        if field == "tags" and self.original_tags is not None:
            return self.codec.tags_stored(self.original_tags[index])
        return ""

    # -- derived arrays ---------------------------------------------------------------
    def edited(self) -> np.ndarray:
        """True where the label or the tags differ from the dataset's own."""
        out = np.zeros(len(self.status), dtype=bool)
        if self.targets is not None:
            out |= self.targets != self.original_targets
        if self.tags is not None:
            out |= (self.tags != self.original_tags).any(axis=1)
        if self.masks:
            out[list(self.masks)] = True
        if self.boxes:
            out[list(self.boxes)] = True
        return out


def _set_or_drop(values: dict[int, Any], idx: np.ndarray, items: Sequence[tuple[str, Any]]) -> None:
    """Keep each known sample's value; an empty one (None, "") drops it (back to the dataset's own)."""
    for i, (_, value) in zip(idx, items):
        if i >= 0 and value:
            values[int(i)] = value
        elif i >= 0:
            values.pop(int(i), None)


def _codes(items: Sequence[tuple[str, Any]], code) -> np.ndarray:
    """``code(value)`` of every item, computed once per distinct value."""
    cache: dict[Any, int] = {}
    out = np.empty(len(items), dtype=np.int64)
    for k, (_, value) in enumerate(items):
        key = tuple(value) if isinstance(value, list) else value
        if key not in cache:
            cache[key] = code(value)
        out[k] = cache[key]
    return out
