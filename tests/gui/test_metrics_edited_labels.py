"""Edited labels are what the metrics score; the "Original labels" switch scores the dataset's own."""

import numpy as np

from tests.gui.test_labeling_support import predictions_for


def accuracy_shown(window) -> str:
    text = window.metrics.summary.text()
    return text.split("Accuracy ")[1].split("<")[0].split(" ")[0] if "Accuracy " in text else ""


def test_an_edit_rescores_and_the_switch_shows_the_original_labels(qtbot, digits, open_window):
    window = open_window(digits)
    state = window.state
    targets = state.dataset.targets.copy()
    state.set_predictions(predictions_for(state.dataset, targets))  # a model that is right on every sample
    qtbot.waitUntil(lambda: accuracy_shown(window) == "100.00%", timeout=10_000)
    # the user decides four samples were labeled wrongly: the model now disagrees with them
    changed = np.flatnonzero(targets == 3)[:4]
    state.project.set_label(changed, "5")
    n = len(targets)
    edited = f"{(n - 4) / n:.2%}"
    qtbot.waitUntil(lambda: accuracy_shown(window) == edited, timeout=10_000)
    assert window.metrics.original_check.isVisible()
    window.metrics.original_check.setChecked(True)
    qtbot.waitUntil(lambda: accuracy_shown(window) == "100.00%", timeout=10_000)
    window.metrics.original_check.setChecked(False)
    qtbot.waitUntil(lambda: accuracy_shown(window) == edited, timeout=10_000)


def test_excluded_samples_are_left_out_of_the_metrics(qtbot, digits, open_window):
    window = open_window(digits)
    state = window.state
    targets = state.dataset.targets.copy()
    predicted = targets.copy()
    wrong = np.flatnonzero(targets == 1)[:2]
    predicted[wrong] = 7
    state.set_predictions(predictions_for(state.dataset, predicted))
    n = len(targets)
    qtbot.waitUntil(lambda: accuracy_shown(window) == f"{(n - 2) / n:.2%}", timeout=10_000)
    state.project.set_status(wrong, "excluded")
    qtbot.waitUntil(lambda: accuracy_shown(window) == "100.00%", timeout=10_000)
