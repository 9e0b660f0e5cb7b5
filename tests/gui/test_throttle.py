"""gui.throttle: the panes' throttled and debounced calls (superqt's behaviour, without importing superqt)."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject

from gui.throttle import debounced, throttled


class Calls(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple] = []

    def record(self, *args) -> None:
        self.seen.append(args)

    def one(self, value) -> None:  # takes fewer arguments than a signal may pass
        self.seen.append((value,))


def test_throttled_calls_at_once_then_once_more_with_the_last_arguments(qtbot):
    calls = Calls()
    call = throttled(calls.record, timeout=50)
    for k in range(5):
        call(k)
    assert calls.seen == [(0,)]  # leading: the first at once, the rest held back
    qtbot.waitUntil(lambda: len(calls.seen) == 2, timeout=2000)
    assert calls.seen == [(0,), (4,)]  # trailing: the last one's arguments


def test_a_trailing_throttle_waits_for_the_end_of_the_interval(qtbot):
    calls = Calls()
    call = throttled(calls.record, timeout=50, leading=False)
    call(1)
    call(2)
    assert calls.seen == []
    qtbot.waitUntil(lambda: calls.seen == [(2,)], timeout=2000)
    qtbot.wait(120)
    assert calls.seen == [(2,)]  # once


def test_debounced_waits_until_the_calls_stop(qtbot):
    calls = Calls()
    call = debounced(calls.record, timeout=80)
    for k in range(4):
        call(k)
        qtbot.wait(30)  # each call restarts the wait
    assert calls.seen == []
    qtbot.waitUntil(lambda: calls.seen == [(3,)], timeout=2000)


def test_cancel_drops_and_flush_makes_the_held_call(qtbot):
    calls = Calls()
    call = debounced(calls.one, timeout=10_000)
    call(1, "extra", "arguments")  # as a signal with more arguments than the function takes
    call.flush()
    assert calls.seen == [(1,)]
    call(2)
    call.cancel()
    call.flush()
    assert calls.seen == [(1,)]


def test_a_held_call_dies_with_the_object_whose_method_it_calls(qtbot):
    calls = Calls()
    call = debounced(calls.record, timeout=20)
    call(1)
    shiboken6.delete(calls)  # as a widget deleted with its window, while its call waits
    assert not shiboken6.isValid(call)
    call(2)  # a last signal of the dying window: dropped, no error
    qtbot.wait(60)
