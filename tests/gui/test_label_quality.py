"""Label quality of a segmentation run's masks in the GUI: the metrics pane's Label quality view (ranked images,
open, show in browser, cancel, a run without probabilities) and the sample view's "Suspect pixels" overlay, on a
copy of the scenes demo run through the bundled U-Net with a few digits painted the wrong class in their masks."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.analysis.mask_quality import run_label_quality
from core.datasets import open_dataset
from core.inference.segmentation import load_run
from core.masks.overlays import SUSPECT_EDGE, SUSPECT_FILL, suspect_ring
from gui.browser import BrowserPane
from gui.metrics.pixel_issues_view import PixelIssuesView
from gui.state import AppState
from tests.core.demo_copies import misdrawn_scenes

PASS_TIMEOUT = 120_000  # ms: the first pass imports cleanlab, on a shared machine


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """(dataset, predictions, {image index: repainted region})."""
    root, predictions, regions = misdrawn_scenes(tmp_path_factory.mktemp("label-quality"))
    return open_dataset(root, split="test"), predictions, regions


@pytest.fixture
def state(qapp, scenes):
    dataset, predictions, _ = scenes
    state = AppState()
    state.set_dataset(dataset)
    state.set_predictions(predictions)
    return state


@pytest.fixture
def view(qtbot, state):
    widget = PixelIssuesView(state)
    qtbot.addWidget(widget)
    widget.resize(700, 500)
    yield widget
    widget.model.cancel()


def shown_indices(view) -> list[int]:
    return [view.table.item(r, 0).data(0x0100) for r in range(view.table.rowCount())]  # Qt.UserRole


def test_the_repainted_masks_are_listed_first_and_open_in_the_browser(qtbot, view, state, scenes):
    _, predictions, regions = scenes
    view.show()  # the pass starts when the tab is first seen with a finished run
    qtbot.waitUntil(lambda: view.model.findings is not None, timeout=PASS_TIMEOUT)
    listed = view.model.findings.listed
    assert sorted(shown_indices(view)[: len(regions)]) == sorted(regions)
    assert len(listed) == int(predictions.done.sum())
    for row in listed[: len(regions)]:
        assert row.count > 0 and row.thumbnail is not None and not row.error
        assert view.table.item(listed.index(row), 3).text() == predictions.classes[row.suggested]
    scores = [row.score for row in listed]
    assert scores == sorted(scores)
    assert state.label_quality is view.model.findings.quality  # the browser's overlay uses its thresholds
    assert "32 images scored" in view.status.text()

    view.table.cellClicked.emit(1, 0)
    assert state.current == shown_indices(view)[1]
    view.worst_count.setValue(2)
    view.show_button.click()
    assert state.selection.ordered and state.selection.indices.tolist() == shown_indices(view)[:2]


def test_cancel_stops_the_pass_and_keeps_nothing(qtbot, view, state):
    assert view.model.start()
    assert view.cancel_button.isEnabled()
    with qtbot.waitSignal(view.model.cancelled):
        view.cancel_button.click()
    qtbot.wait(1500)  # a late result of the stopped worker must not show
    assert view.model.findings is None and state.label_quality is None
    assert view.table.rowCount() == 0 and not view.show_button.isEnabled()
    assert view.find_button.isEnabled() and "cancelled" in view.progress.format()


def test_a_run_without_probabilities_says_what_the_runner_needs(qtbot, view, state, scenes, tmp_path):
    _, predictions, _ = scenes
    folder = shutil.copytree(predictions.folder, tmp_path / "masks-only")
    for path in (folder / "samples").glob("*.npz"):
        with np.load(path) as data:
            mask = data["mask"]
        np.savez_compressed(path, mask=mask)  # the masks only, as a run imported from elsewhere would be
    state.set_predictions(load_run(folder))
    with qtbot.waitSignal(view.model.failed, timeout=PASS_TIMEOUT):
        view.model.start()
    assert "kept no class probabilities" in view.status.text()
    assert "Run the segmenter again from the runner" in view.status.text()
    assert view.table.rowCount() == 0 and not view.show_button.isEnabled()


@pytest.fixture
def browser(qtbot, state):
    pane = BrowserPane(state)
    qtbot.addWidget(pane)
    pane.resize(1000, 700)
    pane.show()
    qtbot.waitExposed(pane)
    yield pane
    pane.shutdown()
    assert pane.sample_view.suspect.pool.activeThreadCount() == 0


def overlay_of(qtbot, browser, state, index: int, note: str):
    """Show sample ``index`` with the toggle on; the suspect mask once the note says where the thresholds came from."""
    toggle, masks = browser.sample_view.suspect, browser.sample_view.masks
    before = masks.masks
    state.select_sample(index)
    qtbot.waitUntil(lambda: masks.masks is not before and masks.masks.probabilities is not None)
    assert toggle.isVisible()
    toggle.check.setChecked(True)
    qtbot.waitUntil(lambda: toggle.found is not None and note in toggle.note.text(), timeout=30_000)
    return toggle.found


def assert_marks_the_region(found, region) -> None:
    inside = int((found.mask & region).sum())
    assert inside >= 0.7 * found.count, (inside, found.count)  # measured 0.96 to 1.0
    assert inside >= 0.5 * region.sum(), (inside, int(region.sum()))  # measured 0.75 to 0.95


def test_the_overlay_marks_the_repainted_pixels_with_either_thresholds(qtbot, browser, state, scenes):
    dataset, predictions, regions = scenes
    toggle = browser.sample_view.suspect
    index, region = next(iter(regions.items()))
    found = overlay_of(qtbot, browser, state, index, "this image alone")  # no pass made yet
    assert_marks_the_region(found, region)
    layer = toggle.layer.image
    assert toggle.layer.isVisible() and layer.shape[:2] == region.shape
    ring = suspect_ring(found.mask)
    assert {tuple(c) for c in layer[found.mask]} == {SUSPECT_FILL}
    assert {tuple(c) for c in layer[ring]} == set(SUSPECT_EDGE) and (layer[~found.mask & ~ring, 3] == 0).all()

    state.set_label_quality(run_label_quality(predictions, dataset))
    qtbot.waitUntil(lambda: "Label quality pass" in toggle.note.text(), timeout=30_000)
    assert_marks_the_region(toggle.found, region)
    assert f"labeled {predictions.classes[toggle.found.given]}" in toggle.note.text()

    toggle.check.setChecked(False)
    assert not toggle.layer.isVisible() and toggle.found is None


def test_the_overlay_follows_the_sample_shown(qtbot, browser, state, scenes):
    _, _, regions = scenes
    first, second = list(regions)[:2]
    overlay_of(qtbot, browser, state, first, "this image alone")
    found = overlay_of(qtbot, browser, state, second, "this image alone")
    assert_marks_the_region(found, regions[second])
    assert browser.sample_view.index == second
    state.set_predictions(None)  # no run, no probabilities: no toggle, no layer
    qtbot.waitUntil(lambda: not browser.sample_view.suspect.isVisible())
    assert not browser.sample_view.suspect.layer.isVisible()
