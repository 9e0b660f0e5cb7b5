"""Shared pieces of the labeling GUI tests (no tests here): a copy of the demo digits, windows on it.

Each test module declares its fixtures from these in two lines (``copy_digits``, ``window_opener``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from core.inference import Predictions
from gui.main_window import MainWindow
from main import DEMO_DATASET


def copy_digits(tmp_path: Path) -> Path:
    """The demo digits' test split copied to tmp_path, so its project store goes beside the copy."""
    root = tmp_path / "digits"
    shutil.copytree(DEMO_DATASET / "test", root / "test")
    return root


def window_opener(qtbot):
    """Body of an ``open_window`` fixture, which gives ``open_window(path)``: a shown, active MainWindow
    with ``path`` open. Every window is closed after the test."""
    windows = []

    def _open(path: Path, **options) -> MainWindow:
        window = MainWindow()
        qtbot.addWidget(window)
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        window.open_dataset(str(path), **options)
        qtbot.waitUntil(lambda: window.state.dataset is not None and window._opening is None, timeout=30_000)
        # The runner lists the devices (importing torch) on a worker: a window closed before it answers
        # leaves the worker nowhere to report.
        qtbot.waitUntil(lambda: window.runner.device_combo.count() > 1, timeout=60_000)
        windows.append(window)
        return window

    yield _open
    for window in windows:
        window.runner.cancel()
        qtbot.waitUntil(lambda w=window: not w.is_busy(), timeout=60_000)
        window.close()


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
