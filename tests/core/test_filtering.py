"""The browser's rows (core.evaluation.filtering): the selection narrowed by every filter, order kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from core.datasets import Dataset
from core.evaluation.filtering import Filters, class_counts, visible_rows
from core.evaluation.selection import RIGHT, UNKNOWN, WRONG, Selection
from core.labels import STATUS_CODES

IDS = np.array(["cat_1", "dog_1", "cat_2", "dog_2", "cat_3", "bird_1"])


@dataclass
class Marks:
    edited: np.ndarray
    status: np.ndarray
    notes: dict[int, str] = field(default_factory=dict)


def multiclass() -> Dataset:
    targets = [0, 1, 0, 1, -1, 2]
    return Dataset(Path("."), task="multiclass", classes=["cat", "dog", "bird"], splits=[], split=None,
                   sample_ids=list(IDS), targets=targets)  # fmt: skip


def rows(data, filters, selection=None, *, tags=None, outcome=None, ids=IDS, marks=None) -> list[int]:
    return visible_rows(data, selection, filters, tags=tags, outcome=outcome, ids=ids, marks=marks).tolist()


def test_without_filters_every_row_in_the_selections_order():
    data = multiclass()
    assert rows(data, Filters()) == [0, 1, 2, 3, 4, 5]
    worst = Selection.of("worst first", np.array([5, 3, 0]), ordered=True)
    assert rows(data, Filters(), worst) == [5, 3, 0]


def test_class_wrong_only_search_and_marks_combine():
    data = multiclass()
    outcome = np.array([RIGHT, WRONG, WRONG, UNKNOWN, UNKNOWN, RIGHT], dtype=np.int8)
    assert rows(data, Filters(class_index=0)) == [0, 2]
    assert rows(data, Filters(wrong_only=True), outcome=outcome) == [1, 2]
    assert rows(data, Filters(class_index=0, wrong_only=True), outcome=outcome) == [2]
    assert rows(data, Filters(search="cat")) == [0, 2, 4]
    assert rows(data, Filters(search="cat"), ids=None) == [0, 1, 2, 3, 4, 5]  # no ids: nothing to search
    status = np.zeros(6, dtype=np.int8)
    status[[2, 5]] = STATUS_CODES["flagged"]
    marks = Marks(edited=np.array([1, 0, 0, 0, 1, 0], bool), status=status, notes={3: "blurry"})
    assert rows(data, Filters(mark="flagged"), marks=marks) == [2, 5]
    assert rows(data, Filters(mark="flagged", search="cat"), marks=marks) == [2]
    assert rows(data, Filters(mark="flagged")) == [0, 1, 2, 3, 4, 5]  # no project: no marks to filter by


def test_tags_has_and_lacks():
    tags = np.array([[1, 0], [1, 1], [0, 1], [0, 0], [1, 0], [0, 0]], dtype=np.uint8)
    data = Dataset(Path("."), task="multilabel", classes=["smiling", "hat"], splits=[], split=None,
                   sample_ids=list(IDS), tags=tags)  # fmt: skip
    assert rows(data, Filters(has=(0,)), tags=tags) == [0, 1, 4]
    assert rows(data, Filters(has=(0,), lacks=(1,)), tags=tags) == [0, 4]
    assert rows(data, Filters(class_index=1), tags=tags) == [1, 2]


def test_class_counts_of_the_selection_with_its_unlabeled_samples():
    data = multiclass()
    counts, total, unlabeled = class_counts(data, None, None)
    assert counts.tolist() == [2, 2, 1] and total == 6 and unlabeled == 1
    counts, total, unlabeled = class_counts(data, Selection.of("some", np.array([0, 4])), None)
    assert counts.tolist() == [1, 0, 0] and total == 2 and unlabeled == 1
    assert class_counts(None, None, None)[1:] == (0, 0)


def test_id_search_gives_the_rows_of_a_plain_case_insensitive_search():
    """The lowercased index (IdSearch) finds the same rows, in the same order, as lowering each id does."""
    from core.evaluation.selection import IdSearch, matching_ids

    ids = np.array(["Cat_1.JPG", "dog_1.jpg", "CAT_2.png", "ΟΔΟΣ_3", "bird\0odd", "x"])
    search = IdSearch(ids)
    for text in ["cat", "JPG", "_1", "οδος", "odd", "zz", "", "x"]:
        for indices in [np.arange(6), np.array([5, 2, 0]), np.array([3]), np.zeros(0, np.int64)]:
            plain = indices[np.char.find(np.char.lower(ids[indices]), text.lower()) >= 0] if text else indices
            assert search.matching(indices, text).tolist() == plain.tolist(), (text, indices)
            assert matching_ids(ids, indices, text).tolist() == plain.tolist()
    assert rows(multiclass(), Filters(search="CAT"), ids=IdSearch(IDS)) == [0, 2, 4]
    assert len(IdSearch([])) == 0


@pytest.mark.parametrize("ragged", [0, 100])  # 0: the ids stay one string (binary search), 100: rows
def test_id_search_in_both_layouts_matches_within_one_id_only(ragged, monkeypatch):
    """A query never matches across two ids (whatever their layout), at an id's start or end, non-ASCII too."""
    from core.evaluation.selection import IdSearch

    monkeypatch.setattr(IdSearch, "RAGGED", ragged)
    ids = ["ab", "cd", "", "Ünïcode_É", "abcd", "x" * 40, 7]
    search = IdSearch(ids)
    assert (search.starts is None) == (ragged == 100) and len(search) == len(ids)
    every = np.arange(len(ids))
    assert search.matching(every, "bc").tolist() == [4]  # not "ab" + "cd"
    assert search.matching(every, "AB").tolist() == [0, 4]
    assert search.matching(every, "cd").tolist() == [1, 4]
    assert search.matching(every, "ünïcode_é").tolist() == [3]
    assert search.matching(every, "x" * 40).tolist() == [5] and search.matching(every, "x" * 41).tolist() == []
    assert search.matching(every, "7").tolist() == [6]
    assert search.matching(np.array([4, 0]), "b").tolist() == [4, 0]


