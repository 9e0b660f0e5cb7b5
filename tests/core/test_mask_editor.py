"""The mask editor's tools and history on small masks."""

import numpy as np
import pytest
from scipy import ndimage

from core.masks import IGNORE, MaskEditor


def blank(h=20, w=30, value=0):
    return np.full((h, w), value, dtype=np.uint8)


def test_brush_paints_a_disc_and_returns_the_changed_rectangle():
    ed = MaskEditor(blank(), num_classes=4)
    rect = ed.brush(10, 10, 10, 10, radius=3, value=2)
    yy, xx = np.mgrid[:20, :30]
    disc = (xx - 10) ** 2 + (yy - 10) ** 2 <= 9
    assert np.array_equal(ed.mask == 2, disc)
    assert (rect.x0, rect.y0, rect.x1, rect.y1) == (7, 7, 14, 14)


def test_a_stroke_of_many_segments_is_one_undo_step():
    ed = MaskEditor(blank(), num_classes=4)
    ed.begin_stroke()
    for x in range(2, 25, 3):
        ed.brush(x, 5, x + 3, 6, radius=1, value=1)
    ed.end_stroke()
    painted = ed.mask.copy()
    assert (painted == 1).sum() > 40
    assert ed.undo() is not None
    assert not ed.mask.any()
    ed.redo()
    assert np.array_equal(ed.mask, painted)
    assert not ed.can_redo


def test_paint_only_over_a_class_protects_the_others():
    mask = blank()
    mask[:, 15:] = 3
    ed = MaskEditor(mask, num_classes=4)
    ed.only_over = 3
    ed.brush(0, 10, 29, 10, radius=2, value=1)
    assert (ed.mask[:, :15] == 0).all()  # class 0 untouched
    assert (ed.mask[8:13, 15:] == 1).all()


def test_eraser_to_background_or_to_ignore():
    ed = MaskEditor(blank(value=2), num_classes=4)
    ed.brush(5, 5, 5, 5, radius=0, value=0)
    ed.brush(6, 6, 6, 6, radius=0, value=IGNORE)
    assert ed.mask[5, 5] == 0 and ed.mask[6, 6] == IGNORE


def test_flood_fill_fills_exactly_the_connected_region():
    rng = np.random.default_rng(1)
    mask = (rng.random((40, 40)) > 0.55).astype(np.uint8)
    ed = MaskEditor(mask, num_classes=3)
    y, x = map(int, np.argwhere(mask == 1)[0])
    labels, _ = ndimage.label(mask == 1)  # 4-connectivity by default
    expected = labels == labels[y, x]
    ed.flood_fill(x, y, 2)
    assert np.array_equal(ed.mask == 2, expected)
    assert np.array_equal(ed.mask[~expected], mask[~expected])
    ed.undo()
    assert np.array_equal(ed.mask, mask)


def test_polygon_fill_and_the_class_picker():
    ed = MaskEditor(blank(), num_classes=4)
    ed.polygon([(5, 5), (20, 5), (20, 15), (5, 15)], 3)
    assert (ed.mask[5:16, 5:21] == 3).all() and ed.mask.sum() == 3 * 11 * 16
    assert ed.pick(10, 10) == 3 and ed.pick(0, 0) == 0


def test_fifty_steps_undo_and_redo_in_order():
    ed = MaskEditor(blank(), num_classes=4, history=60)
    states = [ed.mask.copy()]
    for i in range(55):
        ed.brush(i % 30, i % 20, (i * 7) % 30, (i * 3) % 20, radius=1, value=1 + i % 3)
        states.append(ed.mask.copy())
    for i in range(55, 0, -1):
        ed.undo()
        assert np.array_equal(ed.mask, states[i - 1])
    for i in range(1, 56):
        ed.redo()
        assert np.array_equal(ed.mask, states[i])


def test_a_new_edit_after_undo_clears_redo_and_modified_tracks_saving():
    ed = MaskEditor(blank(), num_classes=4)
    ed.brush(3, 3, 3, 3, 1, 1)
    ed.mark_saved()
    assert not ed.modified
    ed.brush(9, 9, 9, 9, 1, 2)
    assert ed.modified
    ed.undo()
    assert not ed.modified and ed.can_redo
    ed.brush(15, 15, 15, 15, 1, 3)
    assert not ed.can_redo


def test_start_from_prediction_replaces_as_one_step_and_bad_values_are_refused():
    ed = MaskEditor(blank(), num_classes=4)
    prediction = blank(value=1)
    ed.replace(prediction, "from prediction")
    assert (ed.mask == 1).all()
    ed.undo()
    assert not ed.mask.any()
    with pytest.raises(ValueError, match="cannot replace"):
        ed.replace(blank(5, 5))
    with pytest.raises(ValueError, match="not a class"):
        ed.brush(1, 1, 1, 1, 1, 7)
    with pytest.raises(ValueError, match="not classes"):
        MaskEditor(blank(value=9), num_classes=4)
