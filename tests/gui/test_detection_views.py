"""The metrics views of a detection run: each shows the numbers of its metrics.json, clicks select objects, and
the score threshold is followed everywhere."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core import tasks
from core.datasets.base import Dataset
from core.evaluation.selection import PREDICTION, TRUTH
from core.inference.detections import DetectionPredictions
from core.tasks.base import Task
from gui.metrics.detection_model import DETECTION_VIEWS, reoperate
from gui.metrics.detection_overview import DetectionOverview
from gui.metrics.detection_views import DetectionMetrics, ScoreBox
from gui.metrics.metrics_pane import MetricsPane

CLASSES = ["cat", "dog", "bird"]
CAT, DOG, BIRD = 0, 1, 2
#: Per image: truth (boxes, classes), detections (boxes, scores, classes).
#: img0: a cat found (0.9) and a false cat on background (0.8); img1: a dog called cat (0.7, classification);
#: img2: a bird nobody found; img3: a dog found (0.95) and a cat found at a low score (0.3).
IMAGES = [
    (([[0, 0, 10, 10]], [CAT]), ([[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.8], [CAT, CAT])),
    (([[20, 20, 40, 40]], [DOG]), ([[20, 20, 40, 40]], [0.7], [CAT])),
    (([[0, 0, 30, 30]], [BIRD]), ([], [], [])),
    (([[0, 0, 10, 10], [50, 50, 70, 70]], [CAT, DOG]), ([[50, 50, 70, 70], [0, 0, 10, 10]], [0.95, 0.3], [DOG, CAT])),
]
WAIT_MS = 120_000  # the first background job imports torch (half a minute on a busy machine)


class BoxDataset(Dataset):
    """A detection dataset held in memory, through the real load_boxes / box_extras path of a reader."""

    layout = "in-memory boxes"

    def __init__(self, root, images):
        ids = [f"img{i}.jpg" for i in range(len(images))]
        super().__init__(root, task="detection", classes=CLASSES, splits=[], split=None, sample_ids=ids)
        self.truth = [truth for truth, _ in images]

    def load_boxes(self, index):
        boxes, classes = self.truth[index]
        return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(classes, np.int64)

    def box_extras(self, index):
        return {}


def run_of(dataset, images, done=None):
    run = DetectionPredictions.empty("detection", CLASSES, dataset.sample_ids, model="toy detector")
    for i, (_truth, (boxes, scores, labels)) in enumerate(images):
        if done is None or i in done:
            run.set_image(i, np.asarray(boxes, np.float32).reshape(-1, 4), scores, labels, size=(100, 100))
    return run


@pytest.fixture
def shown(qtbot, app_state, tmp_path):
    """(state, DetectionMetrics) with the toy run shown and its numbers computed."""
    dataset = BoxDataset(tmp_path, IMAGES)
    metrics = DetectionMetrics(app_state)
    for view in metrics.views.values():
        qtbot.addWidget(view)
        view.resize(700, 450)
        view.show()
    app_state.set_dataset(dataset)
    app_state.set_predictions(run_of(dataset, IMAGES))
    qtbot.waitUntil(lambda: metrics.results is not None and not metrics.model.busy, timeout=WAIT_MS)
    yield app_state, metrics
    metrics.shutdown()
    qtbot.waitUntil(lambda: not metrics.model.busy, timeout=WAIT_MS)


def wait_for_threshold(qtbot, metrics, value):
    """Until the views show numbers at ``value`` (to float32's precision: the scores are float32)."""
    qtbot.waitUntil(
        lambda: (
            metrics.results is not None
            and not metrics.model.busy
            and abs(metrics.results.score_threshold - value) < 1e-6
        ),
        timeout=WAIT_MS,
    )


def objects_of(selection):
    """{(sample, source, object, kind)} of a Selection of objects."""
    refs = selection.objects
    return set(zip(refs.samples.tolist(), refs.sources.tolist(), refs.objects.tolist(), refs.kinds))


# -- the numbers of a given metrics.json ---------------------------------------------------------------------
SUMMARY = {
    "classes": ["cat", "dog"],
    **{"map": 0.4123, "map_50": 0.75, "map_75": 0.25, "map_small": -1, "map_medium": 0.5, "map_large": 0.125},
    **{"mar_1": 0.3, "mar_10": 0.4, "mar_100": 0.45},
    "ap": {"cat": 0.6, "dog": -1},
    "ap_50": {"cat": 0.9, "dog": -1},
    "pr_curves": {
        "cat": {
            "recall": [0.5, 1.0],
            "precision": [1.0, 0.5],
            "scores": [0.9, 0.2],
            "best_f1": {"score": 0.9, "precision": 1.0, "recall": 0.5, "f1": 0.667},
        },
        "dog": {"recall": [], "precision": [], "scores": [], "best_f1": {"score": None, "f1": None}},
    },
    "per_class": {
        "cat": {"objects": 2, "detections": 4, "tp": 1, "fp": 3, "fn": 1},
        "dog": {"objects": 0, "detections": 1, "tp": 0, "fp": 1, "fn": 0},
    },
    "score_threshold": 0.5,
}


def test_overview_shows_the_numbers_of_a_summary_and_a_dash_for_cocoevals_minus_one(qtbot):
    view = DetectionOverview()
    qtbot.addWidget(view)
    view.show_summary(SUMMARY)
    assert "0.412" in view.labels["map"].text() and "0.750" in view.labels["map_50"].text()
    assert "—" in view.labels["map_small"].text() and "-1" in view.labels["map_small"].toolTip()
    assert "0.125" in view.labels["map_large"].text() and "0.450" in view.labels["mar_100"].text()
    header = [view.table.horizontalHeaderItem(c).text() for c in range(view.table.columnCount())]
    rows = {view.table.item(r, 0).text(): r for r in range(view.table.rowCount())}
    cat, dog = rows["cat"], rows["dog"]
    cell = lambda row, name: view.table.item(row, header.index(name))  # noqa: E731
    assert cell(cat, "AP").text() == "0.600" and cell(cat, "AP50").text() == "0.900"
    assert cell(cat, "Objects").text() == "2" and cell(cat, "Dets").text() == "4"
    assert cell(cat, "Best F1 at").text() == "0.900" and cell(cat, "F1").text() == "0.667"
    assert cell(dog, "AP").text() == "—" and "no object of this class" in cell(dog, "AP").toolTip()
    view.table.sortItems(header.index("AP"), Qt.DescendingOrder)
    # the undefined AP sorts as the largest (NumberItem's rule), so descending it comes first
    assert [view.table.item(r, 0).text() for r in range(2)] == ["dog", "cat"]
    view.table.sortItems(header.index("Dets"), Qt.AscendingOrder)
    assert [view.table.item(r, 0).text() for r in range(2)] == ["dog", "cat"]
    assert view.class_at(1) == 0  # the row keeps its class's index whatever the order


class DetectionViews(Task):
    """Until core/tasks/detection.py is merged: a task that asks for the detection views, as the object tasks do."""

    name = "detection"
    views = DETECTION_VIEWS


@pytest.fixture
def detection_task(monkeypatch):
    """The registry's detection task (the stand-in where the lead's module is not there yet)."""
    if "detection" not in tasks.TASKS:
        monkeypatch.setitem(tasks.TASKS, "detection", DetectionViews())
    return tasks.TASKS["detection"]


def test_the_pane_shows_the_detection_tabs_with_the_operating_point_and_the_headline(
    qtbot, app_state, tmp_path, detection_task
):
    assert len(set(DETECTION_VIEWS)) == len(DETECTION_VIEWS)
    pane = MetricsPane(app_state)
    qtbot.addWidget(pane)
    pane.resize(900, 600)
    pane.show()
    dataset = BoxDataset(tmp_path, IMAGES)
    app_state.set_dataset(dataset)
    shown = {pane.tabs.tabText(i) for i in range(pane.tabs.count()) if pane.tabs.isTabVisible(i)}
    assert shown == set(detection_task.views) and set(detection_task.views) <= set(DETECTION_VIEWS)
    assert pane.detection.operating.isVisibleTo(pane) and not pane.threshold.isVisibleTo(pane)
    assert "Run a detector" in pane.summary.text()
    app_state.set_predictions(run_of(dataset, IMAGES))
    qtbot.waitUntil(lambda: pane.detection.results is not None and not pane.is_busy(), timeout=WAIT_MS)
    assert "mAP" in pane.summary.text() and "4 images" in pane.summary.text()
    assert pane.body.currentWidget() is pane.tabs
    assert pane.show_tab("Confusion") is pane.detection.confusion
    assert pane.current_plot() is pane.detection.confusion.matrix
    assert pane.current_view().csv_rows()[0] == ["true \\ predicted", *CLASSES, "background"]
    pane.shutdown()


# -- the run shown, its numbers and clicks --------------------------------------------------------------------
def test_the_run_is_scored_at_the_best_f1_threshold_and_every_view_shows_it(shown):
    _state, metrics = shown
    summary = metrics.results.summary
    assert summary["score_threshold"] == pytest.approx(0.3)  # best pooled F1 (0.6) keeps every detection
    assert summary["num_images"] == 4 and summary["num_objects"] == 5
    matrix = np.asarray(summary["confusion"]["matrix"])
    assert matrix[CAT, CAT] == 2 and matrix[DOG, CAT] == 1 and matrix[BIRD, 3] == 1 and matrix[3, CAT] == 1
    np.testing.assert_array_equal(metrics.confusion.matrix.counts, matrix)
    assert "mAP" in metrics.summary_text() and "4 images" in metrics.summary_text()
    errors = metrics.errors.kind_counts()
    assert errors == [1, 0, 0, 0, 1, 1]  # classification, ..., background, missed
    assert metrics.operating.score.value() == pytest.approx(0.3)
    # per image: most FP + FN first (img1: 2), then most FN (img2's missed bird before img0's false cat)
    ids = [metrics.images.text(r, 0) for r in range(4)]
    assert ids == ["img1.jpg", "img2.jpg", "img0.jpg", "img3.jpg"]
    assert metrics.images.text(3, 1) == "2"  # img3: two TPs
    metrics.images.table.sortByColumn(3, Qt.DescendingOrder)  # most FN first; ties keep the worst-first order
    assert [metrics.images.text(r, 0) for r in range(4)] == ["img1.jpg", "img2.jpg", "img0.jpg", "img3.jpg"]
    metrics.images.table.sortByColumn(1, Qt.DescendingOrder)  # most TP first
    assert [metrics.images.text(r, 0) for r in range(4)] == ["img3.jpg", "img0.jpg", "img1.jpg", "img2.jpg"]


def test_a_class_row_selects_that_classs_objects(qtbot, shown):
    state, metrics = shown
    table = metrics.overview.table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == "cat")
    table.cellClicked.emit(row, 0)
    selection = state.selection
    assert selection.name == "objects of cat"
    assert objects_of(selection) == {
        (0, PREDICTION, 0, "TP"),
        (3, PREDICTION, 1, "TP"),
        (0, PREDICTION, 1, "FP · background"),
        (1, PREDICTION, 0, "FP · classification"),
    }
    assert list(selection.indices) == [0, 3, 1]


