"""The box editor's model without Qt: what a press hits, clipping to the image, undo steps, localization's one box."""

from __future__ import annotations

import numpy as np

from core.labels.box_edit import BoxEdit
from core.labels.boxes import Objects


def two_boxes(**options) -> BoxEdit:
    objects = Objects(
        np.array([[0, 0, 20, 20], [5, 5, 10, 10]], np.float32), [0, 1], {"iscrowd": [True, False]}, [0, 1]
    )
    return BoxEdit(objects, (30, 40), ("iscrowd",), **options)


def test_a_press_takes_a_handle_first_then_the_smallest_box() -> None:
    edit = two_boxes()
    assert edit.hit(20.3, 19.8, 0.5) == (0, "se") and edit.hit(10, 7.5, 0.5) == (1, "e")
    assert edit.hit(7, 7, 0.5) == (1, "inside") and edit.hit(15, 15, 0.5) == (0, "inside")
    assert edit.hit(30, 25, 0.5) is None
    assert edit.hit(5, 5, 0.5, selected=0) == (1, "nw")  # the selected box's handles come first, but (5, 5)
    assert edit.hit(10, 0, 0.5, selected=1) == (0, "n")  # is only the small box's corner


def test_boxes_are_clipped_ordered_and_a_click_is_not_a_box() -> None:
    edit = two_boxes()
    assert edit.add((35, 28, 45, 20), 2) == 2 and edit.items[2].box == (35.0, 20.0, 40.0, 28.0)
    assert edit.add((3, 3, 4, 4), 2) is None and len(edit.items) == 3
    edit.set_box(1, (5, 5, 5.5, 12))  # too thin: refused, nothing recorded
    assert edit.items[1].box == (5.0, 5.0, 10.0, 10.0) and edit.items[1].instance == 1


def test_a_drag_is_one_undo_step_and_saving_ends_the_editors_history() -> None:
    edit = two_boxes()
    edit.begin()
    for dx in (1, 2, 3):
        edit.set_box(1, (5 + dx, 5, 10 + dx, 10), step=False)
    assert edit.items[1].box == (8.0, 5.0, 13.0, 10.0) and edit.items[1].instance == -1
    edit.begin()
    edit.cancel_empty_step()  # a click that moved nothing
    assert edit.undo() and edit.items[1].box == (5.0, 5.0, 10.0, 10.0) and not edit.modified
    assert edit.redo() and edit.modified
    edit.toggle_flag(1, "iscrowd")
    objects = edit.objects()
    assert objects.flag("iscrowd").tolist() == [True, True] and objects.instances.tolist() == [0, -1]
    edit.mark_saved()
    assert not edit.modified and not edit.can_undo


def test_localization_keeps_one_object_an_image() -> None:
    edit = two_boxes(single=True)
    assert edit.add((1, 1, 9, 9), 2) == 0 and [i.cls for i in edit.items] == [2]
    edit.undo()
    assert len(edit.items) == 2
