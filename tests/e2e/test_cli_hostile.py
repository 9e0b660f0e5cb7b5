"""`evaluate` on input that is not what it expects: a clear line and the right exit code (issue 11)."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np

from tests.e2e.test_cli import run_main


def _digit_images(folder: Path, n: int = 5) -> None:
    import cv2

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(str(folder / f"scan_{i}.png"), rng.integers(0, 256, (28, 28), dtype=np.uint8))


def test_evaluate_on_unlabeled_images_writes_the_predictions_and_says_there_is_nothing_to_score(tmp_path):
    _digit_images(tmp_path / "scans")
    out = tmp_path / "eval"
    result = run_main(
        "evaluate", str(tmp_path / "scans"), "--model", "digits-cnn", "--device", "cpu", "--out", str(out),
        "--quiet", "--no-save-run",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "the dataset has no labels: nothing to score" in result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["labeled"] is False and metrics["evaluated"] == 0 and metrics["predicted"] == 5
    with open(out / "predictions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5 and all(r["predicted_name"] and r["label"] == "" for r in rows)
    assert (out / "predictions.npz").is_file()


def test_out_naming_a_file_is_refused_before_the_run(tmp_path):
    taken = tmp_path / "results.txt"
    taken.write_text("the user's notes")
    start = time.monotonic()
    result = run_main("evaluate", "resources/demo/digits", "--device", "cpu", "--out", str(taken), "--no-save-run")
    assert result.returncode == 2 and "is a file, not a folder" in result.stderr
    assert "Traceback" not in result.stderr and taken.read_text() == "the user's notes"
    assert time.monotonic() - start < 60


def test_classes_naming_a_binary_file_is_a_clear_error(tmp_path):
    binary = tmp_path / "classes.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    result = run_main(
        "evaluate", "resources/demo/digits", "--model", "resources/models/digits_cnn.pt", "--classes", str(binary),
        "--device", "cpu", "--out", str(tmp_path / "eval"), "--no-save-run",
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"--classes {binary}: it is not a text file of class names" in result.stderr


def test_segmentation_evaluate_counts_the_images_without_a_readable_true_mask(tmp_path):
    from core.datasets import open_dataset
    from tests.fake_datasets import tiny_unet_card, write_voc

    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="val")
    for i in range(2):
        dataset.mask_path(i).write_bytes(b"not a png")
    tiny_unet_card(tmp_path, dataset.classes, name="unet")
    result = run_main(
        "evaluate", str(root), "--split", "val", "--model", str(tmp_path / "unet.json"), "--device", "cpu",
        "--out", str(tmp_path / "eval"), "--quiet", "--no-save-run",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    n = len(dataset)
    assert f"{n - 2} of {n} samples evaluated" in result.stderr and "2 without a readable true mask" in result.stderr
    assert result.stderr.count("  no true mask: ") == 2
