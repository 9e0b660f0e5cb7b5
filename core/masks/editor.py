"""Editing a class mask: brush, eraser, flood fill, polygon fill, class picker, undo and redo.

Every operation returns the rectangle it changed, so a view redraws only that part. Brush
strokes are grouped: the segments between ``begin_stroke`` and ``end_stroke`` are one undo
step. An undo step keeps only the changed rectangle before and after, so a long history of
small edits on a 2048 x 1024 mask costs little memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

IGNORE = 255


@dataclass(frozen=True)
class Rect:
    """A half-open pixel rectangle [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def union(self, other: Rect | None) -> Rect:
        if other is None or other.empty:
            return self
        if self.empty:
            return other
        return Rect(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))


def _capsule(rect: Rect, p0: tuple[int, int], p1: tuple[int, int], radius: int) -> np.ndarray:
    """Pixels of ``rect`` whose centre lies within ``radius`` of the segment p0-p1 (a round brush)."""
    ys = np.arange(rect.y0, rect.y1, dtype=np.float32)[:, None]
    xs = np.arange(rect.x0, rect.x1, dtype=np.float32)[None, :]
    ax, ay = p0
    dx, dy = p1[0] - ax, p1[1] - ay
    length2 = float(dx * dx + dy * dy)
    if length2 == 0:
        t = 0.0
    else:
        t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / length2, 0.0, 1.0)
    distance2 = (xs - ax - t * dx) ** 2 + (ys - ay - t * dy) ** 2
    return distance2 <= radius * radius + 0.25


@dataclass
class _Step:
    rect: Rect
    before: np.ndarray
    after: np.ndarray
    name: str


