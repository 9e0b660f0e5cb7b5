"""Time from `python main.py` to the main window on screen, median of several starts.

The window must not wait for torch: the child also reports whether torch had been imported
when the window was shown (it must not have been). Run: python benchmarks/bench_startup.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5


def one_start() -> tuple[float, bool]:
    env = dict(os.environ, CVLENS_BENCH_STARTUP="1", QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    start = time.time()
    out = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("shown ")), None)
    if line is None:
        raise SystemExit(f"the app did not report its window:\n{out.stdout}\n{out.stderr}")
    shown, flag = line.split()[1:3]
    return float(shown) - start, flag.endswith("True")


def bare_python() -> float:
    start = time.time()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.time() - start


def main() -> None:
    one_start()  # warm the file cache
    times, torch_flags = zip(*(one_start() for _ in range(RUNS)))
    base = statistics.median(bare_python() for _ in range(RUNS))
    median = statistics.median(times)
    print(f"window shown after {median * 1000:.0f} ms (median of {RUNS}; min {min(times) * 1000:.0f} ms)")
    print(f"bare python start {base * 1000:.0f} ms; ratio {median / base:.1f}x")
    print(f"torch imported before the window was shown: {any(torch_flags)}")
    if any(torch_flags):
        raise SystemExit("MISSED: the window waited for torch")


if __name__ == "__main__":
    main()
