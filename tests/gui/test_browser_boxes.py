"""The browser on the object tasks: boxes over tiles and in the sample view, TP / FP / FN, the score threshold
every view follows, instance masks, and the object grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem

from core.datasets import Dataset
from core.evaluation.selection import PREDICTION, TRUTH, ObjectRefs, Selection
from core.inference.detections import DetectionPredictions
from gui.browser.boxes import BOX_STYLES, FN_KIND, FP_KIND, TP_KIND, TRUTH_KIND, image_boxes, truth_boxes
from gui.browser.grid_model import BoxesRole
from gui.browser.object_grid import KindRole
from gui.browser.tile_delegate import TILE_SIZE
from gui.state import DEFAULT_SCORE_THRESHOLD, AppState
from tests.gui.helpers import browser_pane, qimage_array

SIZE = 64  # the images are SIZE x SIZE; their thumbnails 96 x 96 (1.5 x)
CLASSES = ["cat", "dog"]
#: Per image: (boxes, classes). Image 0: a cat and a dog; image 1: one dog; image 2: nothing; image 3: a cat.
TRUTH_BOXES = [
    ([[4, 4, 36, 36], [40, 20, 60, 60]], [0, 1]),
    ([[10, 10, 50, 50]], [1]),
    ([], []),
    ([[8, 8, 56, 56]], [0]),
]


class BoxDataset(Dataset):
    """Four grey images with known boxes (and a mask per object), open for detection or instance segmentation."""

    layout = "Test boxes"

    def __init__(self, root: Path, task: str = "detection") -> None:
        super().__init__(
            root,
            task=task,
            classes=CLASSES,
            splits=[],
            split=None,
            sample_ids=[f"img{i}" for i in range(len(TRUTH_BOXES))],
            tasks=("instance_segmentation", "detection"),
        )

    def load_image(self, index: int) -> np.ndarray:
        return np.full((SIZE, SIZE, 3), 60 + 20 * index, np.uint8)

    def load_boxes(self, index: int):
        boxes, classes = TRUTH_BOXES[index]
        return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(classes, np.int64)

    def box_extras(self, index: int) -> dict[str, np.ndarray]:
        return {"iscrowd": np.zeros(len(TRUTH_BOXES[index][1]), bool)}

    def load_instances(self, index: int):
        if self.task != "instance_segmentation":
            return None
        boxes, _ = self.load_boxes(index)
        masks = np.zeros((len(boxes), SIZE, SIZE), bool)
        for k, (x0, y0, x1, y1) in enumerate(boxes.astype(int)):
            masks[k, y0:y1, x0:x1] = True
        return masks

    def with_task(self, task: str) -> Dataset:
        return self if task == self.task else BoxDataset(self.root, task)


def make_run(dataset: Dataset) -> DetectionPredictions:
    """Image 0: the cat found (0.9), the dog missed, a false dog at 0.3; image 1: the dog found at 0.4;
    image 3: the cat found at 0.8. Image 2 is not run."""
    run = DetectionPredictions.empty("detection", CLASSES, dataset.sample_ids)
    run.set_image(0, [[5, 5, 35, 35], [0, 40, 20, 62]], [0.9, 0.3], [0, 1], size=(SIZE, SIZE))
    run.set_image(1, [[11, 11, 50, 49]], [0.4], [1], size=(SIZE, SIZE))
    run.set_image(3, [[8, 9, 56, 55]], [0.8], [0], size=(SIZE, SIZE))
    return run


@pytest.fixture
def state(qapp, tmp_path) -> AppState:
    state = AppState()
    state.set_dataset(BoxDataset(tmp_path))
    return state


@pytest.fixture
def pane(qtbot, state):
    yield from browser_pane(qtbot, state, size=(1366, 700))


def render_tile(qtbot, pane, row: int) -> np.ndarray:
    """Tile ``row`` painted by the grid's delegate into an image (after its thumbnail and truth are read)."""
    index = pane.model.index(row)
    index.data(Qt.ItemDataRole.DecorationRole)  # schedules the decode
    qtbot.waitUntil(lambda: index.data(BoxesRole) is not None, timeout=10_000)
    image = QImage(TILE_SIZE, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, TILE_SIZE.width(), TILE_SIZE.height())
    option.palette = pane.view.palette()
    option.font = pane.view.font()
    option.fontMetrics = pane.view.fontMetrics()
    pane.view.itemDelegate().paint(painter, option, index)
    painter.end()
    return qimage_array(image)


