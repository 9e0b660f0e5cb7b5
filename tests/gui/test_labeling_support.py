"""Shared pieces of the labeling GUI tests (no tests here): keys typed into the grid, made-up predictions.

The fixtures they use (``digits``, a copy of the demo digits, and ``open_window``) are in conftest.py.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from core.inference import Predictions
from gui.main_window import MainWindow


def press(qtbot, window: MainWindow, *keys, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """Type keys into the browser's grid, as a user labeling does."""
    grid = window.browser.view
    grid.setFocus()
    for key in keys:
        qtbot.keyClick(grid, key, modifier)


def predictions_for(dataset, predicted, confidence: float = 0.7) -> Predictions:
    """Predictions whose argmax is ``predicted`` (``confidence`` for it, the rest shared)."""
    n, c = len(dataset), len(dataset.classes)
    p = Predictions.empty(dataset.task, dataset.classes, dataset.sample_ids, model="test model", device="cpu")
    scores = np.full((n, c), (1 - confidence) / (c - 1), dtype=np.float32)
    scores[np.arange(n), predicted] = confidence
    p.scores[:] = scores
    p.done[:] = True
    return p
