"""The browser as the labeling tools see it: what they ask of the pane whose samples they label.

Declared here, not imported, so that ``gui.labeling`` never imports ``gui.browser`` (the panes are
independent, an import-linter contract checks it); the main window hands the ``BrowserPane`` in.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QAbstractItemView, QTabWidget, QWidget


class SampleView(Protocol):
    def add_panel(self, widget: QWidget) -> None:
        """Put a panel under the sample's details."""


class Browser(Protocol):
    """A QWidget that shows a dataset's samples as tiles and one sample large (``gui.browser.BrowserPane``).
    The labeling keys are shortcuts on it, and its tile grid, tabs and sample view take the tools' parts."""

    #: (global position, the selected dataset indices) when the user right-clicks the tiles.
    context_menu_requested: SignalInstance
    view: QAbstractItemView
    tabs: QTabWidget
    sample_view: SampleView

    def visible_indices(self) -> np.ndarray:
        """The dataset indices shown in the grid, in grid order."""

    def selected_indices(self) -> np.ndarray:
        """The dataset indices of the selected tiles; the current sample when none is selected."""

    def step(self, step: int = 1) -> int | None:
        """Go ``step`` samples on in the grid's order; the sample gone to, or None at the end."""

    def add_bar(self, widget: QWidget) -> None:
        """Put a bar above the grid."""
