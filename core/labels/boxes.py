"""A sample's objects as the user has them now: the store's value of the field ``boxes``, and the dataset view.

One edit holds a sample's *whole* object list, so an edit (draw, move, delete, a class change, several of
them saved at once by the box editor) is one undo step, and undoing it brings back exactly the list before.
The stored JSON value::

    {"objects": [{"box": [x0, y0, x1, y1], "class": "dog", "iscrowd": true, "instance": 2}, ...]}

- ``box``: pixels, 0-based, x0 < x1 and y0 < y1 (floats, as the readers give them);
- ``class``: the class *name*, so that a reordered or extended class list cannot relabel an object (an
  unknown name makes the whole edit "unmatched": kept in the store, the dataset's own objects shown);
- flags (``FLAGS``): present only when true;
- ``instance``: the index of the dataset's own object whose instance mask this object keeps. Objects of the
  dataset keep theirs while their box is neither moved nor resized (a class change keeps it); an object drawn,
  moved or resized has none, and its instance mask is its box's rectangle (``load_instances`` of the view).

None (SQL NULL) is the dataset's own object list, as for every field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.datasets.base import Dataset

#: Per-object flags the store keeps (``Dataset.box_extras``' keys).
FLAGS = ("iscrowd", "difficult", "truncated")


@dataclass(frozen=True, eq=False)
class Objects:
    """One image's objects: boxes (float32 N x 4), classes (int64 N, indices into the dataset's classes),
    flags (bool N per flag the layout has) and the dataset object each keeps the instance mask of (-1: none)."""

    boxes: np.ndarray
    classes: np.ndarray
    flags: dict[str, np.ndarray] = field(default_factory=dict)
    instances: np.ndarray | None = None

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        n = len(boxes)
        classes = np.asarray(self.classes, dtype=np.int64).reshape(-1)
        if len(classes) != n:
            raise ValueError(f"{len(classes)} classes for {n} boxes")
        flags = {k: np.asarray(v, dtype=bool).reshape(-1) for k, v in self.flags.items()}
        for name, values in flags.items():
            if name not in FLAGS:
                raise ValueError(f"unknown object flag {name!r}; expected some of {FLAGS}")
            if len(values) != n:
                raise ValueError(f"{len(values)} values of {name} for {n} boxes")
        instances = np.full(n, -1, np.int64) if self.instances is None else np.asarray(self.instances, np.int64)
        if len(instances) != n:
            raise ValueError(f"{len(instances)} instance links for {n} boxes")
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "flags", flags)
        object.__setattr__(self, "instances", instances)

    def __len__(self) -> int:
        return len(self.boxes)

    def same_as(self, other: Objects) -> bool:
        """The same boxes, classes, true flags and instance links, in the same order."""
        if len(self) != len(other) or not np.array_equal(self.classes, other.classes):
            return False
        if not np.allclose(self.boxes, other.boxes, atol=1e-3) or not np.array_equal(self.instances, other.instances):
            return False
        return all(np.array_equal(self.flag(k), other.flag(k)) for k in FLAGS)

    def flag(self, name: str) -> np.ndarray:
        """The flag's values (all False when the objects do not carry it)."""
        return self.flags.get(name, np.zeros(len(self), dtype=bool))

    def stored(self, class_names: list[str]) -> dict[str, Any]:
        """The store's JSON value (classes by name)."""
        objects = []
        for k in range(len(self)):
            item: dict[str, Any] = {
                "box": [round(float(v), 3) for v in self.boxes[k]],
                "class": class_names[int(self.classes[k])],
            }
            item.update({name: True for name in FLAGS if self.flag(name)[k]})
            if self.instances[k] >= 0:
                item["instance"] = int(self.instances[k])
            objects.append(item)
        return {"objects": objects}

    @classmethod
    def from_stored(cls, value: Any, index: dict[str, int], flags: tuple[str, ...] = ()) -> Objects | None:
        """The objects of a stored value; None when it names a class the dataset does not have."""
        items = value.get("objects", []) if isinstance(value, dict) else []
        boxes, classes, links = [], [], []
        found = {name: [] for name in FLAGS}
        for item in items:
            c = index.get(item.get("class"))
            if c is None:
                return None
            boxes.append(item["box"])
            classes.append(c)
            links.append(int(item.get("instance", -1)))
            for name in FLAGS:
                found[name].append(bool(item.get(name, False)))
        used = {name: v for name, v in found.items() if name in flags or any(v)}
        return cls(np.asarray(boxes, np.float32).reshape(-1, 4), classes, used, links)


