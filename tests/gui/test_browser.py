"""The browser pane follows AppState: dataset, filters, selections, predictions, clicks."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.evaluation.selection import RIGHT, UNKNOWN, WRONG, Selection
from core.inference import Predictions
from gui.browser import BrowserPane, id_index
from gui.browser.grid_model import ErrorRole, IndexRole, LabelRole, OutcomeRole, PredictionRole
from gui.browser.tile_delegate import short_reason
from tests.gui.helpers import browser_pane


@pytest.fixture
def pane(qtbot, app_state):
    yield from browser_pane(qtbot, app_state, (900, 600))


def predictions_for(dataset, predicted, done=None) -> Predictions:
    """Predictions whose argmax is ``predicted`` (scores 0.7 for it, the rest shared)."""
    n, c = len(dataset), len(dataset.classes)
    p = Predictions.empty(dataset.task, dataset.classes, dataset.sample_ids)
    scores = np.full((n, c), 0.3 / (c - 1), dtype=np.float32)
    scores[np.arange(n), predicted] = 0.7
    p.scores[:] = scores
    p.done[:] = True if done is None else done
    p.scores[~p.done] = np.nan
    return p


def rows_data(pane: BrowserPane, role: int) -> list:
    model = pane.model
    return [model.data(model.index(r), role) for r in range(model.rowCount())]


def test_grid_shows_every_sample_of_the_split(pane, image_folder, open_folder):
    dataset = open_folder(image_folder)
    assert pane.model.rowCount() == len(dataset) == 9
    np.testing.assert_array_equal(pane.visible_indices(), np.arange(9))
    assert rows_data(pane, IndexRole) == list(range(9))
    assert rows_data(pane, LabelRole) == ["cat"] * 4 + ["dog"] * 3 + ["fox"] * 2
    combo = pane.filters.class_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["All classes (9)", "cat (4)", "dog (3)", "fox (2)"]


def test_class_filter_narrows_to_exactly_that_class(pane, image_folder, open_folder):
    dataset = open_folder(image_folder)
    pane.filters.class_combo.setCurrentIndex(2)  # "dog (3)", as the user picks it
    np.testing.assert_array_equal(pane.visible_indices(), np.flatnonzero(dataset.targets == 1))
    assert pane.model.rowCount() == 3
    pane.set_class_filter(None)
    assert len(pane.visible_indices()) == 9


def test_clicking_a_bar_of_the_class_chart_filters_to_that_class(qtbot, pane, image_folder, open_folder):
    dataset = open_folder(image_folder)
    pane.show()
    pane.tabs.setCurrentWidget(pane.chart)
    qtbot.waitExposed(pane)
    plot = pane.chart.plot
    point = plot.mapFromScene(pane.chart.bar_center(2))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=point)
    np.testing.assert_array_equal(pane.visible_indices(), np.flatnonzero(dataset.targets == 2))
    assert pane.filters.class_index == 2
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=point)  # again: every class
    assert pane.filters.class_index is None
    assert len(pane.visible_indices()) == len(dataset)


def test_selection_is_shown_in_its_order_and_intersected_with_the_class_filter(
    pane, image_folder, open_folder, app_state
):
    open_folder(image_folder)
    app_state.set_selection(Selection.of("true cat → predicted dog", [5, 1, 3]))
    np.testing.assert_array_equal(pane.visible_indices(), [1, 3, 5])
    assert pane.filters.selection_chip.isVisibleTo(pane)
    assert pane.filters.selection_chip.text() == "true cat → predicted dog (3)"

    app_state.set_selection(Selection.of("worst first", [5, 1, 3], ordered=True))
    np.testing.assert_array_equal(pane.visible_indices(), [5, 1, 3])
    pane.set_class_filter(0)  # cat: samples 0-3
    np.testing.assert_array_equal(pane.visible_indices(), [1, 3])
    assert pane.filters.class_combo.currentText() == "cat (2)"  # counts within the selection

    pane.filters.clear_selection.click()
    assert app_state.selection is None
    np.testing.assert_array_equal(pane.visible_indices(), [0, 1, 2, 3])
    assert not pane.filters.selection_chip.isVisibleTo(pane)


def test_predictions_mark_right_and_wrong_tiles_and_wrong_only_filters(pane, image_folder, open_folder, app_state):
    dataset = open_folder(image_folder)
    assert not pane.filters.wrong_only.isEnabled()
    predicted = dataset.targets.copy()
    predicted[[1, 5]] = [2, 0]  # a cat taken for a fox, a dog for a cat
    app_state.set_predictions(predictions_for(dataset, predicted))

    outcome = rows_data(pane, OutcomeRole)
    assert [i for i, o in enumerate(outcome) if o == WRONG] == [1, 5]
    assert all(o == RIGHT for i, o in enumerate(outcome) if i not in (1, 5))
    assert rows_data(pane, PredictionRole)[1] == "fox"
    assert pane.filters.wrong_only.isEnabled()
    pane.filters.wrong_only.setChecked(True)
    np.testing.assert_array_equal(pane.visible_indices(), [1, 5])


def test_live_predictions_repaint_tiles_without_decoding_again(qtbot, pane, image_folder, open_folder, app_state):
    dataset = open_folder(image_folder)
    pane.show()
    qtbot.waitExposed(pane)
    qtbot.waitUntil(lambda: len(pane.loader) == len(dataset))
    decodes = []
    original = dataset.load_image
    dataset.load_image = lambda i: decodes.append(i) or original(i)

    done = np.zeros(len(dataset), dtype=bool)
    done[:4] = True
    predictions = predictions_for(dataset, np.zeros(len(dataset), dtype=np.int64), done)
    app_state.set_predictions(predictions)
    assert rows_data(pane, OutcomeRole)[:5] == [RIGHT] * 4 + [UNKNOWN]

    predictions.scores[4:] = predictions_for(dataset, np.zeros(len(dataset), dtype=np.int64)).scores[4:]
    predictions.done[:] = True  # the next batch of the same run
    app_state.set_predictions(predictions)
    assert rows_data(pane, OutcomeRole)[4] == WRONG
    pane.view.viewport().repaint()  # paints every tile now: each must come from the cache
    assert decodes == []


def test_corrupt_image_shows_an_error_tile_and_is_counted(qtbot, pane, image_folder, open_folder, app_state):
    bad = image_folder / "test" / "dog" / "001.png"
    bad.write_bytes(b"this is not an image")
    dataset = open_folder(image_folder)
    row = dataset.sample_ids.index("test/dog/001.png")
    messages = []
    app_state.message.connect(messages.append)
    with qtbot.waitSignal(pane.failed_count_changed, timeout=5000) as blocker:
        pane.show()
    assert blocker.args == [1]
    assert "001.png" in rows_data(pane, ErrorRole)[row]
    assert [r for r, e in enumerate(rows_data(pane, ErrorRole)) if e] == [row]
    assert "cannot be read" in rows_data(pane, Qt.ItemDataRole.ToolTipRole)[row]
    assert "not an image: a text file" in rows_data(pane, Qt.ItemDataRole.ToolTipRole)[row]
    assert short_reason(rows_data(pane, ErrorRole)[row]) == "not an image: a text file"  # what the tile says
    assert pane.filters.failed.text() == "⚠ 1 unreadable"
    qtbot.waitUntil(lambda: bool(messages), timeout=3000)
    assert messages[-1].startswith("1 sample could not be read")

    app_state.select_sample(row)
    qtbot.waitUntil(lambda: pane.sample_view.canvas.text.startswith("⚠"))
    assert "001.png" in pane.sample_view.canvas.text


def test_clicking_a_tile_selects_the_sample(qtbot, pane, image_folder, open_folder, app_state):
    dataset = open_folder(image_folder)
    pane.show()
    qtbot.waitExposed(pane)
    rect = pane.view.visualRect(pane.model.index(2))
    with qtbot.waitSignal(app_state.sample_selected) as blocker:
        qtbot.mouseClick(pane.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [2]
    assert pane.sample_view.title.text() == dataset.sample_ids[2]
    qtbot.waitUntil(lambda: pane.sample_view.canvas.image is not None)
    assert pane.sample_view.canvas.image.shape == (8, 8, 3)

    with qtbot.waitSignal(app_state.sample_selected) as blocker:
        qtbot.keyClick(pane.view, Qt.Key.Key_Right)
    assert blocker.args == [3]


def test_sample_view_shows_the_prediction_and_top_classes(pane, image_folder, open_folder, app_state):
    dataset = open_folder(image_folder)
    predicted = dataset.targets.copy()
    predicted[1] = 2
    app_state.set_predictions(predictions_for(dataset, predicted))
    app_state.select_sample(1)
    view = pane.sample_view
    assert view.label.text() == "Label: cat"
    assert view.prediction.text() == "Prediction: fox (70.0%)"
    assert "color: #da3633" in view.prediction.styleSheet()  # red: wrong
    assert [name for name, _, _ in view.topk.rows] == ["fox", "cat", "dog"]
    assert [is_label for _, _, is_label in view.topk.rows] == [False, True, False]


def test_selecting_a_sample_elsewhere_highlights_its_tile(pane, image_folder, open_folder, app_state):
    open_folder(image_folder)
    app_state.select_sample(6)
    assert pane.view.currentIndex().data(IndexRole) == 6


def test_search_narrows_to_matching_ids(pane, image_folder, open_folder):
    dataset = open_folder(image_folder)
    pane.set_search("DOG/")
    np.testing.assert_array_equal(pane.visible_indices(), np.flatnonzero(dataset.targets == 1))


def test_an_empty_grid_says_which_filters_emptied_it(qtbot, pane, image_folder, open_folder):
    dataset = open_folder(image_folder)
    assert pane.view.empty_text == ""
    pane.set_search("[(*?\\")  # typed text is a substring, not a pattern: nothing matches, nothing breaks
    assert len(pane.visible_indices()) == 0
    assert pane.view.empty_text == "No sample matches the search “[(*?\\”."
    pane.filters.class_combo.setCurrentIndex(pane.filters.class_combo.findData(1))
    pane.refilter()
    name = dataset.classes[1]
    assert pane.view.empty_text == f"No sample matches the class filter “{name}” and the search “[(*?\\”."
    assert not pane.view.grab().isNull()  # the text painted across the empty grid
    pane.set_search("")
    assert len(pane.visible_indices()) > 0 and pane.view.empty_text == ""


def test_a_search_typed_while_the_ids_are_indexed_is_answered_when_the_index_lands(
    qtbot, pane, image_folder, open_folder, monkeypatch
):
    """A large dataset's ids are indexed on a worker: a query typed before the index is ready leaves the grid
    as it was (the count says why), then shows exactly the matching samples; the GUI thread never builds it."""
    monkeypatch.setattr(id_index, "IN_PLACE", 0)  # this small folder is indexed as a large one would be
    dataset = open_folder(image_folder)
    assert pane.ids.building and pane.ids.search is None  # the index lands through the event loop only
    pane.set_class_filter(None)
    pane.set_search("DOG/")
    assert len(pane.visible_indices()) == len(dataset) and pane.filters.count.text() == "Indexing ids…"
    qtbot.waitUntil(lambda: pane.ids.search is not None, timeout=5_000)
    np.testing.assert_array_equal(pane.visible_indices(), np.flatnonzero(dataset.targets == 1))
    assert pane.filters.count.text() == f"{np.count_nonzero(dataset.targets == 1)} of {len(dataset)}"
    pane.set_search("cat/")  # later queries answer at once
    np.testing.assert_array_equal(pane.visible_indices(), np.flatnonzero(dataset.targets == 0))


def test_an_index_built_for_a_dataset_no_longer_open_is_dropped(qtbot, pane, image_folder, make_image_folder,
                                                                open_folder, monkeypatch):  # fmt: skip
    monkeypatch.setattr(id_index, "IN_PLACE", 0)
    open_folder(image_folder)
    other = open_folder(make_image_folder("other", {"a": 2, "b": 5}))
    pane.set_search("b/")
    qtbot.waitUntil(lambda: pane.ids.search is not None, timeout=5_000)
    qtbot.wait(100)  # the first dataset's index lands too, and is dropped
    assert len(pane.ids.search) == len(other)
    np.testing.assert_array_equal(pane.visible_indices(), np.flatnonzero(other.targets == 1))


def test_typing_a_search_filters_once_when_typing_pauses(qtbot, pane, image_folder, open_folder):
    dataset = open_folder(image_folder)
    searched = []
    pane.filters.filters_changed.connect(lambda: searched.append(pane.filters.search.text()))
    qtbot.keyClicks(pane.filters.search, "dog/")
    assert searched == [] and len(pane.visible_indices()) == len(dataset)  # not a filter per key
    qtbot.waitUntil(lambda: searched == ["dog/"], timeout=5_000)
    np.testing.assert_array_equal(pane.visible_indices(), np.flatnonzero(dataset.targets == 1))
    qtbot.wait(400)
    assert searched == ["dog/"]


def test_new_dataset_resets_the_filters(pane, image_folder, make_image_folder, open_folder, app_state):
    dataset = open_folder(image_folder)
    app_state.set_predictions(predictions_for(dataset, np.zeros(len(dataset), dtype=np.int64)))
    pane.set_class_filter(1)
    pane.set_wrong_only(True)
    assert len(pane.visible_indices()) == 3

    other = open_folder(make_image_folder("other", {"a": 2, "b": 5}))
    assert pane.filters.class_index is None
    assert not pane.filters.wrong_only.isChecked()
    assert not pane.filters.wrong_only.isEnabled()
    np.testing.assert_array_equal(pane.visible_indices(), np.arange(len(other)))
    assert pane.filters.class_combo.currentText() == "All classes (7)"
