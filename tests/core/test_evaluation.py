"""core.evaluation.classification: the report the metrics view exports and `evaluate` writes, against core.metrics."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from core.datasets.base import Dataset
from core.evaluation import classification
from core.evaluation.decisions import predicted_class, predicted_classes, predicted_tags
from core.inference.predictions import Predictions
from core.metrics import (
    best_fbeta_threshold,
    classification_report,
    confidence_and_correct,
    confusion_matrix,
    expected_calibration_error,
    multilabel_report,
    one_vs_rest_report,
    report_to_json,
    top_k_accuracy,
)


def single_label(task: str, n: int = 200, c: int = 6, seed: int = 0, absent: int | None = None):
    rng = np.random.default_rng(seed)
    c = 2 if task == "binary" else c
    classes, ids = [f"k{i}" for i in range(c)], [f"s{i}" for i in range(n)]
    targets = rng.integers(0, c, n)
    if absent is not None:
        targets[targets == absent] = 0  # a class that never occurs: its recall is 0/0
    targets[:3] = -1
    dataset = Dataset(
        "/tmp/d", task=task, classes=classes, splits=["test"], split="test", sample_ids=ids, targets=targets
    )
    scores = rng.dirichlet(np.ones(c) * 0.7, n).astype(np.float32)
    done = np.ones(n, dtype=bool)
    done[5:8] = False
    scores[5:8] = np.nan
    return dataset, Predictions(task, classes, ids, scores, done, errors={6: "broken file"}, model="m", device="cpu")


def multilabel(n: int = 150, labels: int = 5, seed: int = 1):
    rng = np.random.default_rng(seed)
    classes, ids = [f"l{i}" for i in range(labels)], [f"s{i}" for i in range(n)]
    tags = (rng.random((n, labels)) < rng.uniform(0.1, 0.6, labels)).astype(np.uint8)
    tags[:, -1] = 0  # a label nobody has
    dataset = Dataset("/tmp/m", task="multilabel", classes=classes, splits=[], split=None, sample_ids=ids, tags=tags)
    scores = np.clip(tags * 0.3 + rng.random((n, labels)) * 0.7, 0, 1).astype(np.float32)
    done = np.ones(n, dtype=bool)
    done[-4:] = False
    scores[-4:] = np.nan
    return dataset, Predictions("multilabel", classes, ids, scores, done)


def test_binary_summary_decides_at_the_threshold():
    dataset, preds = single_label("binary")
    summary = classification.summarize(dataset, preds, beta=2.0, threshold=0.3)
    y_pred = predicted_classes(preds, 0.3)
    cm = confusion_matrix(dataset.targets, y_pred, 2)
    assert summary["confusion_matrix"] == cm.tolist()
    report = classification_report(cm, beta=2.0)
    assert summary["per_class"]["k1"]["fbeta"] == pytest.approx(report["fbeta"][1])
    assert summary["accuracy"] == pytest.approx(report["accuracy"])
    assert summary["threshold"] == pytest.approx(0.3) and summary["beta"] == 2.0
    rows = classification.scored_rows(dataset, preds)
    best = best_fbeta_threshold(dataset.targets[rows] == 1, preds.scores[rows, 1], 2.0)
    assert summary["best_threshold"]["threshold"] == pytest.approx(best.threshold)
    assert summary["evaluated"] == cm.sum() == len(dataset) - 3 - 3


def test_multiclass_summary_has_top_k_ovr_and_calibration():
    dataset, preds = single_label("multiclass", c=6)
    summary = classification.summarize(dataset, preds)
    rows = classification.scored_rows(dataset, preds)
    y, s = dataset.targets[rows], preds.scores[rows]
    assert set(summary["top_k_accuracy"]) == {"1", "3", "5"}
    assert summary["top_k_accuracy"]["3"] == pytest.approx(top_k_accuracy(y, s, 3))
    assert summary["top_k_accuracy"]["1"] == pytest.approx(summary["accuracy"])
    ovr = one_vs_rest_report(y, s)
    np.testing.assert_allclose(summary["average_precision"], ovr["average_precision"])
    np.testing.assert_allclose(summary["roc_auc"], ovr["roc_auc"])
    assert summary["macro_roc_auc"] == pytest.approx(ovr["macro_roc_auc"])
    assert summary["expected_calibration_error"] == pytest.approx(
        expected_calibration_error(*confidence_and_correct(y, s))
    )
    assert sum(summary["reliability"]["count"]) == len(rows)
    assert summary["threshold"] is None
    # the keys `evaluate` always wrote are still there, with the same shape
    for key in ("confusion_matrix", "per_class", "accuracy", "macro", "micro", "weighted", "failures", "evaluated"):
        assert key in summary
    assert set(summary["per_class"]["k0"]) == {"precision", "recall", "fbeta", "support"}
    assert summary["failures"] == [{"sample_id": "s6", "error": "broken file"}]


def test_json_round_trip_turns_nan_into_null(tmp_path):
    dataset, preds = single_label("multiclass", absent=4)
    summary = classification.summarize(dataset, preds, zero_division="nan")
    assert summary["per_class"]["k4"]["recall"] is None  # 0/0, left out
    assert summary["zero_division"] == "nan"
    assert summary["average_precision"][4] is None
    path = classification.write_report(tmp_path / "report.json", summary)
    text = path.read_text()
    assert "NaN" not in text
    assert json.loads(text) == summary


@pytest.mark.parametrize("zero_division", [0, np.nan, 1])
def test_multilabel_decisions_equal_multilabel_report(zero_division):
    dataset, preds = multilabel()
    rng = np.random.default_rng(0)
    for threshold in (0.5, 0.21, rng.uniform(0.2, 0.8, 5)):
        y_true, y_pred = classification.decided_tags(dataset, preds, threshold)
        fast = classification.multilabel_decisions(y_true, y_pred, beta=0.5, zero_division=zero_division)
        snapped = classification.snap_threshold(threshold)
        full = multilabel_report(y_true, preds.scores[preds.done], snapped, beta=0.5, zero_division=zero_division)
        assert set(fast) == set(full) - {"average_precision", "threshold"}
        for key, value in fast.items():
            if isinstance(value, dict):
                assert value == pytest.approx(full[key], nan_ok=True)
            else:
                np.testing.assert_array_equal(value, full[key])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
def test_summary_averages_as_sklearn_and_says_how():
    """Class k4 never occurs but is predicted: its recall is 0/0. By default it counts as 0, as in
    scikit-learn's classification_report; with "nan" it is left out, as with zero_division=np.nan."""
    from sklearn import metrics as skm

    dataset, preds = single_label("multiclass", absent=4)
    y_true, y_pred = classification.labeled_pairs(dataset, preds)
    counted = (y_true >= 0) & (y_pred >= 0)
    y_true, y_pred = y_true[counted], y_pred[counted]
    assert 4 in y_pred and 4 not in y_true
    for ours, theirs in (("0", "warn"), ("nan", np.nan), ("1", 1)):
        summary = classification.summarize(dataset, preds, zero_division=ours)
        assert summary["zero_division"] == ours
        for average in ("macro", "weighted", "micro"):
            expected = skm.precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=theirs)
            got = [summary[average][k] for k in ("precision", "recall", "fbeta")]
            np.testing.assert_allclose(got, expected[:3], err_msg=f"{ours} {average}")
    default = classification.summarize(dataset, preds)
    assert default["zero_division"] == "0" and default["per_class"]["k4"]["recall"] == 0
    assert default["absent_classes"] == []


