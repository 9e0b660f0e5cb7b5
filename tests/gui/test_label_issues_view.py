"""Analysis > Label issues on real runs: the digits model over a copy of the demo's test split with wrong labels
planted by project edits (and the scene-tags model for multilabel); A / K / X as undoable store edits, the
metrics following, the confusion matrix's "Label issues in this cell", and a dataset without a store."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication

from core import tasks
from core.analysis.issue_review import ACCEPTED, EXCLUDED_ISSUE, KEPT, OPEN
from core.datasets import open_dataset
from core.labels import open_project
from core.labels.values import EXCLUDED, REVIEWED
from core.models.loading import resolve_model
from cvlens.cli import DEMO_DATASET
from gui.metrics.analysis_model import TRAINED_NO
from gui.metrics.label_issues_table import GIVEN, STATE, SUGGESTED, THUMBNAIL, IndexRole
from gui.metrics.label_issues_view import NO_STORE
from gui.metrics.metrics_pane import MetricsPane
from gui.state import labeled_view

#: Samples whose labels the test sets wrong (one class up), by index.
PLANTED = np.arange(5, 360, 36)
SCENE_TAGS = DEMO_DATASET.parent / "scene_tags"


def run_with_embeddings(root, model: str):
    """(predictions, embeddings) of ``model`` over the dataset at ``root``, on the CPU."""
    job = tasks.job_for(resolve_model(model), open_dataset(root), device="cpu", batch_size=128, embeddings=True)
    job.prepare()
    for _ in job.run():
        pass
    return job.predictions, np.asarray(job.embeddings)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("issues") / "digits"
    shutil.copytree(DEMO_DATASET / "test", root / "test")
    return root, *run_with_embeddings(root, "digits-cnn")


def own_copy(run, tmp_path):
    """A copy of the run's dataset for one test, so that its project store starts empty."""
    root = tmp_path / "digits"
    shutil.copytree(run[0], root, ignore=shutil.ignore_patterns(".cvlens*"))
    return root


def analysed(qtbot, widget: MetricsPane):
    """The pane after its analysis found the label issues (the model never saw this split)."""
    model = widget.analysis_model
    widget.show_tab("Analysis")
    model.set_trained(TRAINED_NO)
    with qtbot.waitSignal(model.finished, timeout=120_000):
        assert model.start()
    return widget.label_issues


@pytest.fixture
def pane(qtbot, app_state, digits_run, tmp_path):
    """(MetricsPane, state, project) on the digits copy with PLANTED relabeled one class up, the run shown."""
    _root, predictions, embeddings = digits_run
    dataset = open_dataset(own_copy(digits_run, tmp_path))
    project = open_project(dataset)
    wrong = (dataset.targets[PLANTED] + 1) % 10
    project.set_label(PLANTED, [dataset.classes[int(c)] for c in wrong])
    app_state.set_dataset(dataset, project)
    widget = MetricsPane(app_state)
    qtbot.addWidget(widget)
    widget.resize(700, 600)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()  # the keys are shortcuts: they work in the active window
    qtbot.waitUntil(widget.isActiveWindow)
    app_state.set_predictions(predictions, embeddings)
    qtbot.waitUntil(lambda: widget.report is not None, timeout=10_000)
    yield widget, app_state, project
    widget.shutdown()
    project.store.close()


def column(view, col: int) -> list[str]:
    table = view.table_model
    return [table.index(r, col).data() for r in range(table.rowCount())]


def test_the_table_lists_the_planted_issues_first_with_thumbnails(qtbot, pane):
    widget, state, _project = pane
    view = analysed(qtbot, widget)
    table = view.table_model
    assert view.stack.currentIndex() == 1 and table.rowCount() == len(widget.analysis_model.analysis.label_issues)
    top = {table.index(r, 0).data(IndexRole) for r in range(len(PLANTED))}
    assert len(top & set(PLANTED.tolist())) >= 0.9 * len(PLANTED)
    first = table.index(0, 0).data(IndexRole)
    assert column(view, GIVEN)[0] == state.dataset.classes[int(state.dataset.targets[first])]
    assert set(column(view, STATE)) == {"open"}
    assert "predictions of the model on a split it was not trained on" in view.summary.text()
    assert f"{table.rowCount()} label issues</b>, 0 fixed" in view.summary.text()
    qtbot.waitUntil(lambda: isinstance(table.index(0, THUMBNAIL).data(Qt.DecorationRole), QPixmap), timeout=10_000)
    # a row opens its sample in the browser; "Show in browser" selects them all, most suspect first
    view.table.selectRow(2)
    assert state.current == table.index(2, 0).data(IndexRole)
    view.browser_button.click()
    assert state.selection.ordered and state.selection.indices.tolist() == table.dataset_indices().tolist()


