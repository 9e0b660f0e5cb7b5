"""Copies of the bundled demo datasets with a class renamed: a model whose classes are named differently.

Written under the test's tmp_path (nothing is ever written into resources/)."""

from __future__ import annotations

import shutil
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"


def renamed_digits(tmp_path: Path) -> Path:
    """A copy of the digits demo whose class "7" is called "seven" (9 of its 10 names are the model's)."""
    root = shutil.copytree(DEMO / "digits", tmp_path / "digits")
    for split in ("train", "test"):
        (root / split / "7").rename(root / split / "seven")
    return root


def renamed_scenes(tmp_path: Path) -> Path:
    """A copy of the scenes demo whose "background" class is called "sky"."""
    root = shutil.copytree(DEMO / "scenes", tmp_path / "scenes")
    classes = root / "classes.txt"
    classes.write_text(classes.read_text().replace("background", "sky", 1))
    return root
