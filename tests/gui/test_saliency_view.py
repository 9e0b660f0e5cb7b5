"""Saliency maps in the sample view: the bundled models run on the demos (copies in tmp_path), then G or the
Saliency button shows where the model looked: the predicted and the true class side by side, a tag, a
segmenter's class region; only the latest request is drawn; failures are lines of text."""

from __future__ import annotations

import dataclasses
import shutil
import threading

import numpy as np
import pytest
from PySide6.QtCore import QRunnable, Qt

from core import tasks
from core.datasets import open_dataset
from core.explain.runs import NO_RUN, PREDICTED, PREDICTED_AND_TRUE, REGION, TAG, TRUE
from core.inference.progress import run_to_end
from core.models.loading import resolve_model
from cvlens.cli import DEMO_DATASET
from gui.browser.compare import OVERLAY, SIDE_BY_SIDE
from gui.state import RunStatus
from tests.core.demo_copies import DEMO
from tests.gui.helpers import browser_pane

WAIT = 90_000  # the first map imports pytorch-grad-cam and loads the model: seconds on a busy CPU


def run_model(name: str, dataset, tmp_path):
    """The real predictions of a bundled model on ``dataset`` (and its card)."""
    card = resolve_model(name)
    extra = {"run_dir": tmp_path / f"run-{name}"} if tasks.of(card).per_pixel else {}
    job = tasks.job_for(card, dataset, device="cpu", num_workers=0, **extra)
    return run_to_end(job), card


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """The digits' test split copied with one "3" moved into the "5" folder (a label error), and a run of
    digits-cnn on it: (root, predictions, card, index of the relabeled sample)."""
    tmp = tmp_path_factory.mktemp("saliency-digits")
    root = tmp / "digits"
    shutil.copytree(DEMO_DATASET / "test", root / "test")
    moved = sorted((root / "test" / "3").iterdir())[0]
    moved.rename(root / "test" / "5" / f"relabeled-{moved.name}")
    dataset = open_dataset(root, split="test")
    predictions, card = run_model("digits-cnn", dataset, tmp)
    index = next(i for i, s in enumerate(dataset.sample_ids) if "relabeled-" in s)
    return root, predictions, card, index


@pytest.fixture(scope="module")
def tags_run(tmp_path_factory):
    dataset = open_dataset(DEMO / "scene_tags", split="test")
    predictions, card = run_model("scene-tags-cnn", dataset, tmp_path_factory.mktemp("saliency-tags"))
    return dataset, predictions, card


@pytest.fixture(scope="module")
def scenes_run(tmp_path_factory):
    dataset = open_dataset(DEMO / "scenes", split="test")
    predictions, card = run_model("scenes-unet", dataset, tmp_path_factory.mktemp("saliency-scenes"))
    return dataset, predictions, card


@pytest.fixture
def pane(qtbot, app_state):
    yield from browser_pane(qtbot, app_state)


def show_run(state, dataset, predictions, card) -> None:
    state.set_dataset(dataset)
    state.set_predictions(predictions)
    state.set_run_status(RunStatus(card.display_name, "finished", predictions=predictions, card=card))


def maps_of(qtbot, pane, index: int):
    """Select sample ``index`` and wait for its maps."""
    pane.state.select_sample(index)
    panel = pane.sample_view.saliency
    qtbot.waitUntil(lambda: panel.shown is not None and panel.index == index, timeout=WAIT)
    return panel.shown


def captions(pane) -> list[str]:
    return [t.text() for t in pane.sample_view.canvases.titles if not t.isHidden()]


