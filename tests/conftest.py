"""Every test runs headless; Qt warnings fail GUI tests (pyqtgraph does the same)."""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if os.environ["QT_QPA_PLATFORM"] == "offscreen":
    # A 1920x1080 screen, not the plugin's 800x800: windows are tested at the sizes people have, and
    # a remembered window geometry is restored unclamped.
    screen = Path(__file__).resolve().parent / "gui" / "screen-1920x1080.json"
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={screen}"
os.environ.setdefault("CVLENS_DATA_DIR", str(Path(__file__).resolve().parent / ".." / ".pytest_cache" / "cvlens-data"))

ROOT = Path(__file__).resolve().parents[1]


def pytest_sessionfinish(session, exitstatus):
    """Nothing a test does may write into the bundled demos (a run saved beside them, a mask store...)."""
    written = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "resources").rglob(".cvlens"))
    if written:
        session.exitstatus = 1
        sys.stderr.write(f"\ntests wrote into resources/: {written} (use a copy of the demo, or --no-save-run)\n")