def test_a_class_in_neither_truth_nor_predictions_is_named_and_left_out_of_the_averages():
    dataset, preds = single_label("multiclass", absent=5)
    preds.scores[preds.done, 5] = 0  # never the argmax
    summary = classification.summarize(dataset, preds)
    assert summary["absent_classes"] == ["k5"]
    assert summary["per_class"]["k5"]["precision"] is None and summary["per_class"]["k5"]["recall"] is None
    shown = [summary["per_class"][f"k{c}"]["fbeta"] for c in range(5)]
    assert summary["macro"]["fbeta"] == pytest.approx(np.mean(shown))


def test_multilabel_decisions_of_nothing_are_undefined():
    empty = classification.multilabel_decisions(np.zeros((0, 3), bool), np.zeros((0, 3), bool))
    assert np.isnan(empty["hamming_loss"]) and np.isnan(empty["subset_accuracy"])
    assert np.isnan(empty["micro"]["fbeta"])


def test_multilabel_summary_keeps_the_report_keys_and_adds_scores():
    dataset, preds = multilabel()
    threshold = np.array([0.3, 0.5, 0.7, 0.4, 0.5])
    summary = classification.summarize(dataset, preds, threshold=threshold)
    done = preds.done
    full = multilabel_report(dataset.tags[done], preds.scores[done], classification.snap_threshold(threshold))
    for key in ("precision", "recall", "fbeta", "support", "confusion", "hamming_loss", "subset_accuracy", "samples"):
        assert json.dumps(summary[key]) == json.dumps(report_to_json(full[key]))
    np.testing.assert_allclose(summary["average_precision"][:4], full["average_precision"][:4])
    assert summary["average_precision"][4] is None  # nobody has the last label
    assert summary["threshold"] == pytest.approx(threshold.tolist())
    assert len(summary["expected_calibration_error"]) == 5 and len(summary["reliability"]) == 5
    assert summary["evaluated"] == done.sum()


