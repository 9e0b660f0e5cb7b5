"""Label and mask editing tools."""

from gui.labeling.mask_editor import MaskEditorWidget
from gui.labeling.tools import LabelingTools

__all__ = ["LabelingTools", "MaskEditorWidget"]
