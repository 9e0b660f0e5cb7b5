"""Plain helpers of the GUI tests, imported as ``tests.gui.helpers`` (the fixtures are in conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from PySide6.QtGui import QImage

from gui.browser import BrowserPane
from gui.state import AppState


def qimage_array(image) -> np.ndarray:
    """A QImage (or QPixmap) as an H x W x 3 uint8 RGB array."""
    image = image.toImage() if hasattr(image, "toImage") else image
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def browser_pane(qtbot, state: AppState, size: tuple[int, int] = (1000, 700)) -> Iterator[BrowserPane]:
    """Body of a browser test module's ``pane`` fixture: a BrowserPane of ``size`` on ``state`` (not shown).
    After the test it is shut down, and none of its thread pools may still be working."""
    pane = BrowserPane(state)
    qtbot.addWidget(pane)
    pane.resize(*size)
    yield pane
    pane.shutdown()
    for pool in (pane.loader.pool, pane.sample_view.pool, pane.sample_view.saliency.pool, pane.mask_classes.pool):
        assert pool.activeThreadCount() == 0
