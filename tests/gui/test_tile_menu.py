"""The tile's right-click menu offers what the dataset's labels are: classes, tags, or an image's objects."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from gui.labeling.tile_menu import tile_menu

DEMOS = Path(__file__).resolve().parents[2] / "resources" / "demo"


def _entries(window, indices) -> list[str]:
    menu = tile_menu(window.labeling.controller, np.asarray(indices), window)
    try:
        return [action.text().split("\t")[0] for action in menu.actions() if action.text()]
    finally:
        menu.deleteLater()


def test_a_class_dataset_offers_its_classes_and_the_prediction(open_window, digits) -> None:
    window = open_window(digits)
    entries = _entries(window, [0, 1])
    assert "Label as" in entries and "Take the Model's Prediction" in entries and "Tags" not in entries


def test_an_object_datasets_image_offers_neither_tags_nor_the_whole_prediction(open_window, tmp_path) -> None:
    root = tmp_path / "scene_detection"
    shutil.copytree(DEMOS / "scene_detection", root)
    window = open_window(root)
    entries = _entries(window, [0])
    assert "Tags" not in entries and "Take the Model's Prediction" not in entries and "Label as" not in entries
    assert "Note…" in entries  # marks and notes are the image's as for any sample