def test_a_misclassified_digit_shows_the_predicted_and_the_true_class_side_by_side(qtbot, pane, digits_run):
    root, predictions, card, relabeled = digits_run
    dataset = open_dataset(root, split="test")
    show_run(pane.state, dataset, predictions, card)
    assert predictions.predicted[relabeled] == dataset.classes.index("3")  # the model still sees a 3
    pane.sample_view.saliency.action.setChecked(True)
    shown = maps_of(qtbot, pane, relabeled)
    assert [(s.role, s.class_name) for s in shown.specs] == [(PREDICTED, "3"), (TRUE, "5")]
    height, width = dataset[relabeled].image().shape[:2]
    assert all(m.shape == (height, width) and m.min() >= 0 and m.max() == pytest.approx(1) for m in shown.maps)
    assert not np.allclose(shown.maps[0], shown.maps[1])  # two classes, two questions, two maps
    canvases = pane.sample_view.canvases
    assert canvases.mode == SIDE_BY_SIDE
    assert canvases.canvas.overlay is not None and canvases.second.overlay is not None
    score = predictions.scores[relabeled, 3]
    assert captions(pane) == [f"Predicted: 3 ({score:.1%})", f"True: 5 ({predictions.scores[relabeled, 5]:.1%})"]

    right = next(i for i in range(len(dataset)) if predictions.predicted[i] == dataset.targets[i])
    shown = maps_of(qtbot, pane, right)  # moving on with saliency on recomputes for the next sample
    assert [s.role for s in shown.specs] == [PREDICTED_AND_TRUE] and len(shown.maps) == 1
    assert canvases.mode == OVERLAY and canvases.canvas.overlay is not None
    assert captions(pane) == [shown.specs[0].caption]

    pane.sample_view.saliency.action.setChecked(False)  # off: the image alone again, no titles
    assert canvases.canvas.overlay is None and captions(pane) == []


def test_only_the_latest_request_is_drawn(qtbot, pane, digits_run):
    root, predictions, card, _ = digits_run
    dataset = open_dataset(root, split="test")
    show_run(pane.state, dataset, predictions, card)
    panel = pane.sample_view.saliency
    panel.action.setChecked(True)
    maps_of(qtbot, pane, 0)  # the model is loaded
    first, last = (next(i for i in range(len(dataset)) if dataset.targets[i] == c) for c in (1, 8))
    drawn = []
    panel.maps_changed.connect(lambda: panel.shown is not None and drawn.append(panel.shown.specs[0].class_name))
    gate = threading.Event()  # holds the worker busy: both requests wait in its queue, as behind a slow map
    panel.pool.start(QRunnable.create(lambda: gate.wait(WAIT / 1000)))
    pane.state.select_sample(first)
    qtbot.waitUntil(lambda: panel.index == first and panel.status.text().startswith("Computing"))
    pane.state.select_sample(last)
    qtbot.waitUntil(lambda: panel.index == last and panel.status.text().startswith("Computing"))
    gate.set()
    qtbot.waitUntil(lambda: panel.shown is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: panel.pool.activeThreadCount() == 0)
    qtbot.wait(100)  # a result still on its way to the GUI thread arrives now
    assert drawn == ["8"] and panel.shown.specs[0].class_name == "8"


def test_multilabel_maps_one_tag_at_a_time_predicted_tags_first(qtbot, pane, tags_run):
    dataset, predictions, card = tags_run
    show_run(pane.state, dataset, predictions, card)
    panel = pane.sample_view.saliency
    panel.action.setChecked(True)
    index = next(i for i in range(len(dataset)) if dataset.tags[i].sum() >= 2)
    shown = maps_of(qtbot, pane, index)
    offered = [panel.target.itemData(k) for k in range(panel.target.count())]
    true = {dataset.classes[c] for c in np.flatnonzero(dataset.tags[index])}
    predicted = {dataset.classes[c] for c in np.flatnonzero(predictions.scores[index] >= 0.5)}
    assert {s.class_name for s in offered} == true | predicted and all(s.role == TAG for s in offered)
    assert offered[0].class_name in predicted and shown.specs == [offered[0]]
    assert not panel.target.isHidden()
    other = offered[1]
    panel.target.setCurrentIndex(1)  # another tag: its own map
    qtbot.waitUntil(lambda: panel.shown is not None and panel.shown.specs == [other], timeout=WAIT)
    assert captions(pane) == [other.caption] and other.caption.startswith(f"Tag {other.class_name}")


def test_segmenter_maps_the_region_of_the_class_chosen(qtbot, pane, scenes_run):
    dataset, predictions, card = scenes_run
    show_run(pane.state, dataset, predictions, card)
    panel = pane.sample_view.saliency
    panel.action.setChecked(True)
    index = next(i for i in range(len(dataset)) if len(set(np.unique(dataset[i].mask())) - {0, 255}) >= 2)
    shown = maps_of(qtbot, pane, index)
    mask = dataset[index].mask()
    digits = sorted(int(c) for c in np.unique(mask) if 0 < c < 255)
    offered = [panel.target.itemData(k).class_name for k in range(panel.target.count())]
    assert offered[: len(digits)] == [dataset.classes[c] for c in digits] and offered[-1] == "background"
    for k, digit in enumerate(digits):
        panel.target.setCurrentIndex(k)
        qtbot.waitUntil(
            lambda d=digit: panel.shown is not None and panel.shown.specs[0].class_name == dataset.classes[d],
            timeout=WAIT,
        )
        spec, salience = panel.shown.specs[0], panel.shown.maps[0]
        assert spec.role == REGION and "predicted on" in spec.caption
        inside = salience[mask == digit].mean()
        assert inside > 2 * salience[mask == 0].mean()  # the map sits on the digit whose region it explains
    assert shown.layer == "up.2"
    assert pane.sample_view.masks.isHidden()  # the mask controls would act on nothing while the maps are drawn
    panel.action.setChecked(False)
    assert not pane.sample_view.masks.isHidden() and pane.sample_view.canvases.canvas.overlay is not None  # the mask


