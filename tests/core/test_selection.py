"""Filter helpers: tags (has / lacks), multilabel outcomes, the classes of masks."""

from __future__ import annotations

import numpy as np
import pytest

from core.datasets import SampleError
from core.evaluation.selection import (
    RIGHT,
    UNKNOWN,
    WRONG,
    Selection,
    counts_by_class,
    multilabel_outcomes,
    narrow,
    outcomes,
    scan_mask_classes,
    shown_indices,
    tag_differences,
    with_tags,
)

TAGS = np.array(
    [
        [1, 0, 1],  # 0
        [1, 1, 0],  # 1
        [0, 0, 1],  # 2
        [1, 0, 0],  # 3
        [0, 1, 1],  # 4
    ],
    dtype=np.uint8,
)


def test_has_and_lacks_are_and_combined_and_keep_the_order():
    everyone = np.arange(5)
    assert with_tags(everyone, TAGS, has=[0]).tolist() == [0, 1, 3]
    assert with_tags(everyone, TAGS, lacks=[1]).tolist() == [0, 2, 3]
    assert with_tags(everyone, TAGS, has=[0], lacks=[1]).tolist() == [0, 3]
    assert with_tags(everyone, TAGS, has=[0, 2]).tolist() == [0]
    assert with_tags(np.array([3, 0, 4]), TAGS, has=[0]).tolist() == [3, 0]
    assert with_tags(everyone, TAGS).tolist() == everyone.tolist()
    assert with_tags(everyone, TAGS, has=[0], lacks=[0]).tolist() == []


def test_multilabel_outcomes_need_an_exact_match():
    predicted = TAGS.copy()
    predicted[1, 2] = 1  # an extra tag
    predicted[4, 1] = 0  # a missed tag
    done = np.array([True, True, True, True, False])
    assert multilabel_outcomes(TAGS, predicted, done).tolist() == [RIGHT, WRONG, RIGHT, RIGHT, UNKNOWN]
    assert tag_differences(TAGS[1], predicted[1]) == ([], [2])
    assert tag_differences(TAGS[4], predicted[4]) == ([1], [])


def test_existing_helpers_still_behave():
    assert outcomes(np.array([0, 1, -1]), np.array([0, 0, 1])).tolist() == [RIGHT, WRONG, UNKNOWN]
    assert narrow(np.arange(5), tags=TAGS, class_index=1).tolist() == [1, 4]
    assert counts_by_class(np.arange(5), 3, tags=TAGS).tolist() == [3, 2, 3]


def test_shown_indices_follow_the_selection():
    assert shown_indices(4, None).tolist() == [0, 1, 2, 3]
    assert shown_indices(4, Selection.of("s", [3, 1, 9])).tolist() == [1, 3]
    assert shown_indices(4, Selection.of("s", [3, 1, -2], ordered=True)).tolist() == [3, 1]


def test_scanning_masks_gives_their_classes_pixels_and_errors_per_chunk():
    masks = {
        0: np.array([[0, 0], [2, 255]], np.uint8),
        1: np.array([[1, 1], [1, 1]], np.uint8),
        3: np.array([[2, 0], [0, 0]], np.uint8),
    }

    def load(i):
        if i == 2:
            raise SampleError("0002.png: mask is 3x3 but the image is 2x2")
        return masks[i]

    chunks = list(scan_mask_classes(load, 4, 3, chunk=3))
    assert [start for start, *_ in chunks] == [0, 3]
    presence = np.concatenate([rows for _, rows, _, _ in chunks])
    assert presence.tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 0, 1]]
    assert sum(pixels for _, _, pixels, _ in chunks).tolist() == [5, 4, 2]  # 255 is not counted
    assert chunks[0][3] == {2: "0002.png: mask is 3x3 but the image is 2x2"}


def test_a_scan_stops_when_the_caller_stops_asking():
    loaded = []
    scan = scan_mask_classes(lambda i: loaded.append(i) or np.zeros((1, 1), np.uint8), 100, 2, chunk=10)
    next(scan)
    scan.close()
    assert loaded == list(range(10))


@pytest.mark.parametrize("dtype", [np.uint8, np.int32])
def test_scan_accepts_wide_masks(dtype):
    ((_, rows, _, _),) = scan_mask_classes(lambda i: np.array([[300 % 256, 1]], dtype=dtype), 1, 2)
    assert rows.tolist() == [[0, 1]]
