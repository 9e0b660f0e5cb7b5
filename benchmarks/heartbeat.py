"""The GUI thread's stalls, measured by a heartbeat: shared by the browsing benchmarks."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def heartbeat(app: QApplication, work, seconds_after: float = 0.3) -> tuple[list[float], list[float]]:
    """Gaps between the beats of a 5 ms timer on the GUI thread while ``work()`` drives it, then for
    ``seconds_after`` of idle event processing (what ``work`` left queued lands too): (wall-clock gaps, GUI-thread
    CPU time between two beats), both in ms. A gap far over 5 ms is a stall the user feels."""
    wall: list[float] = []
    cpu: list[float] = []
    last = [time.perf_counter(), time.thread_time()]

    def beat() -> None:
        now = time.perf_counter(), time.thread_time()
        wall.append((now[0] - last[0]) * 1000)
        cpu.append((now[1] - last[1]) * 1000)
        last[:] = now

    timer = QTimer(interval=5, timeout=beat)
    timer.start()
    work()
    end = time.perf_counter() + seconds_after
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)
    timer.stop()
    return wall, cpu
