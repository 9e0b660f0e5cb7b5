"""The threshold box takes exactly what is typed, with real key events, fast or slow; out-of-range values are refused.

Seen before: typing 0.99 gave 0.9000 or 0.0000 depending on the typing speed (every keystroke was a
threshold, and the box was re-set from it while the user was still typing), and 0.0000 silently flipped
every sample to positive.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from core.evaluation import classification
from core.evaluation.decisions import predicted_classes
from gui.metrics.threshold_box import parse_unit
from tests.gui.test_metrics_data import faces, load, multilabel, shown_pane


@pytest.fixture
def pane(qtbot, app_state):
    yield from shown_pane(qtbot, app_state)


def type_into(qtbot, spin, text: str, pause_ms: int = 0) -> None:
    """Click into the box, select its text and type ``text`` with real key events (``pause_ms`` between keys)."""
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    qtbot.keyClick(spin, Qt.Key_A, Qt.ControlModifier)
    if pause_ms:
        for char in text:
            qtbot.keyClicks(spin, char)
            qtbot.wait(pause_ms)
    else:
        qtbot.keyClicks(spin, text)


def press_enter_and_settle(qtbot, spin) -> None:
    qtbot.keyClick(spin, Qt.Key_Return)
    qtbot.wait(200)  # longer than any debounce and recomputation


@pytest.mark.parametrize("pause_ms", [0, 5, 30, 120], ids=["fast", "quick", "steady", "slow"])
@pytest.mark.parametrize("typed", ["0.99", "0.7315", "0"])
def test_a_typed_threshold_is_taken_exactly_at_any_typing_speed(qtbot, pane, typed, pause_ms):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    spin = pane.threshold.spin
    type_into(qtbot, spin, typed, pause_ms)
    assert spin.text() == typed  # the box never rewrote what was being typed
    press_enter_and_settle(qtbot, spin)
    expected = classification.snap_threshold(float(typed))
    assert pane.state.threshold == expected
    assert pane.model.base_threshold == expected
    assert spin.value() == pytest.approx(float(typed))
    assert float(spin.text()) == pytest.approx(float(typed))
    assert pane.threshold.slider.value() == round(float(typed) * 1000)
    np.testing.assert_array_equal(pane.counts, classification.decision_report(dataset, preds, expected, 1.0)["counts"])


def test_typing_changes_nothing_until_enter(qtbot, pane):
    """The half-typed "0" of "0.99" must never become the threshold (it flips every sample to positive)."""
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    seen = []
    pane.state.threshold_changed.connect(seen.append)
    type_into(qtbot, pane.threshold.spin, "0.99", pause_ms=60)
    assert seen == [] and pane.state.threshold in (None, 0.5)
    press_enter_and_settle(qtbot, pane.threshold.spin)
    assert seen == [classification.snap_threshold(0.99)]


def test_a_running_model_does_not_rewrite_the_box_while_the_user_types(qtbot, pane):
    """Each batch of a run recomputes the summary; the typed text must survive it."""
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    spin = pane.threshold.spin
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    qtbot.keyClick(spin, Qt.Key_A, Qt.ControlModifier)
    for char in "0.99":
        qtbot.keyClicks(spin, char)
        pane.state.set_predictions(preds)  # a batch arrived
        qtbot.wait(80)
    assert spin.text() == "0.99"
    press_enter_and_settle(qtbot, spin)
    assert pane.state.threshold == classification.snap_threshold(0.99)


@pytest.mark.parametrize("typed", ["1.5", "-0.2", "2", "abc", "0.5.5"])
def test_a_value_outside_zero_one_is_refused_visibly_and_changes_nothing(qtbot, pane, typed):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    control, spin = pane.threshold, pane.threshold.spin
    spin.setValue(0.3)
    qtbot.waitUntil(lambda: pane.state.threshold == classification.snap_threshold(0.3))
    counts = pane.counts.copy()
    messages = []
    pane.state.message.connect(messages.append)
    type_into(qtbot, spin, typed)
    assert spin.text() == typed  # the keystrokes were not swallowed silently
    press_enter_and_settle(qtbot, spin)
    assert pane.state.threshold == classification.snap_threshold(0.3)
    np.testing.assert_array_equal(pane.counts, counts)
    assert control.refused  # visible: a red frame and a tooltip saying why
    assert "#b00020" in spin.styleSheet()
    assert "between 0 and 1" in spin.toolTip() and typed in spin.toolTip()
    assert any("between 0 and 1" in m for m in messages)
    # a valid value afterwards is taken and clears the refusal
    type_into(qtbot, spin, "0.8")
    press_enter_and_settle(qtbot, spin)
    assert pane.state.threshold == classification.snap_threshold(0.8)
    assert not control.refused and "#b00020" not in spin.styleSheet()
    expected = predicted_classes(preds, classification.snap_threshold(0.8))
    assert pane.counts.sum() == (expected[preds.done] >= 0).sum()


def test_leaving_a_refused_value_shows_the_threshold_in_force(qtbot, pane):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    spin = pane.threshold.spin
    type_into(qtbot, spin, "7")
    press_enter_and_settle(qtbot, spin)
    assert pane.threshold.refused
    pane.beta.spin.setFocus()  # focus leaves the box
    qtbot.waitUntil(lambda: not spin.hasFocus())
    assert spin.value() == 0.5 and float(spin.text()) == 0.5
    assert pane.state.threshold in (None, 0.5)
    assert pane.threshold.refused  # still says why the 7 was not taken


def test_arrows_and_the_slider_still_move_the_threshold_at_once(qtbot, pane):
    dataset, preds = faces()
    load(qtbot, pane, dataset, preds)
    spin = pane.threshold.spin
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key_Up)
    qtbot.waitUntil(lambda: pane.state.threshold == classification.snap_threshold(0.51))
    assert spin.text() == "0.51"
    type_into(qtbot, spin, "0.8")  # typed, not committed: the slider moved after it wins
    pane.threshold.slider.setValue(250)
    qtbot.waitUntil(lambda: pane.state.threshold == classification.snap_threshold(0.25))
    assert spin.value() == 0.25 and spin.text() == "0.25"


def test_what_the_box_reads_as_a_threshold():
    assert parse_unit("0.99") == (0.99, "") and parse_unit(" 1 ") == (1.0, "")
    assert parse_unit("0,75") == (0.75, "")  # a decimal comma
    assert parse_unit("1.5")[1] == "outside [0, 1]" and parse_unit("-0")[0] == 0.0
    assert parse_unit("nan")[1] == parse_unit("")[1] == parse_unit("0.5.5")[1] == "not a number"
    assert parse_unit("0.1234567")[1] == "more than 6 decimals" and parse_unit("0.123456")[0] == 0.123456


def edit_label_threshold(qtbot, table, label: int, text: str) -> None:
    """Type ``text`` into a label's threshold cell as a user does: F2, the keys, Enter."""
    row = next(r for r in range(table.rowCount()) if table.class_at(r) == label)
    table.setFocus()
    table.setCurrentCell(row, table.threshold_column)
    qtbot.keyClick(table, Qt.Key_F2)
    editor = QApplication.focusWidget()
    assert editor is not table
    qtbot.keyClick(editor, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.wait(200)


def test_a_label_threshold_typed_out_of_range_is_refused_not_clamped(qtbot, pane):
    dataset, preds = multilabel()
    load(qtbot, pane, dataset, preds, scores=False)
    table = pane.show_tab("Labels").table
    errors = []
    pane.state.error.connect(lambda title, text: errors.append(text))
    edit_label_threshold(qtbot, table, 2, "0.35")
    qtbot.waitUntil(lambda: np.ndim(pane.state.threshold) == 1)
    assert pane.state.threshold[2] == classification.snap_threshold(0.35)
    before = pane.state.threshold.copy()
    edit_label_threshold(qtbot, table, 2, "1.5")  # was clamped to 1.0: every image "absent"
    np.testing.assert_array_equal(pane.state.threshold, before)
    qtbot.waitUntil(lambda: bool(errors))
    assert "between 0 and 1" in errors[-1] and "1.5" in errors[-1]
    assert table.values(table.threshold_column)[2] == classification.snap_threshold(0.35)  # the cell shows it again
    edit_label_threshold(qtbot, table, 2, "abc")  # a typo is refused too, not read as "clear the override"
    np.testing.assert_array_equal(pane.state.threshold, before)
