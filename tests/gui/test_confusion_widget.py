"""The confusion-matrix widget at the sizes it gets in the window: names on both axes, counts that fit."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF

from gui.metrics.confusion_widget import CELL_PADDING, MAX_LABEL_PX, ConfusionMatrixWidget

SCENE_CLASSES = ["background", *(str(d) for d in range(10))]


def pixel_counts(n: int = 11, seed: int = 0) -> np.ndarray:
    """A pixel confusion matrix: hundreds of thousands on the diagonal, tens to thousands elsewhere."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 3000, (n, n))
    counts[np.arange(n), np.arange(n)] = rng.integers(200_000, 900_000, n)
    return counts


@pytest.fixture
def matrix(qtbot):
    widget = ConfusionMatrixWidget()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def show(qtbot, widget, counts, classes, size) -> None:
    widget.resize(*size)
    widget.set_matrix(counts, classes)
    qtbot.wait(50)  # the view box settles its geometry
    widget.fit()


def test_every_class_is_named_on_both_axes_of_a_small_pixel_matrix(qtbot, matrix):
    show(qtbot, matrix, pixel_counts(), SCENE_CLASSES, (340, 330))  # the pixel matrix at 1366x768
    for side in ("bottom", "left"):
        assert [i for i, _name in matrix.labels_shown(side)] == list(range(11)), side
        assert matrix.labels_shown(side)[0][1] == "background"


def test_long_names_are_abbreviated_and_named_whole_on_hover(qtbot, matrix):
    classes = [f"a rather long class name number {i}" for i in range(6)]
    show(qtbot, matrix, pixel_counts(6), classes, (500, 450))
    axis = matrix.axes["bottom"]
    shown = dict(matrix.labels_shown("bottom"))
    assert len(shown) == 6
    for i, written in shown.items():
        assert written != classes[i] and "…" in written
        assert axis.name_metrics.horizontalAdvance(written) <= MAX_LABEL_PX
        assert written.endswith(str(i))  # abbreviated in the middle: the end that tells them apart stays
    for side, what in (("bottom", "predicted"), ("left", "true")):
        axis = matrix.axes[side]
        rect = axis.sceneBoundingRect()
        centre = matrix.getPlotItem().getViewBox().mapViewToScene(QPointF(3.5, 3.5))
        at = QPointF(centre.x(), rect.center().y()) if side == "bottom" else QPointF(rect.center().x(), centre.y())
        assert matrix.hover_text(at) == f"{what} class 3: <b>{classes[3]}</b>"


def test_a_count_is_written_only_where_it_fits_and_always_told_on_hover(qtbot, matrix):
    counts = pixel_counts()
    show(qtbot, matrix, counts, SCENE_CLASSES, (340, 330))
    texts = matrix.cell_texts
    cell = (texts.sceneTransform() * matrix.viewportTransform()).mapRect(QRectF(0, 0, 1, 1))
    written = {(t, p): text for t, p, text in texts.fitting()}
    assert written, "the small counts fit"
    for text in written.values():
        assert texts.text_metrics.horizontalAdvance(text) <= cell.width() - CELL_PADDING
    diagonal = [(i, i) for i in range(11)]
    assert not any(d in written for d in diagonal), "hundreds of thousands do not fit a 20-pixel cell"
    hover = matrix.hover_text(matrix.mapToScene(matrix.cell_center(4, 4)))
    assert f": {counts[4, 4]:,}" in hover
    show(qtbot, matrix, counts, SCENE_CLASSES, (1100, 900))
    written = {(t, p): text for t, p, text in texts.fitting()}
    assert all(d in written for d in diagonal), "with room, every count is written"


def test_zooming_in_writes_the_counts_of_a_large_matrix(qtbot, matrix):
    counts = pixel_counts(200)
    show(qtbot, matrix, counts, [f"class {i}" for i in range(200)], (600, 600))
    assert matrix.cell_texts.fitting() == []
    matrix.getPlotItem().getViewBox().setRange(xRange=(50, 58), yRange=(50, 58), padding=0)
    written = matrix.cell_texts.fitting()
    assert written and all(49 <= t <= 58 and 49 <= p <= 58 for t, p, _text in written)
    assert [i for i, _name in matrix.labels_shown("left")] == list(range(50, 58))