class MaskEditor:
    """An editable H x W uint8 class mask with an undo history of ``history`` steps."""

    def __init__(self, mask: np.ndarray, num_classes: int, history: int = 100) -> None:
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise ValueError(f"a mask must be H x W, got shape {mask.shape}")
        if mask.size and int(mask.max()) >= num_classes and int(mask.max()) != IGNORE:
            bad = np.unique(mask[(mask >= num_classes) & (mask != IGNORE)])[:5]
            raise ValueError(f"mask values {bad.tolist()} are not classes (0..{num_classes - 1} or {IGNORE})")
        self.mask = np.ascontiguousarray(mask, dtype=np.uint8).copy()
        self.num_classes = num_classes
        self.history = max(1, history)
        #: Paint only over pixels of this class ("paint only over class X"); None = anywhere.
        self.only_over: int | None = None
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._stroke_start: np.ndarray | None = None
        self._stroke_rect: Rect | None = None
        self._stroke_name = ""
        self.saved_step = 0  # len(self._undo) when last saved

    # -- state ----------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.mask.shape  # type: ignore[return-value]

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def modified(self) -> bool:
        return len(self._undo) != self.saved_step

    def mark_saved(self) -> None:
        self.saved_step = len(self._undo)

    def pick(self, x: int, y: int) -> int:
        """The class under a pixel (the class picker)."""
        return int(self.mask[y, x])

    def _check_value(self, value: int) -> None:
        if not (0 <= value < self.num_classes or value == IGNORE):
            raise ValueError(f"{value} is not a class (0..{self.num_classes - 1}) or {IGNORE} (ignore)")

    # -- painting -------------------------------------------------------------
    def _clip(self, x0: int, y0: int, x1: int, y1: int) -> Rect:
        height, width = self.shape
        return Rect(max(0, x0), max(0, y0), min(width, x1), min(height, y1))

    def _apply(self, rect: Rect, stamp: np.ndarray, value: int) -> Rect:
        """Set ``value`` where ``stamp`` (a bool array of rect's size) is on, honouring ``only_over``."""
        region = self.mask[rect.slices]
        hit = stamp.astype(bool)
        if self.only_over is not None:
            hit &= region == self.only_over
        hit &= region != value
        if not hit.any():
            return Rect(0, 0, 0, 0)
        region[hit] = value
        ys, xs = np.nonzero(hit)
        return Rect(
            rect.x0 + int(xs.min()), rect.y0 + int(ys.min()), rect.x0 + int(xs.max()) + 1, rect.y0 + int(ys.max()) + 1
        )

    def begin_stroke(self, name: str = "brush") -> None:
        """Start grouping brush segments into one undo step."""
        self._stroke_start = self.mask.copy()
        self._stroke_rect = None
        self._stroke_name = name

    def brush(self, x0: float, y0: float, x1: float, y1: float, radius: int, value: int) -> Rect:
        """Paint a round brush of ``radius`` along the segment (x0, y0) -> (x1, y1)."""
        self._check_value(value)
        grouped = self._stroke_start is not None
        if not grouped:
            self.begin_stroke()
        radius = max(0, int(radius))
        p0 = (round(x0), round(y0))
        p1 = (round(x1), round(y1))
        rect = self._clip(
            min(p0[0], p1[0]) - radius,
            min(p0[1], p1[1]) - radius,
            max(p0[0], p1[0]) + radius + 1,
            max(p0[1], p1[1]) + radius + 1,
        )
        if rect.empty:
            changed = rect
        else:
            stamp = _capsule(rect, p0, p1, radius)
            changed = self._apply(rect, stamp, value)
        self._stroke_rect = changed.union(self._stroke_rect) if not changed.empty else self._stroke_rect
        if not grouped:
            self.end_stroke()
        return changed

    def end_stroke(self) -> Rect | None:
        """Close the current stroke as one undo step; the rectangle it changed, or None."""
        start, rect = self._stroke_start, self._stroke_rect
        self._stroke_start = self._stroke_rect = None
        if start is None or rect is None or rect.empty:
            return None
        self._push(_Step(rect, start[rect.slices].copy(), self.mask[rect.slices].copy(), self._stroke_name))
        return rect

    def flood_fill(self, x: int, y: int, value: int) -> Rect:
        """Fill the 4-connected region of the clicked pixel's class with ``value``."""
        self._check_value(value)
        height, width = self.shape
        if not (0 <= x < width and 0 <= y < height):
            return Rect(0, 0, 0, 0)
        if self.only_over is not None and self.mask[y, x] != self.only_over:
            return Rect(0, 0, 0, 0)
        region = (self.mask == self.mask[y, x]).astype(np.uint8)
        _, labels = cv2.connectedComponents(region, connectivity=4)
        component = labels == labels[y, x]
        return self._single_step("fill", Rect(0, 0, width, height), component, value)

    def polygon(self, points: Sequence[tuple[float, float]], value: int) -> Rect:
        """Fill the polygon through ``points`` (image coordinates) with ``value``."""
        self._check_value(value)
        if len(points) < 3:
            return Rect(0, 0, 0, 0)
        pts = np.round(np.asarray(points, dtype=np.float64)).astype(np.int32)
        rect = self._clip(
            int(pts[:, 0].min()), int(pts[:, 1].min()), int(pts[:, 0].max()) + 1, int(pts[:, 1].max()) + 1
        )
        if rect.empty:
            return rect
        stamp = np.zeros((rect.y1 - rect.y0, rect.x1 - rect.x0), dtype=np.uint8)
        cv2.fillPoly(stamp, [pts - np.array([rect.x0, rect.y0], dtype=np.int32)], 1, lineType=cv2.LINE_8)
        return self._single_step("polygon", rect, stamp, value)

    def replace(self, mask: np.ndarray, name: str = "replace") -> Rect:
        """Replace the whole mask (e.g. "start from the model's prediction") as one undo step."""
        mask = np.asarray(mask, dtype=np.uint8)
        if mask.shape != self.shape:
            raise ValueError(f"a mask of shape {mask.shape} cannot replace one of shape {self.shape}")
        height, width = self.shape
        rect = Rect(0, 0, width, height)
        before = self.mask.copy()
        self.mask[:] = mask
        self._push(_Step(rect, before, self.mask.copy(), name))
        return rect

    def _single_step(self, name: str, rect: Rect, stamp: np.ndarray, value: int) -> Rect:
        before = self.mask[rect.slices].copy()
        changed = self._apply(rect, stamp, value)
        if not changed.empty:
            inner = (
                slice(changed.y0 - rect.y0, changed.y1 - rect.y0),
                slice(changed.x0 - rect.x0, changed.x1 - rect.x0),
            )
            self._push(_Step(changed, before[inner].copy(), self.mask[changed.slices].copy(), name))
        return changed

    # -- history ----------------------------------------------------------------
    def _push(self, step: _Step) -> None:
        self._undo.append(step)
        self._redo.clear()
        if len(self._undo) > self.history:
            del self._undo[0]
            self.saved_step -= 1  # the saved state may now be out of reach: then modified stays True

    def undo(self) -> Rect | None:
        if not self._undo:
            return None
        step = self._undo.pop()
        self.mask[step.rect.slices] = step.before
        self._redo.append(step)
        return step.rect

    def redo(self) -> Rect | None:
        if not self._redo:
            return None
        step = self._redo.pop()
        self.mask[step.rect.slices] = step.after
        self._undo.append(step)
        return step.rect
