"""`python main.py analyze` end to end on a copy of the digits demo with planted faults: test images moved
into the wrong class folder (label errors) and a training image copied into the test split (a leak)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from core.models.cards import RESOURCES

ROOT = Path(__file__).resolve().parents[2]


def run_main(*args, timeout=600):
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def table(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_analyze_finds_planted_label_errors_and_a_leak(tmp_path):
    root = shutil.copytree(RESOURCES / "demo" / "digits", tmp_path / "digits", ignore=shutil.ignore_patterns(".*"))
    flipped = []  # 20 of the 360 test images (5.6%), two from each digit, into the next digit's folder
    chosen = {digit: sorted((root / "test" / str(digit)).iterdir())[:2] for digit in range(10)}  # before any move
    for digit, sources in chosen.items():
        wrong = str((digit + 1) % 10)
        for source in sources:
            source.rename(root / "test" / wrong / source.name)
            flipped.append(f"test/{wrong}/{source.name}")
    copied = sorted((root / "train" / "5").iterdir())[0]
    shutil.copy(copied, root / "test" / "5" / f"copy_{copied.name}")

    # a copy is not the dataset the card names as its own: say which split the model was trained on
    result = run_main("analyze", str(root), "--trained-on", "train", "--out", str(tmp_path / "why"), "--quiet",
                      "--map", "pca")  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = tmp_path / "why"
    issues = table(out / "label_issues.csv")
    assert issues[0] == ["sample_id", "split", "given", "suggested", "score"]
    found = {row[0]: row for row in issues[1:]}
    hits = set(flipped) & set(found)
    in_test = [name for name in found if name.startswith("test/")]
    assert len(hits) >= 0.75 * len(flipped), (len(hits), sorted(found)[:30])  # recall
    assert len(hits) >= 0.9 * len(in_test), in_test  # precision on the split the model never saw
    for name in hits:  # given as the folder says, suggested as the image shows
        given, suggested = found[name][2:4]
        assert int(given) == (int(suggested) + 1) % 10, found[name]
    pairs = {(row[0], row[2]) for row in table(out / "duplicates.csv")[1:]}
    leak = (f"train/5/{copied.name}", f"test/5/copy_{copied.name}")
    assert leak in pairs or leak[::-1] in pairs
    summary = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    assert summary["trained_on"] == "train" and summary["leaks"] >= 1 and summary["samples"] == 1798
    assert "cross-validated" in summary["label_issue_source"]
    assert len(table(out / "embedding_map.csv")) == 1799


def test_analyze_refuses_a_split_that_is_not_there(tmp_path):
    split = run_main("analyze", str(RESOURCES / "demo" / "digits"), "--split", "val", "--out", str(tmp_path / "b"))
    assert split.returncode == 2 and "has no split 'val'" in split.stderr
    assert not (tmp_path / "b" / "label_issues.csv").exists()


def test_two_processes_under_torchrun_write_what_one_process_writes(tmp_path):
    """A classifier's test split (held out: the model's own scores) in one process and in two under torchrun."""
    options = ["--split", "test", "--map", "pca", "--device", "cpu", "--batch-size", "32", "--quiet"]
    digits = str(RESOURCES / "demo" / "digits")
    one = run_main("analyze", digits, *options, "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "main.py",
                "analyze", digits, *options, "--out", str(tmp_path / "two")]  # fmt: skip
    two = subprocess.run(torchrun, cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("wrote ") == 1 and "analysing 360 samples" in two.stderr
    assert_same_files(tmp_path / "one", tmp_path / "two")
    assert json.loads((tmp_path / "two" / "analysis.json").read_text())["samples"] == 360


def test_a_refusal_under_torchrun_ends_every_process(tmp_path):
    digits = str(RESOURCES / "demo" / "digits")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "main.py",
                "analyze", digits, "--split", "val", "--out", str(tmp_path / "b")]  # fmt: skip
    result = subprocess.run(torchrun, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and result.stderr.count("has no split 'val'") == 1  # said once, by rank 0


def assert_same_files(one: Path, two: Path) -> None:
    """The same files with the same rows; floats equal up to rounding (a BLAS on one or two threads sums in
    another order); embeddings.npy bit for bit (the ranks ran the batches one process runs)."""
    assert sorted(p.name for p in one.iterdir()) == sorted(p.name for p in two.iterdir())
    for name in ("label_issues.csv", "duplicates.csv", "outliers.csv", "embedding_map.csv"):
        a, b = table(one / name), table(two / name)
        assert len(a) == len(b) and a[0] == b[0], name
        for row_a, row_b in zip(a[1:], b[1:]):
            (text_a, numbers_a), (text_b, numbers_b) = _split(row_a), _split(row_b)
            assert text_a == text_b and np.allclose(numbers_a, numbers_b, atol=1e-5), (name, row_a, row_b)
    assert (one / "embeddings.npy").read_bytes() == (two / "embeddings.npy").read_bytes()
    summary_one, summary_two = (json.loads((d / "analysis.json").read_text()) for d in (one, two))
    distance = "near_duplicate_distance"
    assert abs(summary_one.pop(distance) - summary_two.pop(distance)) < 1e-6 and summary_one == summary_two


def _split(row: list[str]) -> tuple[list[str], np.ndarray]:
    """(the text columns, the float columns: scores, distances, coordinates) of a row; class names in these
    demos are digits without a point, so they stay text."""
    number = ["." in x and x.replace(".", "", 1).lstrip("-").isdigit() for x in row]
    return [x for x, n in zip(row, number) if not n], np.array([float(x) for x, n in zip(row, number) if n])