def test_a_confusion_cell_selects_its_objects(qtbot, shown):
    state, metrics = shown
    widget = metrics.confusion.matrix
    with qtbot.waitSignal(state.selection_changed, timeout=2000):
        qtbot.mouseClick(widget.viewport(), Qt.LeftButton, pos=widget.cell_center(DOG, CAT))
    # the dog called cat: the object and the detection paired with it
    assert objects_of(state.selection) == {(1, TRUTH, 0, "FN"), (1, PREDICTION, 0, "FP · classification")}
    with qtbot.waitSignal(state.selection_changed, timeout=2000):
        qtbot.mouseClick(widget.viewport(), Qt.LeftButton, pos=widget.cell_center(BIRD, 3))
    assert objects_of(state.selection) == {(2, TRUTH, 0, "FN")}
    with qtbot.assertNotEmitted(state.selection_changed):  # background on background holds nothing
        qtbot.mouseClick(widget.viewport(), Qt.LeftButton, pos=widget.cell_center(3, 3))


def test_an_error_kind_selects_its_objects_of_all_classes_or_one(qtbot, shown):
    state, metrics = shown
    bars = metrics.errors.counts
    with qtbot.waitSignal(state.selection_changed, timeout=2000):
        qtbot.mouseClick(bars.viewport(), Qt.LeftButton, pos=bars.bar_center("background"))
    assert objects_of(state.selection) == {(0, PREDICTION, 1, "FP · background")}
    metrics.errors.class_combo.setCurrentText("bird")
    assert metrics.errors.kind_counts() == [0, 0, 0, 0, 0, 1]
    with qtbot.waitSignal(state.selection_changed, timeout=2000):
        qtbot.mouseClick(bars.viewport(), Qt.LeftButton, pos=bars.bar_center("missed"))
    assert objects_of(state.selection) == {(2, TRUTH, 0, "FN")}
    assert state.selection.name == "missed · bird"


