"""Label and mask editing tools."""

from gui.labeling.mask_editor import MaskEditorWidget

__all__ = ["MaskEditorWidget"]