def test_without_a_run_the_view_says_what_to_do(qtbot, pane, digits_run):
    root = digits_run[0]
    pane.state.set_dataset(open_dataset(root, split="test"))
    panel = pane.sample_view.saliency
    panel.action.setChecked(True)
    pane.state.select_sample(3)
    qtbot.waitUntil(lambda: panel.status.text() == NO_RUN)
    assert panel.shown is None and pane.sample_view.canvases.canvas.overlay is None


def test_a_model_that_cannot_be_found_or_hooked_is_a_line_of_text(qtbot, pane, digits_run, tmp_path):
    import torch

    root, predictions, card, _ = digits_run
    dataset = open_dataset(root, split="test")
    gone = dataclasses.replace(predictions, model="a-model-deleted-since")
    pane.state.set_dataset(dataset)
    pane.state.set_predictions(gone)
    panel = pane.sample_view.saliency
    panel.action.setChecked(True)
    pane.state.select_sample(5)
    qtbot.waitUntil(lambda: "not known any more" in panel.status.text(), timeout=WAIT)
    assert panel.status.text().startswith("⚠") and "Open it in the runner" in panel.status.text()

    from core.models.loading import build_model

    traced = torch.jit.trace(build_model(card), torch.zeros(1, 1, 32, 32))
    path = tmp_path / "digits-scripted.pt"
    traced.save(str(path))
    scripted = resolve_model(path)
    show_run(pane.state, dataset, dataclasses.replace(predictions, model=scripted.name), scripted)
    pane.state.select_sample(6)
    qtbot.waitUntil(lambda: "torchscript model gives neither" in panel.status.text(), timeout=WAIT)
    assert panel.shown is None and pane.sample_view.canvases.canvas.overlay is None


def test_key_g_switches_saliency_and_help_lists_it(qtbot, digits_run, open_window):
    from gui.shortcuts import ShortcutsDialog

    root, predictions, card, relabeled = digits_run
    window = open_window(root)
    show_run(window.state, window.state.dataset, predictions, card)
    window.state.select_sample(relabeled)
    grid = window.browser.view
    grid.setFocus()
    qtbot.keyClick(grid, Qt.Key.Key_G)
    panel = window.browser.sample_view.saliency
    assert panel.active
    qtbot.waitUntil(lambda: panel.shown is not None, timeout=WAIT)
    assert len(panel.shown.maps) == 2
    qtbot.keyClick(grid, Qt.Key.Key_G)
    assert not panel.active and panel.shown is None
    dialog = ShortcutsDialog(window)
    assert ("G", "Saliency Maps") in dialog.listed()
    assert any(row.group == "Sample view" and row.keys == "G" for row in dialog.rows)
    dialog.close()


def test_the_layer_read_can_be_chosen_after_the_first_maps(qtbot, pane, digits_run):
    root, predictions, card, _ = digits_run
    dataset = open_dataset(root, split="test")
    show_run(pane.state, dataset, predictions, card)
    panel = pane.sample_view.saliency
    panel.action.setChecked(True)
    first = maps_of(qtbot, pane, 2)
    assert first.layer == "features" and panel.layer.itemText(0) == "Layer: auto (features)"
    assert not panel.layer.isHidden() and "features.1" in [panel.layer.itemData(k) for k in range(panel.layer.count())]
    panel.layer.setCurrentIndex(panel.layer.findData("features.1"))
    qtbot.waitUntil(lambda: panel.shown is not None and panel.shown.layer == "features.1", timeout=WAIT)
    assert "at layer “features.1”" in panel.status.text()
    assert not np.allclose(first.maps[0], panel.shown.maps[0])
