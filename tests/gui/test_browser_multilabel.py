"""Multilabel (CelebA) and binary datasets: tags on tiles, tag filters, marks under the threshold."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.datasets import open_dataset
from core.evaluation.selection import RIGHT, UNKNOWN, WRONG
from core.inference import Predictions
from gui.browser import BrowserPane
from gui.browser.grid_model import OutcomeRole, PredictedTagsRole, PredictionRole, TagsRole
from gui.browser.score_bars import EXTRA, HIT, MISSED
from tests.gui.helpers import browser_pane

SMILING, EYEGLASSES = 31, 15


@pytest.fixture
def pane(qtbot, app_state):
    yield from browser_pane(qtbot, app_state)


@pytest.fixture
def faces(celeba, app_state):
    """CelebA's test split open; returns (dataset, its rows of the fixture's -1/1 attributes)."""
    root, truth = celeba
    dataset = open_dataset(root)
    app_state.set_dataset(dataset)
    return dataset, truth["attrs"][truth["partition"] == 2]


def rows(pane: BrowserPane, role: int) -> list:
    model = pane.model
    return [model.data(model.index(r), role) for r in range(model.rowCount())]


def tag_scores(dataset, true: float = 0.6, false: float = 0.3) -> Predictions:
    p = Predictions.empty("multilabel", dataset.classes, dataset.sample_ids)
    p.scores[:] = np.where(dataset.tags > 0, true, false)
    p.done[:] = True
    return p


def test_tiles_show_each_samples_tags(pane, faces):
    dataset, attrs = faces
    assert dataset.task == "multilabel" and dataset.classes[SMILING] == "Smiling"
    tags = rows(pane, TagsRole)
    assert tags == [[dataset.classes[c] for c in np.flatnonzero(row == 1)] for row in attrs]
    assert pane.tag_filter.isVisibleTo(pane) and not pane.filters.masks.isVisibleTo(pane)


def test_has_and_lacks_tag_filters_combine(qtbot, pane, faces):
    dataset, attrs = faces
    picker = pane.tag_filter.picker
    picker.activated.emit(picker.findData(SMILING))  # as the user picks "Smiling" in the list
    smiling = np.flatnonzero(attrs[:, SMILING] == 1)
    np.testing.assert_array_equal(pane.visible_indices(), smiling)
    assert [chip.button.text() for chip in pane.tag_filter.chips] == ["has Smiling"]

    picker.activated.emit(picker.findData(EYEGLASSES))
    qtbot.mouseClick(pane.tag_filter.chips[1].button, Qt.MouseButton.LeftButton)  # has -> lacks
    assert pane.tag_filter.chips[1].button.text() == "lacks Eyeglasses"
    expected = np.flatnonzero((attrs[:, SMILING] == 1) & (attrs[:, EYEGLASSES] == -1))
    assert 0 < len(expected) < len(smiling)  # the fixture makes the second filter matter
    np.testing.assert_array_equal(pane.visible_indices(), expected)
    assert pane.filters.count.text() == f"{len(expected)} of {len(dataset)}"

    pane.tag_filter.chips[0].removed.emit()  # ✕ on "has Smiling"
    np.testing.assert_array_equal(pane.visible_indices(), np.flatnonzero(attrs[:, EYEGLASSES] == -1))
    pane.set_tag_filter(has=[SMILING], lacks=[EYEGLASSES])
    np.testing.assert_array_equal(pane.visible_indices(), expected)


def test_multilabel_marks_follow_the_threshold(pane, faces, app_state):
    dataset, _ = faces
    predictions = tag_scores(dataset)
    extra = int(np.flatnonzero(dataset.tags[0] == 0)[0])
    predictions.scores[0, extra] = 0.55  # one false tag just above 0.5
    predictions.done[5] = False
    app_state.set_predictions(predictions)
    assert rows(pane, OutcomeRole) == [WRONG, RIGHT, RIGHT, RIGHT, RIGHT, UNKNOWN]
    assert rows(pane, PredictionRole)[0] is None
    assert dataset.classes[extra] in rows(pane, PredictedTagsRole)[0]
    tooltip = pane.model.data(pane.model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert f"extra: {dataset.classes[extra]}" in tooltip

    app_state.set_threshold(0.58)  # above the extra tag, below the true ones
    assert rows(pane, OutcomeRole) == [RIGHT] * 5 + [UNKNOWN]
    app_state.set_threshold(0.65)  # above every score: each sample with a tag misses it
    assert rows(pane, OutcomeRole)[:5] == [WRONG if dataset.tags[i].any() else RIGHT for i in range(5)]
    pane.set_wrong_only(True)
    np.testing.assert_array_equal(pane.visible_indices(), np.flatnonzero(dataset.tags[:5].any(axis=1)))


def test_sample_view_lists_tags_with_missed_and_extra(pane, faces, app_state):
    dataset, _ = faces
    view = pane.sample_view
    app_state.select_sample(1)
    true_tags = [dataset.classes[c] for c in np.flatnonzero(dataset.tags[1])]
    assert [name for name, _, _ in view.tags.rows] == true_tags  # before any prediction: the true tags
    assert view.label.text() == f"Tags: {len(true_tags)} of 40"

    predictions = tag_scores(dataset)
    missed, extra = int(np.flatnonzero(dataset.tags[1])[0]), int(np.flatnonzero(dataset.tags[1] == 0)[0])
    predictions.scores[1, missed], predictions.scores[1, extra] = 0.2, 0.9
    app_state.set_predictions(predictions)
    status = {name: (score, kind) for name, score, kind in view.tags.rows}
    assert status[dataset.classes[missed]] == (pytest.approx(0.2), MISSED)
    assert status[dataset.classes[extra]] == (pytest.approx(0.9), EXTRA)
    assert {
        kind for name, (_, kind) in status.items() if name not in (dataset.classes[missed], dataset.classes[extra])
    } == {HIT}
    assert [kind for _, _, kind in view.tags.rows][:2] == [MISSED, EXTRA]  # mistakes first
    assert view.prediction.text() == "Prediction: 1 missed, 1 extra"


def test_celeba_metadata_is_shown_and_landmarks_drawn(qtbot, pane, faces, celeba, app_state):
    dataset, _ = faces
    _, truth = celeba
    app_state.select_sample(0)
    view = pane.sample_view
    meta = dataset.sample_meta(0)
    assert f"Identity: {meta['identity']}" in view.meta.text()
    assert "in the in-the-wild image, not drawn" in view.meta.text()
    assert "lefteye (" in view.meta.text()
    qtbot.waitUntil(lambda: view.canvas.image is not None)
    assert view.canvas.image.shape == (218, 178, 3)
    landmarks = truth["landmarks"][truth["partition"] == 2][0].reshape(5, 2)
    drawn = np.array([[p.pos().x(), p.pos().y()] for p in view.canvas.points.points()])
    np.testing.assert_allclose(drawn, landmarks + 0.5)
    assert view.canvas._boxes == []


def test_binary_marks_follow_the_threshold(pane, make_image_folder, open_folder, app_state):
    dataset = open_folder(make_image_folder("pairs", {"cat": 3, "dog": 3}))
    assert dataset.task == "binary"
    p = Predictions.empty("binary", dataset.classes, dataset.sample_ids)
    dog = np.array([0.1, 0.3, 0.45, 0.55, 0.7, 0.9], dtype=np.float32)
    p.scores[:] = np.stack([1 - dog, dog], axis=1)
    p.done[:] = True
    app_state.set_predictions(p)
    assert rows(pane, OutcomeRole) == [RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT]
    app_state.set_threshold(0.4)
    assert rows(pane, OutcomeRole) == [RIGHT, RIGHT, WRONG, RIGHT, RIGHT, RIGHT]
    assert rows(pane, PredictionRole)[2] == "dog"
    app_state.select_sample(2)
    assert pane.sample_view.prediction.text() == "Prediction: dog (45.0%) at threshold 0.40"
    app_state.set_threshold(0.8)
    assert rows(pane, OutcomeRole) == [RIGHT, RIGHT, RIGHT, WRONG, WRONG, RIGHT]
    assert pane.sample_view.prediction.text() == "Prediction: cat (55.0%) at threshold 0.80"
