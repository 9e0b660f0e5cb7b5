"""Tiny datasets written to tmp_path in their real on-disk layout, shared by the GUI tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.datasets import open_dataset
from gui.state import AppState

#: Samples per class of the "test" split that ``image_folder`` writes (train has one more each).
FOLDER_CLASSES = {"cat": 4, "dog": 3, "fox": 2}


def write_image_folder(
    root: Path,
    classes: dict[str, int] = FOLDER_CLASSES,
    *,
    splits: tuple[str, ...] = ("train", "test"),
    size: tuple[int, int] = (8, 8),
    seed: int = 0,
) -> Path:
    """Write ``root/<split>/<class>/NNN.png`` with random RGB images of ``size`` (h, w); returns root."""
    rng = np.random.default_rng(seed)
    for split in splits:
        extra = 1 if split == "train" else 0
        for name, count in classes.items():
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(count + extra):
                image = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
                cv2.imwrite(str(folder / f"{k:03d}.png"), image)
    return root


@pytest.fixture
def make_image_folder(tmp_path: Path):
    """``make_image_folder(name, classes={...}, size=(h, w), splits=(...))`` writes one under tmp_path."""

    def _make(name: str = "images", classes: dict[str, int] = FOLDER_CLASSES, **options) -> Path:
        return write_image_folder(tmp_path / name, classes, **options)

    return _make


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A 3-class image folder with train/test splits of 8x8 RGB PNGs (see FOLDER_CLASSES)."""
    return write_image_folder(tmp_path / "animals")


@pytest.fixture
def app_state(qapp) -> AppState:
    return AppState()


@pytest.fixture
def open_folder(app_state: AppState):
    """Open a folder into the app state and return the Dataset (test split by default)."""

    def _open(path: Path, split: str | None = None):
        dataset = open_dataset(path, split=split)
        app_state.set_dataset(dataset)
        return dataset

    return _open
