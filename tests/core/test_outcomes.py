"""What a run says about each sample (core.tasks.outcomes): the browser's right/wrong marks and segmentation runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.datasets import Dataset
from core.evaluation.selection import RIGHT, UNKNOWN, WRONG
from core.inference import Predictions
from core.inference.mask_store import SegmentationPredictions
from core.tasks.outcomes import differences_text, marks_for, segmentation_run

IDS = [f"s{i}" for i in range(4)]


def dataset(task: str, **labels) -> Dataset:
    return Dataset(Path("."), task=task, classes=["a", "b", "c"], splits=[], split=None, sample_ids=IDS, **labels)


def predictions(task: str, scores) -> Predictions:
    preds = Predictions.empty(task, ["a", "b", "c"], IDS)
    preds.scores[:] = np.asarray(scores, dtype=np.float32)
    preds.done[:] = True
    return preds


def binary(scores) -> Predictions:
    done = np.ones(len(IDS), dtype=bool)
    return Predictions("binary", ["no", "yes"], IDS, np.asarray(scores, dtype=np.float32), done)


def test_single_label_marks_are_the_argmax_against_the_label_with_its_confidence():
    data = dataset("multiclass", targets=[0, 1, 2, -1])
    preds = predictions("multiclass", [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.2, 0.5, 0.3]])
    preds.done[2] = False
    marks = marks_for(data, preds)
    assert marks.predicted.tolist() == [0, 0, -1, 1]
    assert marks.outcome.tolist() == [RIGHT, WRONG, UNKNOWN, UNKNOWN]  # not predicted; unlabeled
    np.testing.assert_allclose(marks.confidence, [0.7, 0.6, np.nan, 0.5])
    assert marks.tags is None


def test_marks_of_a_progressing_run_decide_only_the_samples_predicted_since():
    data = dataset("multiclass", targets=[0, 1, 2, 1])
    preds = Predictions.empty("multiclass", ["a", "b", "c"], IDS)
    preds.scores[:2] = [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1]]
    preds.done[:2] = True
    first = marks_for(data, preds)
    assert first.predicted.tolist() == [0, 0, -1, -1]
    preds.scores[2:] = [[0.1, 0.1, 0.8], [0.2, 0.5, 0.3]]
    preds.done[2:] = True
    preds.scores[0] = [0.0, 0.0, 1.0]  # a decided row is not decided again: the proof that only new rows were
    later = marks_for(data, preds, previous=first)
    assert later.predicted.tolist() == [0, 0, 2, 1] and later.outcome.tolist() == [RIGHT, WRONG, RIGHT, RIGHT]
    np.testing.assert_allclose(later.confidence, [0.7, 0.6, 0.8, 0.5])
    assert first.predicted.tolist() == [0, 0, -1, -1]  # the previous marks are not changed in place
    assert marks_for(data, preds).predicted.tolist() == [2, 0, 2, 1]  # without previous marks: every row again


def test_marks_are_decided_again_for_other_predictions_another_threshold_or_undone_rows():
    data = dataset("binary", targets=[0, 1, 1, 0])
    preds = binary([[0.6, 0.4], [0.3, 0.7], [0.45, 0.55], [0.9, 0.1]])
    first = marks_for(data, preds)
    assert first.predicted.tolist() == [0, 1, 1, 0]
    assert marks_for(data, preds, 0.6, previous=first).predicted.tolist() == [0, 1, 0, 0]  # another threshold
    other = binary([[0.1, 0.9]] * 4)
    assert marks_for(data, other, previous=first).predicted.tolist() == [1, 1, 1, 1]  # other predictions
    preds.done[1] = False  # restarted in place: undone rows are not taken from the previous marks
    assert marks_for(data, preds, previous=first).predicted.tolist() == [0, -1, 1, 0]


def test_edited_labels_give_new_outcomes_over_the_same_decisions():
    data = dataset("multiclass", targets=[0, 1, 2, 1])
    preds = predictions("multiclass", [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.2, 0.5, 0.3]])
    first = marks_for(data, preds)
    data.targets[1] = 0  # the user fixed the label
    assert marks_for(data, preds, previous=first).outcome.tolist() == [RIGHT, RIGHT, RIGHT, RIGHT]


def test_multilabel_marks_follow_the_threshold_and_need_a_multilabel_run():
    tags = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 1]], dtype=np.uint8)
    data = dataset("multilabel", tags=tags)
    preds = predictions("multilabel", [[0.9, 0.6, 0.1], [0.8, 0.7, 0.2], [0.1, 0.2, 0.3], [0.2, 0.1, 0.55]])
    assert marks_for(data, preds).outcome.tolist() == [WRONG, RIGHT, RIGHT, RIGHT]  # an extra "b" on s0
    high = marks_for(data, preds, 0.65)
    assert high.outcome.tolist() == [RIGHT, RIGHT, RIGHT, WRONG]  # "b" of s0 gone; "c" of s3 missed
    assert high.tags[1].tolist() == [1, 1, 0] and high.predicted is None
    assert marks_for(data, predictions("multiclass", preds.scores)) is None  # class scores are not tag scores


def test_no_marks_for_another_datasets_run_or_a_segmentation_dataset(tmp_path):
    preds = predictions("multiclass", np.full((4, 3), 1 / 3))
    assert marks_for(None, preds) is None and marks_for(dataset("multiclass", targets=[0] * 4), None) is None
    short = Dataset(Path("."), task="multiclass", classes=["a", "b", "c"], splits=[], split=None, sample_ids=IDS[:3])
    assert marks_for(short, preds) is None
    assert marks_for(dataset("segmentation"), preds) is None  # predicted masks are not class scores


def test_a_segmentation_run_is_one_over_the_same_samples(tmp_path):
    run = SegmentationPredictions.empty(["a", "b", "c"], IDS, tmp_path / "run")
    assert segmentation_run(dataset("segmentation"), run) is run
    assert segmentation_run(dataset("segmentation"), predictions("multiclass", np.zeros((4, 3)))) is None
    other = SegmentationPredictions.empty(["a", "b", "c"], IDS[:2], tmp_path / "other")
    assert segmentation_run(dataset("segmentation"), other) is None
    assert segmentation_run(None, run) is None and segmentation_run(dataset("segmentation"), None) is None


@pytest.mark.parametrize(
    ("missed", "extra", "text"),
    [([0], [2], "missed: a · extra: c"), ([], [1, 2], "extra: b, c"), ([], [], "all tags right")],
)
def test_tag_differences_in_words(missed, extra, text):
    assert differences_text(["a", "b", "c"], missed, extra) == text