def test_keys_a_k_x_edit_the_store_one_undo_step_each_and_the_metrics_follow(qtbot, pane):
    widget, state, project = pane
    view = analysed(qtbot, widget)
    table, keys = view.table_model, view.table
    view.open_only.setChecked(False)
    issues = widget.analysis_model.analysis.label_issues
    accuracy = widget.report["accuracy"]
    view.table.selectRow(0)
    keys.setFocus()
    first = table.index(0, 0).data(IndexRole)
    with qtbot.waitSignal(widget.model.decisions_changed, timeout=5_000):
        qtbot.keyClick(keys, Qt.Key_A)
    assert project.targets()[first] == issues.suggested[0] and project.status()[first] == REVIEWED
    assert table.states[0] == ACCEPTED and column(view, STATE)[0] == "accepted"
    assert widget.report["accuracy"] > accuracy  # the model was right: the fixed label agrees with it now
    assert keys.currentIndex().row() == 1 and state.current == table.index(1, 0).data(IndexRole)
    qtbot.keyClick(keys, Qt.Key_K)
    second = table.index(1, 0).data(IndexRole)
    assert project.status()[second] == REVIEWED and table.states[1] == KEPT
    qtbot.keyClick(keys, Qt.Key_X)
    third = table.index(2, 0).data(IndexRole)
    assert project.status()[third] == EXCLUDED and table.states[2] == EXCLUDED_ISSUE
    assert "3 fixed (1 accepted, 1 kept, 1 excluded)" in view.summary.text()
    project.undo()  # each key was one step
    assert table.states[:3].tolist() == [ACCEPTED, KEPT, OPEN] and project.status()[third] == 0
    project.undo()
    assert table.states[:3].tolist() == [ACCEPTED, OPEN, OPEN]
    project.undo()
    assert (table.states == OPEN).all() and project.targets()[first] == issues.given[0]
    qtbot.waitUntil(lambda: widget.report["accuracy"] == accuracy, timeout=5_000)


def test_only_open_issues_hides_the_decided_ones_and_the_keys_move_on(qtbot, pane):
    widget, _state, project = pane
    view = analysed(qtbot, widget)
    table = view.table_model
    total = table.rowCount()
    view.open_only.setChecked(True)
    view.table.selectRow(0)
    second = table.index(1, 0).data(IndexRole)
    assert view.accept()
    assert table.rowCount() == total - 1 and table.index(0, 0).data(IndexRole) == second
    assert view.table.currentIndex().row() == 0
    project.undo()
    assert table.rowCount() == total


def test_label_issues_in_this_cell_filters_given_and_suggested(qtbot, pane):
    widget, state, _project = pane
    issues_before = widget.label_issues
    shown = widget.analysis_model.analysis  # none yet: the view says to analyse first
    assert shown is None
    target = int(state.dataset.targets[PLANTED[0]])
    true_class, pred_class = target, (target - 1) % 10  # planted one up: the model says the class below
    qtbot.waitUntil(lambda: widget.matrix.classes != [], timeout=5_000)
    menu = widget.matrix_view.cell_menu(true_class, pred_class)
    action = next(a for a in menu.actions() if a.text() == "Label Issues in This Cell")
    action.trigger()
    assert widget.current_view() is widget.analysis and widget.analysis.tabs.currentWidget() is issues_before
    assert "Analyse first" in issues_before.empty.text() and issues_before.analyse_button.isVisibleTo(widget)
    view = analysed(qtbot, widget)
    assert view.filters() == (true_class, pred_class)
    given, suggested = column(view, GIVEN), column(view, SUGGESTED)
    names = state.dataset.classes
    assert given and set(given) == {names[true_class]} and set(suggested) == {names[pred_class]}
    assert PLANTED[0] in view.table_model.dataset_indices()
    # a right-click on a cell opens its menu (closed here from a timer: it runs its own event loop)
    widget.show_tab("Matrix")
    menus = []
    QTimer.singleShot(300, lambda: menus.append(QApplication.activePopupWidget()) or menus[0].close())
    with qtbot.waitSignal(widget.matrix.cell_menu_requested, timeout=5_000) as got:
        at = widget.matrix.cell_center(true_class, pred_class)
        qtbot.mouseClick(widget.matrix.viewport(), Qt.RightButton, pos=at)
    assert got.args[:2] == [true_class, pred_class] and isinstance(got.args[2], QPoint)
    assert "Label Issues in This Cell" in [a.text() for a in menus[0].actions()]
    widget.show_label_issues(0, 0)  # a cell without issues: an empty list, said so
    assert view.table_model.rowCount() == 0 and "none with these filters" in view.summary.text()
    assert not view.browser_button.isEnabled()


