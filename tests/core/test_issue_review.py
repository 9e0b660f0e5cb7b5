"""Where the review of label issues stands after edits (core.analysis.issue_review), on a real project store."""

import numpy as np
import pytest

from core.analysis.issue_review import (
    ACCEPTED,
    EXCLUDED_ISSUE,
    KEPT,
    OPEN,
    RELABELED,
    filter_issues,
    issue_states,
    next_open,
    state_counts,
)
from core.analysis.label_issues import LabelIssues, MultilabelIssues
from core.datasets import open_dataset
from core.labels import REVIEWED, open_project


def single(indices, given, suggested) -> LabelIssues:
    n = len(indices)
    score = np.linspace(0, 0.5, n, dtype=np.float32)
    return LabelIssues(
        np.asarray(indices), np.asarray(given), np.asarray(suggested), score, np.zeros(0), "test", "self_confidence"
    )


@pytest.fixture
def folder_project(tmp_path):
    """A project store over a 3-class folder of 9 images (cat 0-3, dog 4-6, fox 7-8)."""
    import cv2

    rng = np.random.default_rng(0)
    for name, count in {"cat": 4, "dog": 3, "fox": 2}.items():
        folder = tmp_path / "animals" / "test" / name
        folder.mkdir(parents=True)
        for k in range(count):
            cv2.imwrite(str(folder / f"{k:03d}.png"), rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    dataset = open_dataset(tmp_path / "animals", split="test")
    project = open_project(dataset)
    yield project
    project.store.close()


def states_of(issues, project) -> np.ndarray:
    status = project.status()
    return issue_states(issues, targets=project.targets(), reviewed=status == REVIEWED, excluded=project.excluded())


def test_states_follow_edits_and_undo(folder_project):
    project = folder_project
    # samples 0 (cat: model says dog), 4 (dog: says fox), 7 (fox: says cat), 1 (cat: says fox)
    issues = single([0, 4, 7, 1], [0, 1, 2, 0], [1, 2, 0, 2])
    assert states_of(issues, project).tolist() == [OPEN] * 4
    project.set_label(0, "dog")  # accept the suggestion
    project.set_status(4, "reviewed")  # keep the label
    project.set_status(7, "excluded")
    project.set_label(1, "dog")  # neither given nor suggested
    assert states_of(issues, project).tolist() == [ACCEPTED, KEPT, EXCLUDED_ISSUE, RELABELED]
    assert state_counts(states_of(issues, project)) == {
        "open": 0,
        "accepted": 1,
        "relabeled": 1,
        "kept": 1,
        "excluded": 1,
    }
    project.undo()
    project.undo()
    assert states_of(issues, project).tolist() == [ACCEPTED, KEPT, OPEN, OPEN]
    project.set_status(4, "flagged")  # a flag asks for another look: open again
    project.set_label(7, -2)  # "ignore" leaves it out like an exclusion
    assert states_of(issues, project).tolist() == [ACCEPTED, OPEN, EXCLUDED_ISSUE, OPEN]


def test_without_a_store_every_unchanged_issue_is_open():
    issues = single([2, 0], [1, 0], [0, 1])
    targets = np.array([0, 0, 1])
    assert issue_states(issues, targets=targets).tolist() == [OPEN, OPEN]
    targets[2] = 0
    assert issue_states(issues, targets=targets).tolist() == [ACCEPTED, OPEN]


def test_multilabel_states_compare_whole_tag_sets():
    given = np.array([[1, 0, 0], [0, 1, 0]], bool)
    suggested = np.array([[1, 1, 0], [0, 0, 1]], bool)
    issues = MultilabelIssues(np.array([1, 0]), given, suggested, np.zeros(2), np.zeros(2), "t", "self_confidence", 0.5)
    tags = np.array([[0, 1, 0], [1, 1, 0]], np.uint8)  # sample 1 took the suggestion, sample 0 did not
    assert issue_states(issues, tags=tags).tolist() == [ACCEPTED, OPEN]
    tags[0] = [0, 1, 1]
    assert issue_states(issues, tags=tags).tolist() == [ACCEPTED, RELABELED]
    assert filter_issues(issues, np.zeros(2), given=1).tolist() == [1]
    assert filter_issues(issues, np.zeros(2), suggested=1).tolist() == [0]


def test_filter_keeps_the_rank_and_the_cell_of_the_analysis():
    issues = single([5, 6, 7, 8, 9], [0, 1, 0, 0, 2], [1, 0, 1, 2, 0])
    states = np.array([OPEN, OPEN, ACCEPTED, OPEN, OPEN], np.int8)
    assert filter_issues(issues, states, given=0, suggested=1).tolist() == [0, 2]  # accepted stays in its cell
    assert filter_issues(issues, states, given=0, suggested=1, open_only=True).tolist() == [0]
    assert filter_issues(issues, states, suggested=0).tolist() == [1, 4]
    assert filter_issues(issues, states, open_only=True).tolist() == [0, 1, 3, 4]


def test_next_open_moves_down_and_wraps():
    states = np.array([OPEN, ACCEPTED, OPEN, KEPT, OPEN], np.int8)
    every = np.arange(5)
    assert next_open(every, states, 0) == 2
    assert next_open(every, states, 2) == 4
    assert next_open(every, states, 4) == 0  # wraps to the top
    assert next_open(every, states, 1) == 2  # from a row no longer open
    assert next_open(np.array([1, 3, 4]), states, 0) == 4  # only among the shown positions
    assert next_open(every, states, None) == 0
    assert next_open(every, np.full(5, KEPT, np.int8), 0) is None


def test_issues_of_other_splits_are_left_to_their_split():
    from core.analysis.issue_review import of_open_split

    issues = LabelIssues(
        indices=np.array([7, 1, 12, 3]), given=np.array([0, 1, 2, 0]), suggested=np.array([1, 0, 0, 2]),
        score=np.array([0.1, 0.2, 0.3, 0.4], np.float32), quality=np.zeros(15, np.float32),
        source="held out", ranked_by="self_confidence",
    )  # fmt: skip
    mine, elsewhere = of_open_split(issues, open_rows=10)
    assert mine.indices.tolist() == [7, 1, 3] and mine.given.tolist() == [0, 1, 0] and elsewhere == 1
    assert mine.score.tolist() == pytest.approx([0.1, 0.2, 0.4]) and mine.quality is issues.quality
    assert of_open_split(issues, open_rows=20) == (issues, 0)
