"""Time from `python main.py` (the bundled digits demo) to the window's first paint, median of several starts.

Floors, measured in the same run with the starts interleaved (the machine may be shared: a busy moment then
slows both sides alike):
- Qt: a bare `python` that imports PySide6.QtWidgets and paints an empty QMainWindow of the same size; no
  window of ours can come sooner.
- the target of issue 15: under half of napari's window on the machine it was measured on (1.17-1.63 s), 0.58 s.

The child (CVLENS_BENCH_STARTUP=1, see gui/app.py) prints when its frame was painted ("painted"), whether torch
was imported by then (it must not have been), and when its panes were painted ("ready"); the baseline child
prints "painted" the same way (a paint event, then the next event-loop turn). Run: python benchmarks/bench_startup.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7
TARGET_S = 0.58  # half of napari's fastest window (1.17 s), issue 15

QT_BASELINE = """
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.setWindowTitle("baseline")
window.resize(1500, 950)
class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, lambda: (print(f"painted {time.time():.6f}", flush=True), app.quit()))
        return False
first = FirstPaint()
window.installEventFilter(first)
window.show()
app.exec()
"""


def _env() -> dict[str, str]:
    return dict(os.environ, CVLENS_BENCH_STARTUP="1", QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))


def _times(command: list[str]) -> dict[str, tuple[float, str]]:
    """Each reported stage ("painted", "ready") -> (seconds since the launch, the rest of its line)."""
    start = time.time()
    out = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    stages = {}
    for line in out.stdout.splitlines():
        what, _, rest = line.partition(" ")
        if what in ("painted", "ready"):
            stamp, _, flags = rest.partition(" ")
            stages[what] = (float(stamp) - start, flags)
    if "painted" not in stages:
        raise SystemExit(f"{command[1]} did not report its window:\n{out.stdout}\n{out.stderr[-3000:]}")
    return stages


def app_start() -> tuple[float, float, bool]:
    """Seconds to the first paint, to the panes' paint, and whether torch was imported at the first paint."""
    stages = _times([sys.executable, "main.py"])
    painted, flags = stages["painted"]
    return painted, stages.get("ready", (float("nan"), ""))[0], flags.endswith("True")


def qt_start() -> float:
    return _times([sys.executable, "-c", QT_BASELINE])["painted"][0]


def main() -> None:
    app_start(), qt_start()  # warm the file cache
    painted, ready, torch_flags, floor = [], [], [], []
    for _ in range(RUNS):
        first, panes, torch_then = app_start()
        painted.append(first)
        ready.append(panes)
        torch_flags.append(torch_then)
        floor.append(qt_start())
    median, qt = statistics.median(painted), statistics.median(floor)
    print("launch to first paint (s): " + " ".join(f"{t:.3f}" for t in painted))
    print(f"window painted after {median * 1000:.0f} ms (median of {RUNS}; min {min(painted) * 1000:.0f} ms)")
    print(f"Qt alone (empty QMainWindow) {qt * 1000:.0f} ms: ratio {median / qt:.2f}x")
    print(f"target {TARGET_S * 1000:.0f} ms (half of napari's 1.17 s): ratio {median / TARGET_S:.2f}x")
    print(f"panes painted after {statistics.median(ready) * 1000:.0f} ms (median)")
    print(f"torch imported before the window was painted: {any(torch_flags)}")
    if any(torch_flags):
        raise SystemExit("MISSED: the window waited for torch")


if __name__ == "__main__":
    main()