def thumb_origin() -> tuple[int, int]:
    """Where the 96 x 96 thumbnail of a square image lies in a tile (see TileDelegate.paint)."""
    from gui.browser.thumbnails import THUMB_SIZE
    from gui.browser.tile_delegate import PAD

    tile = QRect(0, 0, TILE_SIZE.width(), TILE_SIZE.height()).adjusted(2, 2, -2, -2)
    return tile.center().x() - THUMB_SIZE // 2, tile.top() + PAD


def colour_near(pixels: np.ndarray, x: float, y: float, kind: str, reach: int = 1) -> bool:
    """Whether a pixel of ``kind``'s colour lies within ``reach`` of (x, y)."""
    color = BOX_STYLES[kind][0]
    want = np.array([color.red(), color.green(), color.blue()])
    x, y = round(x), round(y)
    patch = pixels[y - reach : y + reach + 1, x - reach : x + reach + 1].astype(int)
    return bool((np.abs(patch - want).sum(axis=-1) < 40).any())


def left_edge_midpoint(box, scale: float = 1.5) -> tuple[float, float]:
    ox, oy = thumb_origin()
    x0, y0, _x1, y1 = box
    return ox + x0 * scale, oy + (y0 + y1) / 2 * scale


# -- the truth accessor and the matching ------------------------------------------------
def test_truth_boxes_reads_the_dataset_boxes_and_flags(tmp_path):
    truth = truth_boxes(BoxDataset(tmp_path), 0)
    np.testing.assert_array_equal(truth.boxes, np.asarray(TRUTH_BOXES[0][0], np.float32))
    assert truth.classes.tolist() == [0, 1] and not truth.iscrowd.any() and not truth.ignore.any()
    assert len(truth_boxes(BoxDataset(tmp_path), 2).classes) == 0


def test_image_boxes_are_tp_fp_fn_at_the_threshold(tmp_path):
    dataset = BoxDataset(tmp_path)
    run = make_run(dataset)
    truth = truth_boxes(dataset, 0)
    kinds = sorted(b.kind for b in image_boxes(CLASSES, truth, run, 0, 0.0))
    assert kinds == sorted([TP_KIND, FP_KIND, FN_KIND])  # cat found, dog missed, a dog where there is none
    kinds = sorted(b.kind for b in image_boxes(CLASSES, truth, run, 0, 0.5))
    assert kinds == sorted([TP_KIND, FN_KIND])  # the false dog (0.3) is hidden
    assert [b.kind for b in image_boxes(CLASSES, truth, None, 0, 0.5)] == [TRUTH_KIND, TRUTH_KIND]


# -- tiles ----------------------------------------------------------------------------
def test_tile_draws_the_true_boxes_in_the_truth_colour(qtbot, pane):
    pixels = render_tile(qtbot, pane, 0)
    for box in TRUTH_BOXES[0][0]:
        assert colour_near(pixels, *left_edge_midpoint(box), TRUTH_KIND)
    # inside the box, away from its edges, the image's own grey
    ox, oy = thumb_origin()
    assert not colour_near(pixels, ox + 20 * 1.5, oy + 20 * 1.5, TRUTH_KIND, reach=3)


def test_tile_draws_tp_and_fn_with_a_run_and_the_threshold_hides_low_scores(qtbot, pane, state):
    state.set_predictions(make_run(state.dataset))
    pixels = render_tile(qtbot, pane, 0)
    assert colour_near(pixels, *left_edge_midpoint([5, 5, 35, 35]), TP_KIND)  # the cat's detection
    assert colour_near(pixels, *left_edge_midpoint([40, 20, 60, 60]), FN_KIND, reach=2)  # dotted: near
    assert not colour_near(pixels, *left_edge_midpoint([0, 40, 20, 62]), FP_KIND, reach=2)  # 0.3 < 0.5
    state.set_score_threshold(0.2)
    pixels = render_tile(qtbot, pane, 0)
    assert colour_near(pixels, *left_edge_midpoint([0, 40, 20, 62]), FP_KIND, reach=2)
    assert pane.model.data(pane.model.index(0), Qt.ItemDataRole.DisplayRole) == "2 objects"


def test_score_threshold_defaults_and_reaches_the_slider(qtbot, pane, state):
    assert state.score_threshold == DEFAULT_SCORE_THRESHOLD == 0.5
    assert pane.box_bar.isVisibleTo(pane) and pane.box_bar.slider.value() == 50
    with qtbot.waitSignal(state.score_threshold_changed):
        pane.box_bar.slider.setValue(35)
    assert state.score_threshold == pytest.approx(0.35)
    state.set_score_threshold(0.8)
    assert pane.box_bar.slider.value() == 80 and pane.box_bar.value.text() == "0.80"