def test_an_image_row_opens_the_sample_and_the_button_lists_them_worst_first(qtbot, shown):
    state, metrics = shown
    with qtbot.waitSignal(state.sample_selected, timeout=2000) as signal:
        table = metrics.images.table
        qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=table.visualRect(table.model().index(1, 0)).center())
    assert signal.args == [2] and state.current == 2  # the second worst is img2
    metrics.images.worst_button.click()
    assert list(state.selection.indices) == [1, 2, 0, 3] and state.selection.ordered


def test_a_pr_curve_point_sets_the_score_threshold_and_every_view_follows(qtbot, shown):
    state, metrics = shown
    curves = metrics.curves
    cat = CLASSES.index("cat")
    before = metrics.results.summary
    curves.set_checked([cat])
    scores = curves.points[0][3]
    k = int(np.flatnonzero(np.isclose(scores, 0.9))[0])
    assert "score ≥ 0.900" in curves.describe(cat, k)
    with qtbot.waitSignal(state.score_threshold_changed, timeout=2000):
        qtbot.mouseClick(curves.plot.viewport(), Qt.LeftButton, pos=curves.point_position(cat, k))
    assert state.score_threshold == pytest.approx(0.9)
    wait_for_threshold(qtbot, metrics, 0.9)
    summary = metrics.results.summary
    matrix = np.asarray(summary["confusion"]["matrix"])
    # at 0.9 the false cat (0.8), the dog called cat (0.7) and the low cat (0.3) are gone
    assert matrix[CAT, CAT] == 1 and matrix[CAT, 3] == 1 and matrix[DOG, 3] == 1 and matrix[3, :3].sum() == 0
    np.testing.assert_array_equal(metrics.confusion.matrix.counts, matrix)
    assert metrics.errors.kind_counts() == [0, 0, 0, 0, 0, 3]
    assert metrics.operating.score.value() == pytest.approx(0.9)
    assert "0.900" in metrics.confusion.caption.text()
    # the numbers over every score stay
    assert summary["map"] == before["map"] and summary["pr_curves"] == before["pr_curves"]
    assert summary["errors"]["delta_map"] == before["errors"]["delta_map"]


