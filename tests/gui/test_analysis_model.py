"""The metrics pane's Analysis tab on a real run: the digits model with its embeddings over a copy of the
demo's test split in which the user's edits planted wrong labels; the analysis finds them stage by stage."""

from __future__ import annotations

import numpy as np
import pytest

from core import tasks
from core.analysis import CROSS_VALIDATED, HELD_OUT
from core.datasets import open_dataset
from core.labels import open_project
from core.models.loading import resolve_model
from gui.metrics.analysis_model import TRAINED_NO, TRAINED_YES
from gui.metrics.metrics_pane import MetricsPane

#: Samples whose labels the test sets wrong (one class up), by index.
PLANTED = np.arange(5, 360, 36)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """(dataset root, predictions, embeddings) of digits-cnn over the demo's test split, made once."""
    import shutil

    from cvlens.cli import DEMO_DATASET

    root = tmp_path_factory.mktemp("analysis") / "digits"
    shutil.copytree(DEMO_DATASET / "test", root / "test")
    dataset = open_dataset(root)
    job = tasks.job_for(resolve_model("digits-cnn"), dataset, device="cpu", batch_size=128, embeddings=True)
    job.prepare()
    for _ in job.run():
        pass
    return root, job.predictions, np.asarray(job.embeddings)


@pytest.fixture
def pane(qtbot, app_state, digits_run):
    root, predictions, embeddings = digits_run
    dataset = open_dataset(root)
    project = open_project(dataset)
    wrong = (dataset.targets[PLANTED] + 1) % 10
    project.set_label(PLANTED, [dataset.classes[int(c)] for c in wrong])
    app_state.set_dataset(dataset, project)
    widget = MetricsPane(app_state)
    qtbot.addWidget(widget)
    yield widget, app_state, predictions, embeddings
    widget.shutdown()
    project.store.close()


def test_without_embeddings_the_tab_says_what_to_do(pane):
    widget, state, predictions, _ = pane
    view = widget.show_tab("Analysis")
    assert not view.analyse_button.isEnabled() and "Run a model" in view.status.text()
    state.set_predictions(predictions)  # a run without embeddings
    assert not view.analyse_button.isEnabled() and "tick Embeddings" in view.status.text()
    assert not widget.analysis_model.start()


def test_the_analysis_finds_the_planted_labels_stage_by_stage(qtbot, pane):
    widget, state, predictions, embeddings = pane
    model, view = widget.analysis_model, widget.show_tab("Analysis")
    state.set_predictions(predictions, embeddings)
    assert view.analyse_button.isEnabled()
    model.set_trained(TRAINED_NO)  # the digits model never saw the test split: its own predictions count
    stages = []
    model.found.connect(stages.append)
    with qtbot.waitSignal(model.finished, timeout=120_000):
        view.analyse_button.click()
        assert view.cancel_button.isEnabled()
    assert stages[:2] == ["label issues", "duplicates"] and stages[-1] == "map"
    analysis = model.analysis
    found = set(analysis.label_issues.indices[: len(PLANTED) * 2].tolist())
    assert len(found & set(PLANTED.tolist())) >= 0.9 * len(PLANTED)
    assert analysis.source == HELD_OUT
    assert analysis.coords.shape == (360, 2) and np.isfinite(analysis.coords).all() and analysis.map_final
    assert analysis.outliers.indices.shape == (360,)
    assert "label issues" in view.status.text() and view.progress.format() == "done"


def test_a_new_run_drops_the_analysis_and_cancel_stops_it(qtbot, pane):
    widget, state, predictions, embeddings = pane
    model, view = widget.analysis_model, widget.show_tab("Analysis")
    state.set_predictions(predictions, embeddings)
    model.set_trained(TRAINED_YES)  # cross-validated: slower, time to cancel
    with qtbot.waitSignal(model.cancelled, timeout=10_000):
        assert model.start()
        model.cancel()
    assert not model.running and view.analyse_button.isEnabled()
    with qtbot.waitSignal(model.finished, timeout=120_000):
        model.start()
    assert model.analysis is not None and model.analysis.source == CROSS_VALIDATED
    with qtbot.waitSignal(model.reset, timeout=1_000):
        state.set_predictions(None)
    assert model.analysis is None and not view.analyse_button.isEnabled()


