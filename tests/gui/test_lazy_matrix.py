"""gui.metrics.lazy_matrix: the confusion matrix's heatmap is made after its first paint, or when used."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from gui.metrics.confusion_widget import ConfusionMatrixWidget
from gui.metrics.lazy_matrix import LazyConfusionMatrix


def test_a_hidden_matrix_answers_as_an_empty_one_without_making_its_heatmap(qtbot):
    matrix = LazyConfusionMatrix()
    qtbot.addWidget(matrix)
    matrix.setToolTip("Click a cell")
    matrix.fit()
    assert matrix.classes == [] and matrix.counts.shape == (0, 0) and matrix.values.shape == (0, 0)
    assert not matrix.is_made


def test_the_heatmap_comes_on_the_turn_after_the_first_paint(qtbot):
    matrix = LazyConfusionMatrix()
    qtbot.addWidget(matrix)
    matrix.setToolTip("Click a cell")
    matrix.resize(300, 300)
    matrix.show()
    qtbot.waitUntil(lambda: matrix.is_made)
    heatmap = matrix.widget()
    assert isinstance(heatmap, ConfusionMatrixWidget) and heatmap.toolTip() == "Click a cell"


def test_a_matrix_given_makes_it_and_its_clicks_reach_the_stand_in(qtbot):
    matrix = LazyConfusionMatrix()
    qtbot.addWidget(matrix)
    matrix.resize(300, 300)
    matrix.set_matrix(np.array([[3, 1], [0, 4]]), ["cat", "dog"])
    assert matrix.is_made and matrix.classes == ["cat", "dog"] and matrix.counts.tolist() == [[3, 1], [0, 4]]
    matrix.show()
    qtbot.waitExposed(matrix)
    with qtbot.waitSignal(matrix.cell_clicked) as clicked:
        qtbot.mouseClick(matrix.viewport(), Qt.MouseButton.LeftButton, pos=matrix.cell_center(0, 1))
    assert clicked.args == [0, 1]