def test_the_threshold_set_elsewhere_is_followed_and_best_f1_comes_back(qtbot, shown):
    state, metrics = shown
    state.set_score_threshold(0.75)  # the browser's slider
    wait_for_threshold(qtbot, metrics, 0.75)
    cat = next(r for r in range(metrics.overview.table.rowCount()) if metrics.overview.table.item(r, 0).text() == "cat")
    header = [
        metrics.overview.table.horizontalHeaderItem(c).text() for c in range(metrics.overview.table.columnCount())
    ]
    assert metrics.overview.table.item(cat, header.index("Dets")).text() == "2"  # 0.9 and 0.8
    metrics.operating.best_button.click()
    wait_for_threshold(qtbot, metrics, 0.3)
    assert state.score_threshold == pytest.approx(0.3)  # the slider went back to the run's best F1


def test_operating_point_numbers_equal_a_full_evaluation_at_that_point(shown):
    state, metrics = shown
    from gui.metrics.detection_model import evaluate_run

    dataset, predictions = state.metrics_dataset(), state.predictions
    moved = reoperate(metrics.results, dataset, predictions, 0.75, 0.5)
    full = evaluate_run(dataset, predictions, 0.75, 0.5)
    for key in ("confusion", "per_class", "score_threshold", "iou_threshold", "map", "pr_curves"):
        assert moved.summary[key] == full.summary[key], key
    assert moved.summary["errors"]["counts"] == full.summary["errors"]["counts"]
    np.testing.assert_array_equal(moved.class_errors, full.class_errors)