def test_without_a_store_the_keys_say_so_and_change_nothing(qtbot, app_state, digits_run, tmp_path):
    _root, predictions, embeddings = digits_run
    dataset = open_dataset(own_copy(digits_run, tmp_path))
    project = open_project(dataset)
    project.set_label(PLANTED, [dataset.classes[int(c)] for c in (dataset.targets[PLANTED] + 1) % 10])
    app_state.set_dataset(labeled_view(dataset, project))  # the wrong labels, but no store to change them in
    project.store.close()
    app_state.set_predictions(predictions, embeddings)
    widget = MetricsPane(app_state)
    qtbot.addWidget(widget)
    view = analysed(qtbot, widget)
    assert not view.notice.isHidden() and "cannot be changed" in view.notice.text()  # said before a key
    messages = []
    app_state.message.connect(messages.append)
    labels = app_state.dataset.targets.copy()
    assert view.table_model.rowCount() >= len(PLANTED) // 2
    view.table.selectRow(0)
    assert not view.accept() and not view.keep() and not view.exclude()
    assert (app_state.dataset.targets == labels).all() and messages == [NO_STORE] * 3
    assert set(column(view, STATE)) == {"open"}
    widget.shutdown()


@pytest.fixture(scope="module")
def scene_tags_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tags") / "scene_tags"
    shutil.copytree(SCENE_TAGS, root)
    return root, *run_with_embeddings(open_dataset(root, split="test").root, "scene-tags-cnn")


def test_multilabel_issues_show_tags_and_a_takes_the_suggested_tags(qtbot, app_state, scene_tags_run):
    root, predictions, embeddings = scene_tags_run
    dataset = open_dataset(root, split="test")
    assert len(dataset) == len(predictions)
    project = open_project(dataset)
    planted = np.arange(3, 200, 20)
    project.set_tags(planted, 1 - project.tags()[planted])  # every tag of these samples turned around
    app_state.set_dataset(dataset, project)
    app_state.set_predictions(predictions, embeddings)
    widget = MetricsPane(app_state)
    qtbot.addWidget(widget)
    try:
        view = analysed(qtbot, widget)
        table = view.table_model
        issues = widget.analysis_model.analysis.label_issues
        assert table.rowCount() == len(issues) > 0
        top = {table.index(r, 0).data(IndexRole) for r in range(len(planted))}
        assert len(top & set(planted.tolist())) >= 0.5 * len(planted)
        row = next(r for r in range(table.rowCount()) if issues.given[r].sum() >= 2)
        names = [dataset.classes[k] for k in np.flatnonzero(issues.given[row])]
        assert column(view, GIVEN)[row] == ", ".join(names)
        view.table.selectRow(row)
        index = table.index(row, 0).data(IndexRole)
        assert view.accept()
        assert (project.tags()[index] > 0).tolist() == issues.suggested[row].tolist()
        assert table.states[row] == ACCEPTED
        project.undo()
        assert table.states[row] == OPEN
    finally:
        widget.shutdown()
        project.store.close()


def test_in_the_window_a_takes_the_suggestion_and_edit_undo_takes_it_back(qtbot, open_window, digits_run, tmp_path):
    _root, predictions, embeddings = digits_run
    window = open_window(own_copy(digits_run, tmp_path), size=(1366, 768))
    state = window.state
    state.project.set_label(PLANTED, [state.dataset.classes[int(c)] for c in (state.dataset.targets[PLANTED] + 1) % 10])
    state.set_predictions(predictions, embeddings)
    view = analysed(qtbot, window.metrics)
    view.table.selectRow(0)
    view.table.setFocus()
    first, suggested = view.table_model.index(0, 0).data(IndexRole), view.table_model.issues.suggested[0]
    qtbot.keyClick(view.table, Qt.Key_A)
    assert state.dataset.targets[first] == suggested and view.table_model.states[0] == ACCEPTED
    assert "accept the suggestion" in window.labeling.actions.undo.text()
    window.labeling.actions.undo.trigger()  # Edit > Undo, as Ctrl+Z
    assert state.dataset.targets[first] != suggested and view.table_model.states[0] == OPEN
