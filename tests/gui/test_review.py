"""Review mode: the grid's order, one key per decision, the counts of what is done and what is left."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from core.evaluation.selection import Selection
from core.labels import REVIEWED
from tests.gui.test_labeling_support import predictions_for, press


def test_review_accepts_takes_the_prediction_and_skips_in_the_selections_order(qtbot, digits, open_window):
    window = open_window(digits)
    state, review = window.state, window.labeling.review
    dataset = state.dataset
    predicted = dataset.targets.copy()
    predicted[40] = 9
    state.set_predictions(predictions_for(dataset, predicted))
    state.set_selection(Selection.of("highest loss first", [40, 3, 77, 12], ordered=True))
    assert not window.labeling.actions.accept.isEnabled()  # review keys only in review mode

    window.labeling.actions.review.trigger()
    bar = review.bar
    assert review.active and bar.isVisible() and state.current == 40
    assert bar.counts.text() == "0 reviewed · 4 left"
    assert "model: <b>9</b>" in bar.sample.text()

    qtbot.waitUntil(lambda: window.metrics.counts is not None)
    assert window.metrics.counts[dataset.targets[40], 9] == 1
    press(qtbot, window, Qt.Key.Key_P)  # take the model's prediction
    assert dataset.targets[40] == 9 and state.project.status()[40] == REVIEWED
    qtbot.waitUntil(lambda: window.metrics.counts[9, 9] == np.count_nonzero(predicted == 9))  # metrics follow
    assert state.current == 3 and bar.counts.text() == "1 reviewed · 3 left"
    press(qtbot, window, Qt.Key.Key_A)  # accept
    assert dataset.targets[3] == predicted[3] and state.project.status()[3] == REVIEWED
    assert state.current == 77
    press(qtbot, window, Qt.Key.Key_S)  # skip
    assert state.current == 12 and bar.counts.text() == "2 reviewed · 2 left"
    press(qtbot, window, Qt.Key.Key_Return)  # accept
    assert state.current == 77  # past the end: back to the first one left
    press(qtbot, window, Qt.Key.Key_Left)
    assert state.current == 3
    assert bar.counts.text() == "3 reviewed · 1 left"
    window.labeling.actions.undo.trigger()  # the review's steps undo like any edit
    assert bar.counts.text() == "2 reviewed · 2 left"

    press(qtbot, window, Qt.Key.Key_Escape)
    assert not review.active and not bar.isVisible()
    assert not window.labeling.actions.skip.isEnabled()
    press(qtbot, window, Qt.Key.Key_Right)  # the grid's own arrow again
    assert state.current == 77


def test_review_goes_through_a_mark_filter_and_starts_at_the_first_not_reviewed(qtbot, digits, open_window):
    window = open_window(digits)
    state, browser = window.state, window.browser
    state.project.set_status([0, 1], "reviewed")
    state.select_sample(200)
    browser.set_class_filter(0)
    order = browser.visible_indices()
    assert 200 not in order
    assert window.labeling.review.start()
    assert state.current == 2  # 0 and 1 are reviewed already
    reviewed = int(np.count_nonzero(state.project.status()[order] == REVIEWED))
    assert window.labeling.review.bar.counts.text() == f"{reviewed} reviewed · {len(order) - reviewed} left"