# -- the sample view ---------------------------------------------------------------------
def drawn_kinds(qtbot, pane) -> list[str]:
    """The kinds of the boxes drawn in the sample view, once its worker read the shown sample."""
    view = pane.sample_view
    qtbot.waitUntil(lambda: view._objects is not None and view.index == pane.state.current, timeout=10_000)
    return sorted(b.kind for b in pane.sample_view.drawn_objects())


def test_sample_view_draws_boxes_with_labels_and_follows_the_slider(qtbot, pane, state):
    state.set_predictions(make_run(state.dataset))
    state.select_sample(0)
    assert drawn_kinds(qtbot, pane) == sorted([TP_KIND, FN_KIND])
    labels = [item.toPlainText() for item in pane.sample_view.canvas._objects if hasattr(item, "toPlainText")]
    assert "cat 0.90" in labels and "dog" in labels  # always labelled in the sample view
    assert "1 TP · 0 FP · 1 FN" in pane.sample_view.prediction.text()
    state.set_score_threshold(0.25)
    assert sorted(b.kind for b in pane.sample_view.drawn_objects()) == sorted([TP_KIND, FP_KIND, FN_KIND])
    state.set_score_threshold(0.95)  # every detection hidden: both objects missed
    assert sorted(b.kind for b in pane.sample_view.drawn_objects()) == [FN_KIND, FN_KIND]


def test_sample_view_draws_instance_masks_as_outlines_or_fills(qtbot, tmp_path):
    state = AppState()
    state.set_dataset(BoxDataset(tmp_path, "instance_segmentation"))
    pane = next(browser_pane(qtbot, state))
    state.select_sample(1)
    drawn_kinds(qtbot, pane)
    overlay = pane.sample_view.canvas.overlay
    assert overlay is not None
    assert overlay[10, 30, 3] == 255 and overlay[30, 30, 3] == 0  # outlines: the edge, not the inside
    pane.box_bar.masks.setCurrentIndex(pane.box_bar.masks.findData("fills"))
    overlay = pane.sample_view.canvas.overlay
    assert 0 < overlay[30, 30, 3] < 255
    pane.box_bar.masks.setCurrentIndex(pane.box_bar.masks.findData("off"))
    assert pane.sample_view.canvas.overlay is None
    pane.shutdown()


# -- the object grid ------------------------------------------------------------------------
def test_object_grid_shows_one_crop_per_object_and_double_click_opens_it(qtbot, pane, state):
    state.set_predictions(make_run(state.dataset))
    refs = ObjectRefs.of([0, 3, 0], [PREDICTION, PREDICTION, TRUTH], [0, 0, 1], ["TP", "TP", "FN"])
    state.set_selection(Selection.of_objects("cats found", refs))
    grid = pane.object_grid
    assert pane.grids.currentWidget() is grid
    assert grid.shown_count() == 3
    for row in range(3):
        grid.model.index(row).data(Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: len(grid.loader.texts) == 3, timeout=10_000)
    assert sorted(grid.loader.texts.values()) == ["FN · dog", "TP · cat 0.80", "TP · cat 0.90"]
    pane.show()
    qtbot.waitExposed(pane)
    rect = grid.view.visualRect(grid.model.index(1))
    # A real double-click: press, release, then the double-click event
    qtbot.mouseClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert state.current == 0  # one click only selects the crop
    qtbot.mouseDClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert state.current == 3
    assert drawn_kinds(qtbot, pane) == [TP_KIND]
    highlighted = pane.sample_view._highlight
    assert highlighted == (3, (PREDICTION, 0))


def test_object_grid_lists_every_truth_object_by_class(qtbot, pane):
    pane.show_objects(True)
    grid = pane.object_grid
    qtbot.waitUntil(lambda: grid.shown_count() == 4, timeout=10_000)
    grid.classes.setCurrentIndex(grid.classes.findData(1))  # dog
    assert grid.shown_count() == 2


