"""The box editor's model, without Qt: one image's objects being edited, with an undo stack of its own.

The GUI (``gui/labeling/box_editor.py``) turns mouse and keys into these calls; what a drag means (draw a
new box, move one, resize one by a corner or an edge) is decided here by :meth:`BoxEdit.hit`, so it is
tested without a window. Nothing reaches the store until the editor saves :meth:`BoxEdit.objects` as one
edit (``Project.set_objects``). Objects keep the dataset object whose instance mask they carry only while
their box is neither moved nor resized (``core.labels.boxes``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.labels.boxes import FLAGS, Objects

#: The handles of a box: corners and edge midpoints, named by compass point; "inside" moves the box.
HANDLES = ("nw", "n", "ne", "e", "se", "s", "sw", "w")
#: The smallest box a drag makes (pixels a side): a click is not a box.
MIN_SIDE = 2.0


@dataclass(frozen=True)
class Item:
    """One object in the editor."""

    box: tuple[float, float, float, float]
    cls: int
    flags: tuple[tuple[str, bool], ...] = ()
    instance: int = -1

    def flag(self, name: str) -> bool:
        return dict(self.flags).get(name, False)


def normalized(x0: float, y0: float, x1: float, y1: float, size: tuple[int, int] | None) -> tuple[float, ...]:
    """(x0, y0, x1, y1) ordered and clipped to the image (``size`` = height, width)."""
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    if size is not None:
        h, w = size
        x0, x1 = min(max(x0, 0.0), w), min(max(x1, 0.0), w)
        y0, y1 = min(max(y0, 0.0), h), min(max(y1, 0.0), h)
    return (float(x0), float(y0), float(x1), float(y1))


def handle_points(box) -> dict[str, tuple[float, float]]:
    x0, y0, x1, y1 = box
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    return {"nw": (x0, y0), "n": (xm, y0), "ne": (x1, y0), "e": (x1, ym),
            "se": (x1, y1), "s": (xm, y1), "sw": (x0, y1), "w": (x0, ym)}  # fmt: skip


def resized(box, handle: str, x: float, y: float) -> tuple[float, float, float, float]:
    """The box with the side(s) of ``handle`` moved to (x, y)."""
    x0, y0, x1, y1 = box
    if "w" in handle:
        x0 = x
    if "e" in handle:
        x1 = x
    if "n" in handle:
        y0 = y
    if "s" in handle:
        y1 = y
    return (x0, y0, x1, y1)


class BoxEdit:
    """One image's objects as edited now; every change is an undo step until :meth:`mark_saved`."""

    def __init__(
        self, objects: Objects, size: tuple[int, int], flags: tuple[str, ...] = (), *, single: bool = False
    ) -> None:
        self.size = size  # (height, width)
        #: Localization: one object an image, so a new box (drawn or accepted) replaces the one there.
        self.single = single
        #: The flags the dataset's objects carry: saved for every object, False unless set.
        self.flag_names = tuple(name for name in FLAGS if name in flags or name in objects.flags)
        self.items: list[Item] = [
            Item(
                tuple(float(v) for v in objects.boxes[k]),
                int(objects.classes[k]),
                tuple((n, bool(objects.flag(n)[k])) for n in self.flag_names if objects.flag(n)[k]),
                int(objects.instances[k]),
            )
            for k in range(len(objects))
        ]
        self._undo: list[list[Item]] = []
        self._redo: list[list[Item]] = []
        self._saved = list(self.items)

    # -- state --------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        return self.items != self._saved

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def mark_saved(self) -> None:
        """What is shown now is what the store holds (after a save, or to throw the changes away). The editor's
        undo stack ends there: the next undo is the store's (the save itself, one step)."""
        self._saved = list(self.items)
        self._undo.clear()
        self._redo.clear()

    def objects(self) -> Objects:
        """The objects to save."""
        n = len(self.items)
        boxes = np.asarray([i.box for i in self.items], np.float32).reshape(n, 4)
        classes = np.asarray([i.cls for i in self.items], np.int64)
        flags = {name: np.asarray([i.flag(name) for i in self.items], bool) for name in self.flag_names}
        return Objects(boxes, classes, flags, np.asarray([i.instance for i in self.items], np.int64))

    # -- finding ------------------------------------------------------------------
    def hit(self, x: float, y: float, tolerance: float, selected: int | None = None) -> tuple[int, str] | None:
        """(object, handle or "inside") under (x, y): the selected object's handles first, then any object's
        handles, then the smallest box containing the point (so a small box inside a big one can be taken)."""
        order = ([selected] if selected is not None and 0 <= selected < len(self.items) else []) + list(
            range(len(self.items) - 1, -1, -1)
        )
        for k in order:
            for name, (hx, hy) in handle_points(self.items[k].box).items():
                if abs(hx - x) <= tolerance and abs(hy - y) <= tolerance:
                    return k, name
        inside = [k for k, item in enumerate(self.items) if _contains(item.box, x, y)]
        if not inside:
            return None
        return min(inside, key=lambda k: _area(self.items[k].box)), "inside"

    # -- edits (each one undo step) -------------------------------------------------
    def add(self, box, cls: int, flags: dict[str, bool] | None = None) -> int | None:
        """A new object (drawn, or a prediction accepted); None when the box is smaller than MIN_SIDE."""
        box = normalized(*box, self.size)
        if box[2] - box[0] < MIN_SIDE or box[3] - box[1] < MIN_SIDE:
            return None
        kept = tuple((n, True) for n, on in (flags or {}).items() if on and n in self.flag_names)
        self._push()
        if self.single:
            self.items.clear()
        self.items.append(Item(box, int(cls), kept))
        return len(self.items) - 1

    def set_box(self, k: int, box, step: bool = True) -> None:
        """Move or resize object ``k`` (``step=False``: part of a drag that :meth:`begin` already recorded).
        Its instance mask is no longer its own: the link is dropped."""
        box = normalized(*box, self.size)
        if box[2] - box[0] < MIN_SIDE or box[3] - box[1] < MIN_SIDE:
            return
        if step:
            self._push()
        self.items[k] = replace(self.items[k], box=box, instance=-1)

    def begin(self) -> None:
        """A drag starts: one undo step for all of its moves."""
        self._push()

    def cancel_empty_step(self) -> None:
        """A drag that changed nothing leaves no undo step behind."""
        if self._undo and self._undo[-1] == self.items:
            self._undo.pop()

    def delete(self, k: int) -> None:
        self._push()
        del self.items[k]

    def set_class(self, k: int, cls: int) -> bool:
        """Change the class of object ``k`` (its instance mask stays its own); False when it has that class."""
        if self.items[k].cls == int(cls):
            return False
        self._push()
        self.items[k] = replace(self.items[k], cls=int(cls))
        return True

    def toggle_flag(self, k: int, name: str) -> None:
        if name not in self.flag_names:
            return
        self._push()
        flags = dict(self.items[k].flags)
        flags[name] = not flags.get(name, False)
        self.items[k] = replace(self.items[k], flags=tuple((n, True) for n, on in flags.items() if on))

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self.items)
        self.items = self._undo.pop()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self.items)
        self.items = self._redo.pop()
        return True

    def _push(self) -> None:
        self._undo.append(list(self.items))
        self._redo.clear()


def _contains(box, x: float, y: float) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _area(box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])