def count_text(n: int) -> str:
    """What the history says of an object list: "1 object", "3 objects"."""
    return f"{n} object" if n == 1 else f"{n} objects"


def dataset_objects(dataset: Dataset, index: int) -> Objects:
    """The dataset's own objects of one image (none for an image without any, or a dataset without boxes)."""
    found = dataset.load_boxes(index)
    if found is None:
        return Objects(np.zeros((0, 4), np.float32), np.zeros(0, np.int64))
    boxes, classes = found
    flags = {k: v for k, v in dataset.box_extras(index).items() if k in FLAGS}
    return Objects(boxes, classes, flags, np.arange(len(boxes)))


class EditedBoxes:
    """Mixed in before a reader's class: ``load_boxes``, ``box_extras``, ``load_instances`` and ``sample_meta``
    answer the user's edited objects where there are any, the reader's own elsewhere (see :func:`boxes_view`)."""

    #: index -> Objects of every edited sample (the project's live dict: edits show at once).
    _box_edits: dict[int, Objects]
    #: The reader's class (for pickling: the mixed class is made at run time).
    _box_base: type
    #: The dataset itself: its own objects are read from it (a reader's methods may call each other, and
    #: must then see its own objects, not the edited ones).
    _box_source: Dataset

    def load_boxes(self, index: int) -> tuple[np.ndarray, np.ndarray] | None:
        found = self._box_edits.get(int(index))
        if found is None:
            return self._box_source.load_boxes(index)
        return found.boxes.copy(), found.classes.copy()

    def box_extras(self, index: int) -> dict[str, np.ndarray]:
        found = self._box_edits.get(int(index))
        if found is None:
            return self._box_source.box_extras(index)
        return {k: v.copy() for k, v in found.flags.items()}

    def sample_meta(self, index: int) -> dict[str, Any]:
        meta = self._box_source.sample_meta(index)
        found = self._box_edits.get(int(index))
        if found is not None:
            meta = {**meta, **{k: v.tolist() for k, v in found.flags.items()}}
        return meta

    def load_instances(self, index: int) -> np.ndarray | None:
        """The kept masks of the dataset's objects; the box's rectangle for an object drawn, moved or resized."""
        found = self._box_edits.get(int(index))
        own = self._box_source.load_instances(index)
        if found is None or (own is None and self.task != "instance_segmentation"):
            return own
        if own is not None and own.ndim == 3:
            h, w = own.shape[1:]
        else:
            h, w = self.load_image(index).shape[:2]
        out = np.zeros((len(found), h, w), dtype=bool)
        for k, (box, link) in enumerate(zip(found.boxes, found.instances)):
            if own is not None and 0 <= link < len(own):
                out[k] = own[link]
            else:
                x0, y0, x1, y1 = np.round(box).astype(int)
                out[k, max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
        return out

    def __reduce__(self):
        return (_rebuild, (self._box_base, dict(self.__dict__)))


_MIXED: dict[type, type] = {}


def _mixed_class(base: type) -> type:
    if base not in _MIXED:
        _MIXED[base] = type(f"Edited{base.__name__}", (EditedBoxes, base), {"__module__": __name__})
    return _MIXED[base]


def _rebuild(base: type, state: dict[str, Any]) -> Dataset:
    view = object.__new__(_mixed_class(base))
    view.__dict__.update(state)
    return view


def boxes_view(
    dataset: Dataset, edits: dict[int, Objects], excluded: np.ndarray | None = None, tags: np.ndarray | None = None
) -> Dataset:
    """A shallow copy of ``dataset`` whose objects are the edited ones (``edits`` is read live, not copied).

    ``excluded`` (bool N, a snapshot): the samples the user left out of metrics and exports; the view keeps
    it as ``view.excluded`` for the metrics (an image has no "unlabeled" value to carry it as classes have).
    ``tags``: the view's own array of the classes each image has (they follow its edited objects); without it the
    view shares the dataset's, which must then not be written.
    """
    source = dataset._box_source if isinstance(dataset, EditedBoxes) else dataset
    state = dict(source.__dict__)
    state.update(_box_edits=edits, _box_base=type(source), _box_source=source)
    if excluded is not None:
        state["excluded"] = np.asarray(excluded, dtype=bool).copy()
    if tags is not None:
        state["tags"] = tags
    return _rebuild(type(source), state)
