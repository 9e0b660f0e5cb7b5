"""Analysis > Map on a real run: the layout of the digits model's embeddings, linked to the browser both ways."""

from __future__ import annotations

import numpy as np

from core.evaluation.selection import Selection
from gui.metrics.analysis_model import TRAINED_NO
from tests.gui.test_analysis_model import PLANTED, digits_run, pane  # noqa: F401  (fixtures)


def _analysed(qtbot, pane):  # noqa: F811
    widget, state, predictions, embeddings = pane
    state.set_predictions(predictions, embeddings)
    widget.analysis_model.set_trained(TRAINED_NO)
    with qtbot.waitSignal(widget.analysis_model.finished, timeout=120_000):
        widget.analysis_model.start()
    return widget, state, widget.analysis_map


def test_the_map_shows_every_sample_with_the_findings_as_colourings(qtbot, pane):  # noqa: F811
    widget, state, view = _analysed(qtbot, pane)
    analysis = widget.analysis_model.analysis
    assert np.array_equal(view.map.coords, analysis.coords) and view.map.shown.all()
    offered = set(view.map.colourings)
    assert {"True class", "Predicted class", "Right / wrong", "Confidence", "Label quality"} <= offered
    assert {"Label issues", "Outlier score"} <= offered and "Split" not in offered  # one split analysed
    issues = view.map.colourings["Label issues"]
    assert set(np.flatnonzero(issues.values == 0).tolist()) == set(analysis.label_issues.indices.tolist())
    assert set(PLANTED.tolist()) <= set(np.flatnonzero(issues.values == 0).tolist())
    truth = view.map.colourings["True class"].values
    assert np.array_equal(truth[PLANTED], state.dataset.targets[PLANTED])  # the edited labels, as analysed
    assert "label issue" in view.describe(int(PLANTED[0]))


def test_a_lasso_selects_the_browser_and_the_browser_selection_is_highlighted(qtbot, pane):  # noqa: F811
    _widget, state, view = _analysed(qtbot, pane)
    coords = view.map.coords
    centre = coords[PLANTED[0]]
    box = (centre - 0.5 * coords.std(axis=0), centre + 0.5 * coords.std(axis=0))
    inside = np.flatnonzero(((coords >= box[0]) & (coords <= box[1])).all(axis=1))
    square = np.array([box[0], (box[1][0], box[0][1]), box[1], (box[0][0], box[1][1])])
    view.map.select_polygon(square)
    assert state.selection is not None and state.selection.name == f"map: {len(inside):,} samples"
    assert np.array_equal(state.selection.indices, inside)
    view.map.clear_selection()
    assert state.selection is None
    state.set_selection(Selection.of("label = 3", np.flatnonzero(state.dataset.targets == 3)))
    assert np.array_equal(np.sort(view.map.highlighted), np.flatnonzero(state.dataset.targets == 3))
    state.set_selection(None)
    assert view.map.highlighted is None


def test_a_click_on_a_point_opens_its_sample(qtbot, pane):  # noqa: F811
    _widget, state, view = _analysed(qtbot, pane)
    with qtbot.waitSignal(state.sample_selected, timeout=1_000) as opened:
        view.map.sample_clicked.emit(int(PLANTED[1]))
    assert opened.args == [int(PLANTED[1])]


def test_the_map_clears_with_a_new_run(qtbot, pane):  # noqa: F811
    _widget, state, view = _analysed(qtbot, pane)
    state.set_predictions(None)
    assert len(view.map.coords) == 0 and view.rows is None
