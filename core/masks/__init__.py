"""Class masks: editing (brush, fill, polygon, undo/redo)."""

from core.masks.editor import IGNORE, MaskEditor, Rect

__all__ = ["IGNORE", "MaskEditor", "Rect"]
