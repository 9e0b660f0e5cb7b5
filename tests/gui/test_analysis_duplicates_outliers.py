"""The Analysis tab's Duplicates and Outliers views on a real run: the digits model with its embeddings over a
copy of the demo's test split with planted faults (an exact copy of an image under a new name, a copy with
two pixels changed, images of random pixels), and a leak across splits in an analysis built by hand."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from core import tasks
from core.analysis.report import AnalysisInput
from core.analysis.rows import AnalysisRows
from core.analysis.session import RunAnalysis
from core.datasets import open_dataset
from core.labels import open_project
from core.labels.values import STATUSES
from core.models.loading import resolve_model
from gui.metrics.analysis_model import TRAINED_NO, AnalysisModel
from gui.metrics.duplicates_view import SLIDER_STEPS, DuplicatesView
from gui.metrics.metrics_pane import MetricsPane
from gui.metrics.outliers_view import OutliersView

NOISE = 8
EXCLUDED = STATUSES.index("excluded")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """(root, predictions, embeddings, names) of digits-cnn over a copy of the digits with planted faults."""
    from cvlens.cli import DEMO_DATASET

    root = tmp_path_factory.mktemp("dups") / "digits"
    shutil.copytree(DEMO_DATASET, root, ignore=shutil.ignore_patterns(".*"))
    test = root / "test"
    original = sorted((test / "3").iterdir())[0]
    shutil.copy(original, test / "3" / "zz_copy.png")  # the same pixels under another name
    near_source = sorted((test / "7").iterdir())[0]
    image = cv2.imread(str(near_source), cv2.IMREAD_UNCHANGED)
    image[0, 0] = np.clip(image[0, 0].astype(int) + 9, 0, 255)  # two pixels of a 8 x 8 image a little brighter
    image[7, 7] = np.clip(image[7, 7].astype(int) + 9, 0, 255)
    cv2.imwrite(str(test / "7" / "zz_near.png"), image)
    rng = np.random.default_rng(1)
    for k in range(NOISE):  # random pixels, filed under a digit
        cv2.imwrite(str(test / str(k) / f"zz_noise{k}.png"), rng.integers(0, 256, image.shape, dtype=np.uint8))
    dataset = open_dataset(root)
    job = tasks.job_for(resolve_model("digits-cnn"), dataset, device="cpu", batch_size=128, embeddings=True)
    job.prepare()
    for _ in job.run():
        pass
    names = {
        "original": f"test/3/{original.name}",
        "copy": "test/3/zz_copy.png",
        "near_source": f"test/7/{near_source.name}",
        "near": "test/7/zz_near.png",
        "noise": [f"test/{k}/zz_noise{k}.png" for k in range(NOISE)],
    }
    return root, job.predictions, np.asarray(job.embeddings), names


@pytest.fixture
def views(qtbot, app_state, planted):
    """(duplicates view, outliers view, analysis model, state) on the planted digits, not yet analysed."""
    root, predictions, embeddings, _ = planted
    dataset = open_dataset(root)
    project = open_project(dataset)
    app_state.set_dataset(dataset, project)
    model = AnalysisModel(app_state)
    duplicates, outliers = DuplicatesView(model), OutliersView(model)
    for view in (duplicates, outliers):
        qtbot.addWidget(view)
    app_state.set_predictions(predictions, embeddings)
    model.set_trained(TRAINED_NO)
    yield duplicates, outliers, model, app_state
    model.cancel()
    duplicates.shutdown()
    outliers.shutdown()
    project.store.close()


def analyse(qtbot, model) -> None:
    """Start the analysis and wait for its duplicates and outliers."""
    with qtbot.waitSignal(model.found, timeout=120_000, check_params_cb=lambda stage: stage == "duplicates"):
        assert model.start()


def ids_of(view: DuplicatesView, list_row: int) -> tuple[str, str]:
    return tuple(view.rows.sample_id(r) for r in view.pairs.sides(list_row))


def test_the_planted_copies_are_listed_first_side_by_side(qtbot, views, planted):
    dups, _, model, _ = views
    names = planted[3]
    assert dups.pairs.rowCount() == 0 and not dups.slider.isEnabled()
    analyse(qtbot, model)
    assert dups.slider.isEnabled() and dups.pairs.rowCount() >= 2
    assert set(ids_of(dups, 0)) == {names["original"], names["copy"]}
    assert bool(dups.pairs.pairs.exact[dups.pairs.pair(0)])
    listed = [set(ids_of(dups, i)) for i in range(min(5, dups.pairs.rowCount()))]
    assert {names["near_source"], names["near"]} in listed  # the changed pixels: near, not exact
    assert dups.pairs.rowCount() <= 10  # no flooding at the calibrated threshold
    assert "calibrated" in dups.threshold_label.text() and "exact" in dups.summary.text()
    a, b = dups.pairs.sides(0)
    qtbot.waitUntil(lambda: dups.thumbnails.thumbnail(a) is not None and dups.thumbnails.thumbnail(b) is not None)
    assert dups.thumbnails.thumbnail(a).width() >= 96  # an 8 x 8 digit, shown large enough to compare
    assert dups.thumbnails.thumbnail(a).toImage() == dups.thumbnails.thumbnail(b).toImage()


def test_the_slider_refinds_pairs_without_a_new_search(qtbot, views):
    dups, _, model, _ = views
    analyse(qtbot, model)
    analysis = model.analysis
    neighbours, calibrated = analysis.neighbours, len(analysis.duplicates)
    with qtbot.waitSignal(model.duplicates_changed, timeout=2_000):
        dups.slider.setValue(SLIDER_STEPS)  # thirty times the calibrated distance
        assert "…" in dups.threshold_label.text()  # debounced: the count follows when the user stops
    assert analysis.neighbours is neighbours
    assert analysis.max_distance == pytest.approx(analysis.calibrated_distance * 30, rel=1e-6)
    assert dups.pairs.rowCount() > calibrated and f"{dups.pairs.rowCount():,} pairs" in dups.threshold_label.text()
    with qtbot.waitSignal(model.duplicates_changed, timeout=2_000):
        dups.reset_button.click()
    assert dups.pairs.rowCount() == calibrated and dups.slider.value() == SLIDER_STEPS // 2
    assert analysis.neighbours is neighbours


def test_exclude_a_and_b_are_store_edits_that_undo_restores(qtbot, views):
    dups, _, model, state = views
    dups.resize(900, 600)
    dups.show()
    analyse(qtbot, model)
    project = state.project
    a, b = (state.dataset.sample_ids.index(s) for s in ids_of(dups, 0))
    viewport = dups.list.viewport()
    parts = dups.delegate.geometry(dups.list.visualRect(dups.pairs.index(0)), dups.list.fontMetrics().height())
    qtbot.mouseClick(viewport, Qt.LeftButton, pos=parts["button1"].center())  # "Exclude B"
    assert project.status()[b] == EXCLUDED and project.status()[a] != EXCLUDED
    assert dups.is_excluded(dups.pairs.sides(0)[1]) and not dups.is_excluded(dups.pairs.sides(0)[0])
    qtbot.mouseClick(viewport, Qt.LeftButton, pos=parts["button0"].center())  # "Exclude A": its own step
    assert project.status()[a] == EXCLUDED
    project.undo()
    assert project.status()[a] != EXCLUDED and project.status()[b] == EXCLUDED
    assert not dups.is_excluded(dups.pairs.sides(0)[0])  # the view follows the store's undo
    project.undo()
    assert not dups.is_excluded(dups.pairs.sides(0)[1]) and project.status()[b] != EXCLUDED
    with qtbot.waitSignal(state.sample_selected, timeout=1_000) as opened:
        qtbot.mouseClick(viewport, Qt.LeftButton, pos=parts["thumb1"].center())
    assert opened.args == [b]


def test_show_in_browser_selects_the_members_pair_by_pair(qtbot, views):
    dups, _, model, state = views
    analyse(qtbot, model)
    dups.show_button.click()
    selection = state.selection
    assert selection.ordered
    first = [state.dataset.sample_ids[i] for i in selection.indices[:2]]
    assert first == list(ids_of(dups, 0))
    assert len(selection) == len(set(selection.indices.tolist())) == len(dups.pairs.members())


def test_planted_noise_ranks_first_among_outliers(qtbot, views, planted):
    _, outs, model, state = views
    names = planted[3]
    analyse(qtbot, model)
    table = outs.outliers
    assert table.rowCount() == len(state.dataset)
    ranks = [r for r in range(table.rowCount()) if table.data(table.index(r, 1)) in names["noise"]]
    # Random pixels on 8 x 8 digits are unusual, but so are a few badly written digits: all noise ranks in
    # the top 10%, and at least three of eight in the top 20 of 369 (chance would put 0.4 there).
    assert len(ranks) == NOISE and max(ranks) < 0.1 * table.rowCount() and sum(r < 20 for r in ranks) >= 3, ranks
    scores = [float(table.data(table.index(r, 3))) for r in range(20)]
    assert scores == sorted(scores, reverse=True)
    assert table.data(table.index(0, 4)).endswith("×") and table.data(table.index(0, 5))
    first = table.row_of(0)
    assert table.data(table.index(0, 6)) == state.dataset.classes[state.dataset.targets[first]]
    assert table.data(table.index(0, 7)) in state.dataset.classes
    outs.top.setValue(NOISE)
    outs.show_button.click()
    assert state.selection.ordered and list(state.selection.indices) == list(table.outliers.indices[:NOISE])
    with qtbot.waitSignal(state.sample_selected, timeout=1_000) as opened:
        outs.table.clicked.emit(table.index(2, 1))
    assert opened.args == [table.row_of(2)]


def test_x_excludes_the_selected_outliers_in_one_undoable_step(qtbot, views):
    _, outs, model, state = views
    outs.show()
    analyse(qtbot, model)
    outs.table.selectRow(0)
    outs.table.setFocus()
    first = outs.outliers.row_of(0)
    qtbot.keyClick(outs.table, Qt.Key_X)
    assert state.project.status()[first] == EXCLUDED
    assert outs.outliers.data(outs.outliers.index(0, 8)) == "excluded"
    qtbot.keyClick(outs.table, Qt.Key_X)  # X again takes the mark back, as in the browser
    assert state.project.status()[first] != EXCLUDED
    state.project.undo()
    assert state.project.status()[first] == EXCLUDED
    state.project.undo()
    assert state.project.status()[first] != EXCLUDED and outs.outliers.data(outs.outliers.index(0, 8)) == ""


def test_sorting_by_a_part_of_the_score_orders_what_show_in_browser_selects(qtbot, views):
    _, outs, model, state = views
    analyse(qtbot, model)
    table = outs.outliers
    outs.table.selectRow(3)
    chosen = table.row_of(3)
    outs.table.sortByColumn(5, Qt.DescendingOrder)  # OOD
    ood = [float(table.data(table.index(r, 5))) for r in range(30)]
    assert ood == sorted(ood, reverse=True) and ood[0] == pytest.approx(np.nanmax(table.outliers.ood), abs=1e-3)
    assert outs.selected_rows() == [chosen]  # the selection follows its sample
    assert table.data(table.index(0, 0)) == str(int(table.rank[table.row_of(0)]) + 1)  # its rank by the score
    outs.top.setValue(5)
    outs.show_button.click()
    assert list(state.selection.indices) == [table.row_of(r) for r in range(5)] and "by OOD" in state.selection.name
    outs.table.sortByColumn(1, Qt.AscendingOrder)  # by sample id
    ids = [table.data(table.index(r, 1)) for r in range(table.rowCount())]
    assert ids == sorted(ids)
    outs.table.sortByColumn(0, Qt.AscendingOrder)  # by rank: the most unusual first again
    assert list(table.order) == list(table.outliers.indices)


def test_the_views_clear_on_a_new_run(qtbot, views, planted):
    dups, outs, model, state = views
    analyse(qtbot, model)
    assert dups.pairs.rowCount() and outs.outliers.rowCount()
    with qtbot.waitSignal(model.reset, timeout=1_000):
        state.set_predictions(None)
    assert dups.pairs.rowCount() == 0 and outs.outliers.rowCount() == 0
    assert not dups.slider.isEnabled() and not outs.show_button.isEnabled()
    assert "Analyse" in dups.summary.text()


def two_split_analysis(state, planted) -> tuple[RunAnalysis, int]:
    """A RunAnalysis over the open test split plus one training image whose embedding is that of test row 0
    (as the model would embed a copy of it): a leak. Returns it and the training row."""
    root, predictions, embeddings, _ = planted
    train = open_dataset(root, split="train")
    n = len(predictions)
    train_id = train.sample_ids[5]
    inp = AnalysisInput(
        sample_ids=[*predictions.sample_ids, train_id],
        splits=np.array(["test"] * n + ["train"]),
        classes=list(predictions.classes),
        embeddings=np.concatenate([embeddings, embeddings[:1]]),
        probabilities=np.concatenate([predictions.scores, predictions.scores[:1]]),
        predicted=np.ones(n + 1, bool),
        labels=np.concatenate([state.dataset.targets, train.targets[5:6]]),
    )
    analysis = RunAnalysis(inp)
    analysis.run(stages=("duplicates",))
    return analysis, n


def test_a_leak_shows_the_image_of_the_other_split(qtbot, views, planted):
    dups, outs, model, state = views
    analysis, train_row = two_split_analysis(state, planted)
    model.analysis = analysis  # as AnalysisModel.start would leave it, once rows of other splits are analysed
    model.found.emit("duplicates")
    leaks = np.flatnonzero(dups.pairs.pairs.leak)
    assert len(leaks) == 1 and train_row in dups.pairs.sides(int(leaks[0]))
    dups.leaks_only.setChecked(True)
    assert dups.pairs.rowCount() == 1 and dups.pairs.sides(0) == (train_row, 0)  # the training image first
    assert "1 leak across splits" in dups.summary.text()
    qtbot.waitUntil(lambda: dups.thumbnails.thumbnail(train_row) is not None, timeout=5_000)
    train = open_dataset(planted[0], split="train")
    assert np.array_equal(dups.rows.load_image(train_row), train.load_image(5))
    assert not dups.can_exclude(train_row) and dups.can_exclude(0)
    assert "in the train split: open that split" in dups.exclude_tip(train_row)
    messages = []
    state.message.connect(messages.append)
    assert not dups.toggle_excluded(0, 0) and "not in the open split" in messages[-1]
    dups.open_side(0, 0)
    assert "train split" in messages[-1] and state.current is None
    assert outs.rows.split(train_row) == "train" and outs.outliers.rowCount() == len(state.dataset) + 1
    dups.leaks_only.setChecked(False)
    assert dups.pairs.rowCount() == len(analysis.duplicates)


def test_the_pane_has_both_views_in_its_analysis_tab(qtbot, app_state):
    pane = MetricsPane(app_state)
    qtbot.addWidget(pane)
    titles = [pane.analysis.tabs.tabText(i) for i in range(pane.analysis.tabs.count())]
    assert "Duplicates" in titles and "Outliers" in titles
    pane.shutdown()


def test_analysis_rows_find_samples_by_id_when_rows_are_not_in_order(planted):
    root = planted[0]
    test, train = open_dataset(root), open_dataset(root, split="train")
    ids = [test.sample_ids[3], train.sample_ids[0], test.sample_ids[1], "test/9/gone.png"]
    inp = AnalysisInput(
        sample_ids=ids, splits=np.array(["test", "train", "test", "test"]), classes=test.classes,
        embeddings=np.zeros((4, 2)), probabilities=np.zeros((4, 10)), predicted=np.ones(4, bool), labels=None,
    )  # fmt: skip
    rows = AnalysisRows(test, inp)
    assert [rows.open_index(r) for r in range(4)] == [3, -1, 1, -1]
    assert rows.open_indices([2, 1, 0]).tolist() == [1, 3]
    assert np.array_equal(rows.load_image(1), train.load_image(0))
    assert np.array_equal(rows.load_image(0), test.load_image(3))
    with pytest.raises(Exception, match="gone"):
        rows.load_image(3)
