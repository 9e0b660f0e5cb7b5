"""The mask editor as a user drives it: paint a stroke, undo it, repaint, save, read back."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from core.datasets import open_dataset
from core.masks.writers import WithSavedMasks
from gui.labeling import MaskEditorWidget
from tests.fake_datasets import write_voc


@pytest.fixture
def voc(tmp_path):
    root, _, _ = write_voc(tmp_path / "data")
    return open_dataset(root, split="train")


@pytest.fixture
def editor(qtbot, voc, tmp_path):
    widget = MaskEditorWidget()
    # Closing with unsaved strokes asks Save / Discard / Cancel (tests/gui/test_saved_masks_gui.py): these
    # tests leave strokes unsaved on purpose, so they are discarded before the window closes.
    qtbot.addWidget(widget, before_close_func=lambda w: w.editor is not None and w.editor.mark_saved())
    widget.resize(700, 600)
    widget.show()
    qtbot.waitExposed(widget)
    prediction = np.zeros((10, 12), np.uint8)
    prediction[2:8, 3:9] = 7
    assert widget.open_sample(voc, 0, prediction=prediction, out_root=tmp_path / "out")
    return widget


def view_point(widget, x, y) -> QPoint:
    return widget.canvas.mapFromScene(x + 0.5, y + 0.5)


def stroke(widget, points):
    canvas = widget.canvas
    canvas.pressed.emit(points[0][0] + 0.5, points[0][1] + 0.5, Qt.LeftButton)
    for x, y in points[1:]:
        canvas.dragged.emit(x + 0.5, y + 0.5)
    canvas.released.emit(points[-1][0] + 0.5, points[-1][1] + 0.5)


def test_paint_a_stroke_undo_it_and_save(qtbot, editor, voc, tmp_path):
    before = editor.editor.mask.copy()
    editor.class_combo.setCurrentIndex(5)
    editor.size_slider.setValue(1)
    stroke(editor, [(1, 4), (5, 4), (10, 4)])
    after = editor.editor.mask.copy()
    assert (after[4, 1:11] == 5).all() and not np.array_equal(after, before)
    assert editor.undo_button.isEnabled() and editor.save_button.isEnabled()
    qtbot.keyClick(editor.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert np.array_equal(editor.editor.mask, before)
    qtbot.keyClick(editor.canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert np.array_equal(editor.editor.mask, after)
    with qtbot.waitSignal(editor.saved) as saved:
        editor.save()
    assert saved.args[0] == 0
    reread = WithSavedMasks(voc, tmp_path / "out").load_mask(0)
    assert np.array_equal(reread, after)
    assert not editor.save_button.isEnabled()  # nothing left unsaved


def test_a_real_click_with_the_fill_tool_fills_the_region_under_the_cursor(qtbot, editor):
    editor.set_tool("fill")
    editor.class_combo.setCurrentIndex(3)
    mask = editor.editor.mask
    y, x = 5, 6
    region_class = mask[y, x]
    qtbot.mouseClick(editor.canvas.viewport(), Qt.LeftButton, pos=view_point(editor, x, y))
    assert editor.editor.mask[y, x] == 3 or region_class == 3
    assert editor.editor.can_undo or region_class == 3


def test_tool_keys_picker_and_protection(qtbot, editor):
    qtbot.keyClick(editor.canvas, Qt.Key_E)
    assert editor.tool == "eraser"
    qtbot.keyClick(editor.canvas, Qt.Key_I)
    assert editor.tool == "picker"
    mask = editor.editor.mask
    editor.canvas.pressed.emit(2.5, 5.5, Qt.LeftButton)
    assert editor.current_class() == mask[5, 2] or mask[5, 2] == 255
    assert editor.tool == "brush"  # the picker hands back to the brush
    protected = int(mask[5, 2]) if mask[5, 2] != 255 else 0
    editor.protect_combo.setCurrentIndex(protected + 1)
    editor.class_combo.setCurrentIndex(9)
    others = editor.editor.mask != protected
    before = editor.editor.mask.copy()
    editor.size_slider.setValue(20)
    stroke(editor, [(0, 0), (11, 9)])
    assert np.array_equal(editor.editor.mask[others], before[others])


def test_start_from_prediction_and_scores_follow_the_edit(qtbot, editor):
    editor.start_from_prediction()
    report = editor.image_scores()
    assert report["mean_iou"] == pytest.approx(1.0)
    assert "mean IoU 1.000" in editor.scores.text()
    editor.class_combo.setCurrentIndex(2)
    editor.size_slider.setValue(0)
    stroke(editor, [(4, 4), (4, 4)])
    assert editor.image_scores()["mean_iou"] < 1.0


def test_saving_over_the_dataset_asks_first(qtbot, editor, voc):
    editor.out_root = voc.root
    stroke(editor, [(1, 1), (3, 1)])
    original = (voc.root / "SegmentationClass" / f"{voc.sample_ids[0]}.png").read_bytes()
    assert editor.save(confirm_overwrite=lambda: False) is None
    assert (voc.root / "SegmentationClass" / f"{voc.sample_ids[0]}.png").read_bytes() == original
    assert editor.save(confirm_overwrite=lambda: True) is not None
    assert np.array_equal(open_dataset(voc.root, split="train").load_mask(0), editor.editor.mask)