def test_object_grid_lists_detections_above_the_threshold_by_kind(qtbot, pane, state):
    state.set_predictions(make_run(state.dataset))
    pane.show_objects(True)
    grid = pane.object_grid
    grid.source.setCurrentIndex(grid.source.findData("detections"))
    qtbot.waitUntil(lambda: grid.shown_count() == 2, timeout=10_000)  # 0.9 and 0.8 (0.4, 0.3 < 0.5)
    state.set_score_threshold(0.2)
    qtbot.waitUntil(lambda: grid.shown_count() == 4, timeout=10_000)
    grid.kinds.setCurrentIndex(grid.kinds.findData(FP_KIND))
    assert grid.shown_count() == 1


def test_enter_opens_the_current_crop_and_low_scoring_objects_of_a_selection_hide(qtbot, pane, state):
    state.set_predictions(make_run(state.dataset))
    refs = ObjectRefs.of([0, 1, 0], PREDICTION, [1, 0, 0], ["FP", "TP", "TP"])  # scores 0.3, 0.4, 0.9
    state.set_selection(Selection.of_objects("some detections", refs))
    grid = pane.object_grid
    assert grid.shown_count() == 1  # 0.3 and 0.4 are under the threshold of 0.5
    state.set_score_threshold(0.35)
    assert grid.shown_count() == 2
    pane.show()
    qtbot.waitExposed(pane)
    grid.view.setFocus()
    grid.view.setCurrentIndex(grid.model.index(0))
    assert grid.model.index(0).data(KindRole) == TP_KIND
    qtbot.keyClick(grid.view, Qt.Key.Key_Return)
    assert state.current == 1
    assert pane.sample_view._highlight == (1, (PREDICTION, 0))


def test_saliency_maps_are_not_offered_for_detectors(pane):
    assert not pane.sample_view.saliency.isVisibleTo(pane)
    assert not pane.sample_view.saliency.action.isEnabled()


def test_wrong_only_keeps_images_with_a_false_or_missed_object_at_the_threshold(qtbot, pane, state):
    from core.evaluation.selection import RIGHT, UNKNOWN, WRONG

    state.set_predictions(make_run(state.dataset))
    qtbot.waitUntil(lambda: pane.model.outcome is not None, timeout=10_000)
    # image 0: the dog missed; image 1: its dog (0.4) under 0.5, so missed; image 2: not run; image 3: all found
    assert pane.model.outcome.tolist() == [WRONG, WRONG, UNKNOWN, RIGHT]
    assert pane.filters.wrong_only.isEnabled()
    pane.set_wrong_only(True)
    assert pane.visible_indices().tolist() == [0, 1]
    state.set_score_threshold(0.35)  # image 1's dog is found now
    qtbot.waitUntil(lambda: pane.visible_indices().tolist() == [0], timeout=10_000)


def test_opening_a_found_object_from_the_truth_list_draws_that_object_highlighted(qtbot, pane, state):
    state.set_predictions(make_run(state.dataset))
    pane.show_objects(True)
    grid = pane.object_grid
    qtbot.waitUntil(lambda: grid.shown_count() == 4, timeout=10_000)
    grid.open_row(0)  # image 0's cat: found, so drawn as its detection (TP) until it is the one opened
    assert state.current == 0
    kinds = drawn_kinds(qtbot, pane)
    assert kinds == sorted([TP_KIND, FN_KIND, TRUTH_KIND])
    highlighted = [b for b in pane.sample_view.drawn_objects() if (b.source, b.object) == (TRUTH, 0)]
    assert len(highlighted) == 1 and highlighted[0].text == "cat"


def test_a_run_arriving_while_an_image_is_shown_draws_its_detections_there(qtbot, pane, state):
    state.select_sample(0)
    assert drawn_kinds(qtbot, pane) == [TRUTH_KIND, TRUTH_KIND]
    state.set_predictions(make_run(state.dataset))
    assert sorted(b.kind for b in pane.sample_view.drawn_objects()) == sorted([TP_KIND, FN_KIND])


def test_the_highlighted_object_is_zoomed_onto_once_then_the_zoom_is_the_users(qtbot, pane, state):
    state.set_predictions(make_run(state.dataset))
    pane.show()
    qtbot.waitExposed(pane)
    state.set_score_threshold(0.2)
    pane.open_object(0, PREDICTION, 1)  # the false dog, 20 x 22 pixels
    drawn_kinds(qtbot, pane)
    canvas = pane.sample_view.canvas
    zoomed = canvas.visible_rect()
    assert min(zoomed.width(), zoomed.height()) < 0.8 * SIZE  # onto the box and half as much around it
    canvas.fit()
    state.set_score_threshold(0.25)  # a redraw keeps the user's view
    assert min(canvas.visible_rect().width(), canvas.visible_rect().height()) >= SIZE
