"""Menus offer what the dataset as it is open can take: the tile menu its kind of labels (classes, tags, an
image's objects), the Runs menu the runs made for its task."""

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


def test_runs_of_the_datasets_other_task_are_greyed_and_not_compared(open_window, tmp_path, monkeypatch) -> None:
    """COCO open for instance segmentation: a U-Net run kept when it was open for segmentation is greyed in the
    Runs menu (its tooltip names its task), and Compare Runs pairs the two detector runs, not the U-Net's."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QMenu

    root = tmp_path / "scene_detection"
    shutil.copytree(DEMOS / "scene_detection", root)
    window = open_window(root)
    controller = window.labeling.runs

    def run(number: int, task: str):
        return SimpleNamespace(
            id=number, task=task, name=f"run {number}", model="m", time=0.0, device="cpu", metrics={"task": task},
            weights_path=None, weights_sha256=None, has_embeddings=False, headline="",
        )  # fmt: skip

    runs = [run(1, "detection"), run(2, "segmentation"), run(3, "detection")]
    monkeypatch.setattr(controller, "runs", lambda: runs)
    monkeypatch.setattr("gui.labeling.runs.run_title", lambda r: r.name)
    assert [r.id for r in controller.comparable()] == [1, 3]
    menu = QMenu()
    controller.fill_menu(menu)
    entries = {a.text(): a for a in menu.actions() if a.text().startswith("run ")}
    assert entries["run 1"].isEnabled() and entries["run 3"].isEnabled() and not entries["run 2"].isEnabled()
    assert entries["run 2"].toolTip().startswith("a segmentation run")
    assert controller.compare_action.isEnabled()
    runs[0] = run(1, "segmentation")  # one detector run left: nothing to compare
    controller.fill_menu(menu)
    assert not controller.compare_action.isEnabled()
