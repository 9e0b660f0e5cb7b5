"""`python main.py analyze` on the demo with planted faults (resources/demo/digits_noisy), as the README shows it:
what its planted.json records is found, measured as precision and recall against floors a little under what
was measured (in the comments)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.datasets import open_dataset

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources" / "demo" / "digits_noisy"


def table(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


@pytest.fixture(scope="module")
def planted() -> dict:
    return json.loads((DEMO / "planted.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def found(tmp_path_factory) -> Path:
    """The output folder of one analyze run on the bundled demo, with no --model: the demo's own model."""
    out = tmp_path_factory.mktemp("why")
    command = [sys.executable, "main.py", "analyze", str(DEMO), "--device", "cpu", "--map", "pca", "--quiet"]
    result = subprocess.run([*command, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return out


def test_the_demo_model_runs_and_its_training_split_is_cross_validated(found):
    summary = json.loads((found / "analysis.json").read_text(encoding="utf-8"))
    assert summary["model"] == "digits-noisy-cnn" and summary["trained_on"] == "train"
    assert "cross-validated" in summary["label_issue_source"]


def test_flipped_training_labels_are_flagged_with_precision(found, planted):
    """Measured: 58 of the 72 flips flagged (recall 0.81), no false alarm (precision 1.0): confident learning,
    and on the cross-validated rows the probe's argmax where it is not the given label (see the next test)."""
    errors = {e["sample_id"]: e for e in planted["label_errors"]}
    flagged = [row for row in table(found / "label_issues.csv") if row[1] == "train"]  # most suspect first
    hits = [row for row in flagged if row[0] in errors]
    assert len(hits) >= 0.75 * len(errors) and len(hits) >= 0.9 * len(flagged), (len(hits), len(flagged))
    classes = open_dataset(DEMO).classes  # as label_issues.csv names them: "3 - three"
    for row in hits:  # given as planted, suggested as the image shows
        assert (row[2], row[3]) == (classes[errors[row[0]]["given"]], classes[errors[row[0]]["true"]]), row


def test_the_cross_validated_probabilities_point_at_the_flips(found, planted):
    """Out-of-sample probabilities from analyze's own embeddings (as analyze makes them) disagree with 58 of the
    72 flipped labels and with no other training label, and rank 66 of them in the top 72; cleanlab's filter
    (prune_by_noise_rate) alone keeps only 4, as the flipped digits are ambiguous: their p(true) (median 0.55)
    stays under the classes' thresholds (0.82-0.93). So analyze flags the probe's disagreements too."""
    import numpy as np

    from core.analysis import cross_validated_probabilities

    ids = [row[0] for row in table(found / "embedding_map.csv")]
    train = open_dataset(DEMO, split="train")
    rows = [i for i, sid in enumerate(ids) if sid.startswith("train/")]
    assert [ids[i] for i in rows] == train.sample_ids
    embeddings = np.load(found / "embeddings.npy").astype(np.float32)[rows]
    labels = np.asarray(train.targets)
    probabilities = cross_validated_probabilities(embeddings, labels, num_classes=10)
    predicted = probabilities.argmax(axis=1)
    disagree = {train.sample_ids[i] for i in np.flatnonzero(predicted != labels)}
    errors = {e["sample_id"] for e in planted["label_errors"]}
    assert len(disagree & errors) >= 0.75 * len(errors), len(disagree & errors)  # recall, measured 0.81
    assert len(disagree & errors) >= 0.9 * len(disagree), len(disagree)  # precision, measured 1.0
    # Ranked by self-confidence (p of the given label), the top k (k = 72 planted) hold 66 of the flips.
    top = np.argsort(probabilities[np.arange(len(labels)), labels], kind="stable")[: len(errors)]
    assert len({train.sample_ids[i] for i in top} & errors) >= 0.85 * len(errors)


def test_copies_across_splits_are_found_without_flooding(found, planted):
    pairs = [(frozenset((row[0], row[2])), row[1] != row[3]) for row in table(found / "duplicates.csv")]
    found_pairs = {pair for pair, _ in pairs}
    for exact in (True, False):
        wanted = [frozenset((d["train"], d["test"])) for d in planted["duplicates"] if d["exact"] == exact]
        hits = sum(pair in found_pairs for pair in wanted)
        assert hits >= (len(wanted) if exact else 6), (exact, hits)  # measured 10 of 10 exact, 7 of 10 near
    leaks = sum(leak for _, leak in pairs)
    assert leaks <= 25, leaks  # measured 17 pairs, all planted leaks: none beyond them, not hundreds
    assert len(pairs) <= 25, len(pairs)


def test_planted_outliers_rank_first(found, planted):
    ranked = [row[0] for row in table(found / "outliers.csv")]
    wanted = {o["sample_id"] for o in planted["outliers"]}
    assert len(wanted & set(ranked[: len(wanted)])) >= 10  # measured 12 of the 16 in the top 16
    assert len(wanted & set(ranked[: 2 * len(wanted)])) >= 15  # measured all 16 in the top 32
