"""`python main.py analyze` on a segmenter, end to end: a copy of the scenes demo with planted faults (a digit
painted as another digit in five test masks, a training scene copied into the test split) run with its U-Net,
in one process and in two under torchrun (gloo on the CPU), which must write the same files."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.models.cards import RESOURCES
from tests.e2e.test_cli_analyze import assert_same_files

ROOT = Path(__file__).resolve().parents[2]
TRAIN = 150  # of the 600 training scenes
SAMPLES = TRAIN + 200 + 1  # and the 200 test scenes, and the copy
OPTIONS = ("--trained-on", "train", "--map", "pca", "--device", "cpu", "--quiet")


def run(args, timeout=600):
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=environment)


def table(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def plant(root: Path) -> tuple[dict[str, tuple[str, str]], str]:
    """Paint one digit of every 40th test scene as a digit absent from it; copy train/0005 into test.
    Returns ({sample id: (painted class, true class)}, the copy's id)."""
    with open(root / "sources.csv", newline="") as handle:
        digits = [row for row in csv.DictReader(handle) if row["split"] == "test"]
    painted = {}
    for row in digits[::40][:5]:
        path = root / "masks" / "test" / row["image"]
        mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        true = int(row["class"]) + 1  # mask values: 0 background, 1 + digit
        wrong = next(v for v in range(1, 11) if v not in set(np.unique(mask).tolist()))
        x, y, w, h = (int(row[key]) for key in ("x", "y", "width", "height"))
        box = mask[y : y + h, x : x + w]
        box[box == true] = wrong
        cv2.imwrite(str(path), mask)
        painted[f"test/{row['image']}"] = (str(wrong - 1), str(true - 1))
    for kind in ("images", "masks"):
        shutil.copy(root / kind / "train" / "0005.png", root / kind / "test" / "copy_0005.png")
    return painted, "test/copy_0005.png"


def _fewer_training_scenes(folder: str, names: list[str]) -> list[str]:
    """Hidden files, and the training scenes past the first TRAIN (a shorter run; the copy is in them)."""
    late = Path(folder).name == "train" and Path(folder).parent.name in ("images", "masks")
    return [n for n in names if n.startswith(".") or (late and n.endswith(".png") and int(n[:4]) >= TRAIN)]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The planted copy and what one process wrote for it."""
    tmp = tmp_path_factory.mktemp("scenes")
    root = shutil.copytree(RESOURCES / "demo" / "scenes", tmp / "scenes", ignore=_fewer_training_scenes)
    painted, copy = plant(root)
    result = run([sys.executable, "main.py", "analyze", str(root), *OPTIONS, "--out", str(tmp / "one")])
    assert result.returncode == 0, result.stderr
    return root, painted, copy, tmp / "one", result


def test_analyze_finds_painted_masks_and_a_copied_scene(planted):
    _, painted, copy, out, result = planted
    issues = table(out / "label_issues.csv")
    assert issues[0] == ["sample_id", "split", "given", "suggested", "score", "suspect_share"]
    found = {row[0]: row for row in issues[1:]}
    assert set(painted) <= set(found), sorted(found)  # recall: every painted mask
    for name, (wrong, true) in painted.items():  # given as the mask says, suggested as the image shows
        assert found[name][2:4] == [wrong, true], found[name]
    in_test = [row[0] for row in issues[1:] if row[1] == "test"]
    assert set(in_test[:8]) >= set(painted), in_test  # the painted ones lead the held-out split
    scores = [float(row[4]) for row in issues[1:]]
    assert scores == sorted(scores) and len(issues) - 1 < 0.1 * SAMPLES  # flagged images, not every image
    pairs = {(row[0], row[2]) for row in table(out / "duplicates.csv")[1:]}
    assert ("train/0005.png", copy) in pairs
    summary = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    assert summary["task"] == "segmentation" and summary["samples"] == SAMPLES and summary["leaks"] >= 1
    assert summary["label_issue_sources"]["train"].startswith("the model's own in-sample")
    assert summary["label_issue_sources"]["test"].startswith("predictions of the model on a split it was not")
    assert "in-sample" in result.stderr and summary["label_issues"] == len(issues) - 1
    embeddings = np.load(out / "embeddings.npy")
    assert embeddings.shape == (SAMPLES, 128) and embeddings.dtype == np.float16  # the U-Net's pooled bottleneck
    assert len(table(out / "embedding_map.csv")) == len(table(out / "outliers.csv")) == SAMPLES + 1


def test_two_processes_under_torchrun_write_what_one_process_writes(planted):
    root, _, _, one, _ = planted
    two = one.parent / "two"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "main.py",
                "analyze", str(root), *OPTIONS, "--out", str(two)]  # fmt: skip
    result = run(torchrun)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.count("wrote ") == 1 and result.stderr.count(f"analysing {SAMPLES} samples") == 1
    )  # rank 0 only
    assert_same_files(one, two)