def test_the_duplicates_threshold_refinds_pairs_without_a_new_search(qtbot, pane):
    widget, state, predictions, embeddings = pane
    model = widget.analysis_model
    state.set_predictions(predictions, embeddings)
    with qtbot.waitSignal(model.finished, timeout=120_000):
        model.start()
    analysis = model.analysis
    neighbours = analysis.neighbours
    before = len(analysis.duplicates)
    with qtbot.waitSignal(model.duplicates_changed, timeout=1_000):
        model.set_max_distance(analysis.calibrated_distance * 20)
    assert analysis.neighbours is neighbours and len(analysis.duplicates) > before


def _run(dataset):
    job = tasks.job_for(resolve_model("digits-cnn"), dataset, device="cpu", batch_size=256, embeddings=True)
    job.prepare()
    for _ in job.run():
        pass
    return job.predictions, np.asarray(job.embeddings)


def _shown(qtbot, state, project, predictions, embeddings, run):
    state.set_dataset(project.dataset, project)
    state.set_predictions(predictions, embeddings)
    state.set_saved_run(run, predictions)
    widget = MetricsPane(state)
    qtbot.addWidget(widget)
    return widget


def test_a_kept_run_of_another_split_finds_a_leak(qtbot, app_state, tmp_path):
    """A training image copied into the test split is a leak once the train split's run (kept in the project
    with its embeddings) joins the analysis."""
    import shutil

    from cvlens.cli import DEMO_DATASET

    root = tmp_path / "digits"
    shutil.copytree(DEMO_DATASET, root)
    source = sorted((root / "train" / "3").iterdir())[0]
    shutil.copy(source, root / "test" / "3" / "leaked.png")
    project = open_project(open_dataset(root, split="test"))
    train = project.for_split("train")
    train_predictions, train_embeddings = _run(train.dataset)
    wrong = (train.dataset.targets[:2] + 5) % 10  # two training labels set wrong: issues of the other split
    train.set_label([0, 1], [train.dataset.classes[int(c)] for c in wrong])
    assert train.save_run(train_predictions, embeddings=train_embeddings).has_embeddings
    predictions, embeddings = _run(project.dataset)
    shown = project.save_run(predictions, embeddings=embeddings)
    widget = _shown(qtbot, app_state, project, predictions, embeddings, shown)
    model = widget.analysis_model
    try:
        with qtbot.waitSignal(model.finished, timeout=180_000):
            assert model.start()
        analysis, test = model.analysis, project.dataset
        assert len(analysis) == len(test) + len(train.dataset) and set(analysis.input.splits) == {"test", "train"}
        leaked = test.sample_ids.index("test/3/leaked.png")
        twin = len(test) + train.dataset.sample_ids.index(f"train/3/{source.name}")
        pairs = analysis.duplicates
        exact = {frozenset((int(a), int(b))) for a, b, e in zip(pairs.a, pairs.b, pairs.exact) if e}
        assert frozenset((leaked, twin)) in exact and pairs.leak[pairs.exact].all()
        assert project.load_run_map(shown) is None  # a map of two splits is not the shown run's alone
        # the Label issues view lists the open split's issues; the train split's are reviewed there
        view, issues = widget.label_issues, analysis.label_issues
        in_train = int((issues.indices >= len(test)).sum())
        assert in_train >= 2  # the two training labels set wrong
        assert len(view.issues.indices) == len(issues.indices) - in_train and view.elsewhere == in_train
        assert view.table_model.rowCount() == len(view.issues.indices)
    finally:
        widget.shutdown()
        project.store.close()


def test_the_map_of_a_kept_run_is_kept_and_shown_at_once_next_time(qtbot, app_state, digits):
    project = open_project(open_dataset(digits))
    predictions, embeddings = _run(project.dataset)
    shown = project.save_run(predictions, embeddings=embeddings)
    widget = _shown(qtbot, app_state, project, predictions, embeddings, shown)
    model = widget.analysis_model
    try:
        with qtbot.waitSignal(model.finished, timeout=180_000):
            model.start()
        coords, method = project.load_run_map(shown)
        assert np.array_equal(coords, model.analysis.coords) and method == model.analysis.coords_method
        stages = []
        model.found.connect(stages.append)
        with qtbot.waitSignal(model.finished, timeout=180_000):
            model.start()
        assert stages == ["map", "label issues", "duplicates"]  # the kept map first, no new layout
        assert np.array_equal(model.analysis.coords, coords) and model.analysis.map_final
    finally:
        widget.shutdown()
        project.store.close()