def test_the_iou_threshold_is_a_control(qtbot, shown):
    _state, metrics = shown
    metrics.operating.iou.setValue(0.95)
    qtbot.waitUntil(
        lambda: not metrics.model.busy and metrics.results.summary["confusion"]["iou_threshold"] == 0.95,
        timeout=WAIT_MS,
    )
    assert "0.95" in metrics.confusion.caption.text()


def test_the_views_reread_a_filling_run(qtbot, app_state, tmp_path):
    dataset = BoxDataset(tmp_path, IMAGES)
    metrics = DetectionMetrics(app_state)
    app_state.set_dataset(dataset)
    run = run_of(dataset, IMAGES, done={0})
    app_state.set_predictions(run)
    qtbot.waitUntil(lambda: metrics.results is not None and not metrics.model.busy, timeout=WAIT_MS)
    assert metrics.results.summary["num_images"] == 1 and metrics.images.model.rowCount() == 1
    assert "running: 1 of 4" in metrics.summary_text()
    for i in (1, 2, 3):  # the run fills in place and says so
        boxes, scores, labels = IMAGES[i][1]
        run.set_image(i, np.asarray(boxes, np.float32).reshape(-1, 4), scores, labels, size=(100, 100))
    app_state.set_predictions(run)
    qtbot.waitUntil(lambda: metrics.results.summary["num_images"] == 4 and not metrics.model.busy, timeout=WAIT_MS)
    assert metrics.images.model.rowCount() == 4 and "running" not in metrics.summary_text()
    app_state.set_predictions(None)
    qtbot.waitUntil(lambda: metrics.results is None, timeout=WAIT_MS)
    assert metrics.images.model.rowCount() == 0 and metrics.summary_text() == ""


def test_the_pane_is_busy_until_the_last_batch_of_a_run_is_scored(qtbot, app_state, tmp_path, detection_task):
    """A run's batches are scored at most once a second: the batch that ends the run waits for the interval,
    and the pane says it is busy until then (--screenshot grabbed the window with the numbers of 192 images of
    200 when it did not)."""
    pane = MetricsPane(app_state)
    qtbot.addWidget(pane)
    dataset = BoxDataset(tmp_path, IMAGES)
    app_state.set_dataset(dataset)
    run = run_of(dataset, IMAGES, done={0})
    app_state.set_predictions(run)  # scored at once (the interval starts)
    for i in (1, 2, 3):
        boxes, scores, labels = IMAGES[i][1]
        run.set_image(i, np.asarray(boxes, np.float32).reshape(-1, 4), scores, labels, size=(100, 100))
    app_state.set_predictions(run)  # held back: the interval runs
    assert pane.detection.model.recompute_pending and pane.is_busy()
    qtbot.waitUntil(lambda: not pane.is_busy(), timeout=WAIT_MS)
    assert pane.detection.results.summary["num_images"] == 4 and "4 images" in pane.summary.text()
    pane.shutdown()