def test_filters_over_the_whole_dataset_equal_those_over_a_shuffled_selection():
    """The whole dataset in order takes the masks as they are (no gather): same rows as any other order."""
    from core.evaluation.selection import narrow, with_tags

    rng = np.random.default_rng(3)
    n = 1000
    targets, outcome = rng.integers(-1, 4, n), rng.integers(-1, 2, n).astype(np.int8)
    tags = (rng.random((n, 5)) < 0.3).astype(np.uint8)
    every, shuffled = np.arange(n), rng.permutation(n)
    for indices in (every, shuffled, every[::2]):
        for class_index, wrong in [(2, False), (-1, False), (None, True), (1, True), (None, False)]:
            got = narrow(indices, targets=targets, class_index=class_index, outcome=outcome, wrong_only=wrong)
            keep = np.ones(len(indices), bool)
            if class_index is not None:
                keep &= targets[indices] == class_index
            if wrong:
                keep &= outcome[indices] == 0
            assert got.tolist() == indices[keep].tolist()
        got = with_tags(indices, tags, has=(1, 3), lacks=(0,))
        expected = indices[(tags[indices, 1] > 0) & (tags[indices, 3] > 0) & (tags[indices, 0] == 0)]
        assert got.tolist() == expected.tolist()
        assert narrow(indices, tags=tags, class_index=4).tolist() == indices[tags[indices, 4] > 0].tolist()


def test_class_counts_in_one_pass_leave_out_ignored_and_odd_negative_labels():
    from core.evaluation.selection import counts_by_class

    data = multiclass()
    data.targets[:3] = [-2, -1, -7]  # ignored, unlabeled, a negative of no meaning: none is a class
    counts, total, unlabeled = class_counts(data, Selection.of("sorted", np.arange(6)[::-1], ordered=True), None)
    expected = np.bincount(data.targets[data.targets >= 0], minlength=3)
    assert counts.tolist() == expected.tolist() == [0, 1, 1] and total == 6 and unlabeled == 2
    assert counts_by_class(np.array([5, 4]), 3, targets=data.targets).tolist() == np.bincount(
        data.targets[[5, 4]][data.targets[[5, 4]] >= 0], minlength=3).tolist()  # fmt: skip