def test_snapped_thresholds_decide_like_core_decisions():
    dataset, preds = multilabel()
    threshold = float(np.nextafter(np.float32(0.4), np.float32(1)) + 1e-9)  # between two float32 values
    preds.scores[0, 0] = np.float32(0.4) + np.float32(3e-8)
    _, y_pred = classification.decided_tags(dataset, preds, threshold)
    np.testing.assert_array_equal(y_pred, predicted_tags(preds, threshold)[preds.done].astype(bool))
    snapped = classification.snap_threshold(threshold)
    np.testing.assert_array_equal(y_pred, preds.scores[preds.done] >= snapped)


def test_write_evaluation_uses_the_threshold_for_the_csv(tmp_path):
    dataset, preds = single_label("binary", n=40)
    summary = classification.write_evaluation(dataset, preds, tmp_path, beta=1.0, threshold=0.8)
    with open(tmp_path / "predictions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    predicted = [int(r["predicted"]) for r in rows if r["predicted"] != ""]
    expected = predicted_classes(preds, 0.8)
    assert predicted == expected[expected >= 0].tolist()
    assert json.loads((tmp_path / "metrics.json").read_text()) == summary


def test_file_names_that_are_not_utf8_round_trip_through_the_outputs(tmp_path):
    import os

    from core.datasets import open_dataset
    from tests.fake_datasets import write_images

    root = tmp_path / "pets"
    write_images(root, ["cat/a.png", "dog/b.png"])
    odd = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: a lone surrogate in Python's str
    os.rename(root / "cat" / "a.png", os.path.join(root, "cat", odd))
    dataset = open_dataset(root)
    assert f"cat/{odd}" in dataset.sample_ids
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], dtype=np.float32)[: len(dataset)]
    broken = dataset.sample_ids.index(f"cat/{odd}")
    done = np.ones(len(dataset), bool)
    done[broken] = False  # its name goes into metrics.json's failures as well
    preds = Predictions("binary", dataset.classes, dataset.sample_ids, scores, done, errors={broken: "unreadable"})
    summary = classification.write_evaluation(dataset, preds, tmp_path / "out", beta=1.0, threshold=0.5)
    with open(tmp_path / "out" / "predictions.csv", newline="", encoding="utf-8", errors="surrogateescape") as f:
        ids = [row["sample_id"] for row in csv.DictReader(f)]
    assert ids == dataset.sample_ids  # the same names, byte for byte
    assert all((root / sample_id).is_file() for sample_id in ids)
    written = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert written == summary and written["failures"][0]["sample_id"] == f"cat/{odd}"


def test_one_samples_decision_is_its_row_of_every_samples_decision():
    """predicted_class (the sample view's) decides as predicted_classes, for every task, threshold and gap."""
    rng = np.random.default_rng(0)
    for task, k in (("multiclass", 5), ("binary", 2)):
        scores = rng.random((20, k), dtype=np.float32)
        done = rng.random(20) < 0.7
        predictions = Predictions(task=task, classes=[str(c) for c in range(k)], sample_ids=[str(i) for i in range(20)],
                                  scores=scores, done=done)  # fmt: skip
        for threshold in (None, 0.3, 0.9):
            every = predicted_classes(predictions, threshold)
            assert [predicted_class(predictions, i, threshold) for i in range(20)] == every.tolist()
