"""main.py as a user runs it: --help, and a headless evaluation of the bundled demo."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.datasets import open_dataset
from core.inference.segmentation import load_run
from core.labels import open_project
from core.masks.opening import open_with_project  # what the window does on open

ROOT = Path(__file__).resolve().parents[2]


def run_main(*args, timeout=300):
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_help_documents_the_commands():
    result = run_main("--help")
    assert result.returncode == 0
    for word in ("DATASET", "--model", "--screenshot", "evaluate", "--split", "--out"):
        assert word in result.stdout


def test_evaluate_writes_metrics_and_predictions(tmp_path):
    out = tmp_path / "eval"
    result = run_main(
        "evaluate", "resources/demo/digits", "--device", "cpu", "--out", str(out), "--quiet", "--no-save-run"
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    card = json.loads((ROOT / "resources/models/digits_cnn.json").read_text())
    assert metrics["task"] == "multiclass" and metrics["classes"] == [str(d) for d in range(10)]
    assert metrics["split"] == "test" and metrics["samples"] == card["metrics"]["test_samples"]
    cm = metrics["confusion_matrix"]
    assert sum(map(sum, cm)) == metrics["evaluated"] == metrics["samples"]
    # the headless run reproduces the accuracy the training script measured
    assert abs(metrics["accuracy"] - card["metrics"]["test_accuracy"]) < 1e-9
    assert set(metrics["per_class"]["3"]) == {"precision", "recall", "fbeta", "support"}
    assert metrics["zero_division"] == "0" and metrics["absent_classes"] == []  # scikit-learn's averages
    with open(out / "predictions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == metrics["samples"]
    correct = sum(int(r["correct"]) for r in rows)
    assert correct == sum(cm[i][i] for i in range(10))


def test_evaluate_zero_division_nan_leaves_undefined_values_out_and_says_so(tmp_path):
    import numpy as np
    from sklearn import metrics as skm

    out = tmp_path / "eval"
    args = ("evaluate", "resources/demo/digits", "--device", "cpu", "--out", str(out), "--quiet", "--no-save-run")
    result = run_main(*args, "--zero-division", "nan")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["zero_division"] == "nan"
    with open(out / "predictions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    y_true, y_pred = [int(r["label"]) for r in rows], [int(r["predicted"]) for r in rows]
    for average in ("macro", "weighted"):
        expected = skm.precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=np.nan)
        got = [metrics[average][k] for k in ("precision", "recall", "fbeta")]
        assert np.allclose(got, expected[:3]), average
    wrong = run_main(*args, "--zero-division", "0.5")
    assert wrong.returncode == 2 and "--zero-division" in wrong.stderr


def test_evaluate_on_a_folder_that_is_no_dataset_says_what_it_looked_for(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    result = run_main("evaluate", str(tmp_path), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "Image folder" in result.stderr and "Traceback" not in result.stderr
    listed = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert "  - COCO: no annotations/instances_<split>.json" in listed  # one layout a line, placeholders kept
    assert any("root/<class>/*.jpg or root/<split>/<class>/*.jpg" in line for line in listed)
    assert len(listed) >= 10


def test_screenshot_renders_the_three_panes_after_a_run(tmp_path):
    import os
    import shutil

    png = tmp_path / "shot.png"
    demo = tmp_path / "digits"  # a copy: the window's project store goes beside it, not into resources/
    shutil.copytree(ROOT / "resources" / "demo" / "digits", demo)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "main.py", str(demo), "--screenshot", str(png), "--size", "1200x800"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    import cv2

    image = cv2.imread(str(png))
    assert image.shape[:2] == (800, 1200)
    # the confusion matrix is drawn: its diagonal is dark blue (8, 48, 107) somewhere on the right half
    right = image[:, 600:]
    blue = (abs(right[:, :, 0].astype(int) - 107) < 12) & (abs(right[:, :, 2].astype(int) - 8) < 12)
    assert blue.sum() > 500
    # thumbnails with green frames (right predictions) on the left half
    left = image[:, :600]
    green = (left[:, :, 1] > 120) & (left[:, :, 0] < 90) & (left[:, :, 2] < 90)
    assert green.sum() > 200


def test_evaluate_a_segmenter_writes_its_report_and_masks(tmp_path):
    import numpy as np

    from core.datasets import open_dataset
    from tests.fake_datasets import tiny_unet_card, write_voc

    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="val")
    tiny_unet_card(tmp_path, dataset.classes, name="unet")
    out = tmp_path / "eval"
    result = run_main(
        "evaluate", str(root), "--split", "val", "--model", str(tmp_path / "unet.json"), "--device", "cpu",
        "--out", str(out), "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "segmentation" and metrics["evaluated"] == len(dataset)
    cm = np.array(metrics["confusion_matrix"])
    tp, t, p = np.diag(cm), cm.sum(1), cm.sum(0)
    present = (t + p) > 0
    iou = tp[present] / (t + p - tp)[present]
    assert abs(metrics["mean_iou"] - iou.mean()) < 1e-9
    assert set(metrics["absent_classes"]) == {c for c, keep in zip(dataset.classes, present) if not keep}
    rows = list(csv.DictReader(io.StringIO((out / "per_image.csv").read_text())))
    assert len(rows) == len(dataset)
    assert [float(r["mean_iou"]) for r in rows] == sorted(float(r["mean_iou"]) for r in rows)
    assert (out / "masks" / "run.json").is_file()

    # The run is in the dataset's project: the window shows it when the dataset is opened.
    assert "saved the run as #1" in result.stderr
    opened = open_with_project(str(root), split="val")
    assert opened.run is not None and opened.run.task == "segmentation" and opened.run.settings["command"] == "evaluate"
    assert opened.run.metrics["mean_iou"] == pytest.approx(metrics["mean_iou"])
    written = load_run(out / "masks")
    assert opened.predictions.done.all()
    for i in range(len(dataset)):
        np.testing.assert_array_equal(opened.predictions.mask(i), written.mask(i))
    np.testing.assert_array_equal(opened.predictions.confusion(), cm)
    opened.project.store.close()


def test_evaluate_records_its_run_in_the_datasets_project_unless_told_not_to(tmp_path):
    import shutil

    root = tmp_path / "digits"
    shutil.copytree(ROOT / "resources/demo/digits/test", root / "test")
    out = tmp_path / "eval"
    result = run_main("evaluate", str(root), "--device", "cpu", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "saved the run as #1 in the project" in result.stderr
    opened = open_with_project(str(root))
    metrics = json.loads((out / "metrics.json").read_text())
    assert opened.run.task == "multiclass" and opened.run.name == "Handwritten digits CNN"
    assert opened.run.metrics["accuracy"] == pytest.approx(metrics["accuracy"]) and opened.run.weights_sha256
    with np.load(out / "predictions.npz") as data:
        np.testing.assert_array_equal(opened.predictions.scores, data["scores"])

    # The project is open (as in a window): the store is read-only for evaluate, which says so.
    busy = run_main("evaluate", str(root), "--device", "cpu", "--out", str(tmp_path / "again"), "--quiet")
    assert busy.returncode == 0, busy.stderr
    assert "the run was not saved in the dataset's project" in busy.stderr and "another copy" in busy.stderr
    opened.project.store.close()
    skipped = run_main(
        "evaluate", str(root), "--device", "cpu", "--out", str(tmp_path / "o"), "--quiet", "--no-save-run"
    )
    assert skipped.returncode == 0, skipped.stderr
    assert "saved the run" not in skipped.stderr
    assert [run.id for run in open_project(open_dataset(root)).runs()] == [1]


def test_evaluate_maps_a_segmenters_classes_by_name_only_when_asked(tmp_path):
    """One class map for every task: a segmenter whose classes are named differently runs through the names
    it shares with the dataset under --map-classes (the others ignored), and is refused with the way out without."""
    from tests.core.demo_copies import renamed_scenes

    root = renamed_scenes(tmp_path)
    refused = run_main("evaluate", str(root), "--model", "scenes-unet", "--out", str(tmp_path / "a"), "--quiet",
                       "--no-save-run")  # fmt: skip
    assert refused.returncode == 2 and "--map-classes maps those named alike" in refused.stderr
    mapped = run_main("evaluate", str(root), "--model", "scenes-unet", "--map-classes", "--out", str(tmp_path / "b"),
                      "--quiet", "--no-save-run")  # fmt: skip
    assert mapped.returncode == 0, mapped.stderr
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text(encoding="utf-8"))
    dataset = open_dataset(root)
    shared = [name for name in dataset.classes if name != "sky"]
    assert metrics["settings"]["class_map"] == {name: name for name in shared}
    assert metrics["per_class"]["0"]["iou"] is not None and metrics["mean_iou"] > 0.5
