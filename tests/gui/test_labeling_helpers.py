"""The pure pieces under the labeling GUI: class search ranking, number keys, mark filters, review order."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluation.selection import first_unreviewed, step_in, with_mark
from gui.labeling.actions import key_class
from gui.labeling.class_picker import rank_names


def test_rank_names_puts_prefixes_first_then_word_starts_then_anywhere():
    names = ["tench", "goldfish, Carassius auratus", "great white shark", "marigold", "Golden retriever", "shark"]
    assert rank_names(names, "gold") == [1, 4, 3]
    assert rank_names(names, "shark") == [5, 2]
    assert rank_names(names, "  ") == list(range(len(names)))
    assert rank_names(names, "Carassius") == [1]


def test_number_keys_take_the_first_ten_classes_or_the_digit_classes_by_name():
    assert key_class(["cat", "dog"], 0) == 0 and key_class(["cat", "dog"], 2) is None
    assert key_class([f"c{i}" for i in range(12)], 9) == 9  # the key 0: the tenth class
    digits = [str(d) for d in (3, 1, 4, 0, 2, 5, 9, 6, 8, 7)]
    assert digits[key_class(digits, 6)] == "7" and digits[key_class(digits, 9)] == "0"


def test_mark_filters_keep_the_order():
    order = np.array([4, 0, 3, 1, 2])
    edited = np.array([True, False, False, True, True])
    status = np.array([0, 1, 2, 3, 1], dtype=np.int8)
    assert with_mark(order, "edited", edited=edited, status=status).tolist() == [4, 0, 3]
    assert with_mark(order, "not reviewed", edited=edited, status=status).tolist() == [0, 3, 2]
    assert with_mark(order, "flagged", edited=edited, status=status).tolist() == [2]
    assert with_mark(order, "excluded", edited=edited, status=status).tolist() == [3]
    assert with_mark(order, "note", edited=edited, status=status, noted=[2, 4]).tolist() == [4, 2]
    with pytest.raises(ValueError, match="unknown mark"):
        with_mark(order, "starred", edited=edited, status=status)


def test_review_steps_through_an_order_and_finds_what_is_left():
    order = np.array([7, 2, 9])
    assert step_in(order, 2) == 9 and step_in(order, 9) is None and step_in(order, 2, -1) == 7
    assert step_in(order, 5) == 7 and step_in(np.array([], dtype=np.int64), 1) is None
    status = np.zeros(10, dtype=np.int8)
    status[[7, 9]] = 1
    assert first_unreviewed(order, status) == 2 and first_unreviewed(order, status, start=9) == 2
    status[2] = 1
    assert first_unreviewed(order, status) is None
