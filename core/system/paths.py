"""Where CV Lens keeps the user's data (project stores of read-only datasets, caches)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "CV Lens"


def data_dir() -> Path:
    """The user's data folder for CV Lens, by the platform's convention; $CVLENS_DATA_DIR overrides it.

    Linux: $XDG_DATA_HOME/cvlens (~/.local/share/cvlens); macOS: ~/Library/Application Support/CV Lens;
    Windows: %APPDATA%/CV Lens.
    """
    override = os.environ.get("CVLENS_DATA_DIR")
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming") / APP_NAME
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / APP_NAME
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") / "cvlens"