def test_closing_the_pane_drops_a_batch_waiting_to_be_scored(qtbot, app_state, tmp_path, detection_task, monkeypatch):
    pane = MetricsPane(app_state)
    qtbot.addWidget(pane)
    dataset = BoxDataset(tmp_path, IMAGES)
    app_state.set_dataset(dataset)
    run = run_of(dataset, IMAGES, done={0})
    app_state.set_predictions(run)  # scored at once (the interval starts)
    app_state.set_predictions(run)  # held back by the interval
    assert pane.detection.model.recompute_pending
    submitted = []
    monkeypatch.setattr(pane.detection.model.job, "submit", lambda *args: submitted.append(args))
    pane.shutdown()  # a held recompute would start a computation while the pane waits for its jobs
    assert not pane.detection.model.recompute_pending
    qtbot.wait(1200)  # past the interval
    assert submitted == []


def test_a_computation_dropped_with_its_dataset_leaves_no_busy_sign(qtbot, app_state, tmp_path):
    dataset = BoxDataset(tmp_path, IMAGES)
    metrics = DetectionMetrics(app_state)
    qtbot.addWidget(metrics.operating)
    metrics.operating.show()
    app_state.set_dataset(dataset)
    app_state.set_predictions(run_of(dataset, IMAGES))
    metrics.model.recompute()
    assert metrics.model.busy and metrics.operating.busy.isVisible()
    app_state.set_dataset(None)  # its result is dropped, so it never reports
    assert not metrics.operating.busy.isVisible() and metrics.results is None
    qtbot.waitUntil(lambda: not metrics.model.busy, timeout=WAIT_MS)
    assert metrics.results is None


def test_the_score_box_says_its_value_is_coming_while_a_reloaded_run_is_first_computed(qtbot, app_state, tmp_path):
    """A run shown at once (reopened with its dataset) is scored at its best-F1 score, unknown until the first
    computation ends: the box reads "…" meanwhile, not a false 0.000, then the run's score."""
    dataset = BoxDataset(tmp_path, IMAGES)
    metrics = DetectionMetrics(app_state)
    box = metrics.operating.score
    qtbot.addWidget(metrics.operating)
    metrics.operating.show()
    app_state.set_dataset(dataset)
    assert box.text() == ""  # no run: no threshold to show
    while_busy = []
    metrics.model.busy_changed.connect(lambda busy: busy and while_busy.append(box.text()))
    app_state.set_predictions(run_of(dataset, IMAGES))
    qtbot.waitUntil(lambda: metrics.results is not None and not metrics.model.busy, timeout=WAIT_MS)
    assert while_busy and set(while_busy) == {"…"}
    assert box.text() == f"{metrics.results.score_threshold:.3f}" and not box.is_unknown()


def test_a_score_typed_over_the_dots_is_taken_and_shown(qtbot):
    box = ScoreBox(decimals=3, minimum=0.0, maximum=1.0, singleStep=0.05, keyboardTracking=False)
    qtbot.addWidget(box)
    box.show()
    box.show_unknown("…")
    assert box.text() == "…"
    with qtbot.waitSignal(box.valueChanged):
        box.lineEdit().setText("0.4")
        qtbot.keyClick(box, Qt.Key_Return)
    assert box.value() == pytest.approx(0.4) and box.text() == "0.400"
    box.show_unknown("…")
    box.lineEdit().setText("0.4")  # the value behind the dots, typed: shown, though it is no change
    qtbot.keyClick(box, Qt.Key_Return)
    assert box.text() == "0.400" and not box.is_unknown()
    box.show_unknown("…")
    box.stepBy(1)
    assert box.text() == "0.450" and not box.is_unknown()
