"""`python main.py analyze` end to end on a copy of the digits demo with planted faults: test images moved
into the wrong class folder (label errors) and a training image copied into the test split (a leak)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

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
