"""Every test runs headless; Qt warnings fail GUI tests (pyqtgraph does the same)."""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("CVLENS_DATA_DIR", str(Path(__file__).resolve().parent / ".." / ".pytest_cache" / "cvlens-data"))

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
