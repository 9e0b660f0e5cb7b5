"""One analysis from arrays to the files `analyze` writes: planted label errors, a copy across splits and a
far-away sample are found and written as the issue names the columns."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from core.analysis import CROSS_VALIDATED, HELD_OUT
from core.analysis.report import FILES, AnalysisInput, out_of_sample, write_reports
from core.analysis.session import analyze

CLASSES = ["cat", "dog", "bird"]


def blobs(n_per_class: int = 60, dim: int = 16, seed: int = 0):
    """Three well separated Gaussian blobs in embedding space, labels, and probabilities that follow them."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (3, dim))
    labels = np.repeat(np.arange(3), n_per_class)
    embeddings = centres[labels] + rng.normal(0, 1, (len(labels), dim))
    logits = -np.linalg.norm(embeddings[:, None, :] - centres[None], axis=2)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    return embeddings.astype(np.float32), labels, (probs / probs.sum(1, keepdims=True)).astype(np.float32)


def planted():
    embeddings, labels, probs = blobs()
    n = len(labels)
    flipped = np.array([5, 70, 130, 150])
    given = labels.copy()
    given[flipped] = (labels[flipped] + 1) % 3
    embeddings[n - 1] = embeddings[3]  # a copy of a training sample in the test split: a leak
    probs[n - 1] = probs[3]
    given[n - 1] = given[3]  # a faithful copy: same pixels, same label
    embeddings[100] = 40.0  # far from every blob
    splits = np.array(["train"] * (n - 40) + ["test"] * 40)
    ids = [f"s{i:03d}.png" for i in range(n)]
    hashes = [bytes([i % 256, i // 256]) for i in range(n)]
    hashes[n - 1] = hashes[3]
    inp = AnalysisInput(ids, splits, CLASSES, embeddings, probs, np.ones(n, bool), given, hashes=hashes)
    return inp, flipped


def test_planted_label_errors_copies_and_outliers_are_found():
    inp, flipped = planted()
    report = analyze(inp, map_method="pca")
    top = set(report.label_issues.indices[: len(flipped) + 2].tolist())
    assert set(flipped.tolist()) <= top
    pair = {(int(a), int(b)) for a, b in zip(report.duplicates.a, report.duplicates.b)}
    n = len(inp.sample_ids)
    assert (3, n - 1) in pair and report.duplicates.leak[report.duplicates.exact].all()
    assert report.outliers.indices[0] == 100
    assert report.coords.shape == (n, 2) and np.isfinite(report.coords).all()


def test_the_training_split_is_scored_by_cross_validation_not_by_the_models_own_predictions():
    inp, _ = planted()
    inp.trained = inp.splits == "train"
    probs, source = out_of_sample(inp)
    assert HELD_OUT in source and CROSS_VALIDATED in source
    test = inp.splits == "test"
    np.testing.assert_array_equal(probs[test], inp.probabilities[test])
    assert not np.allclose(probs[~test], inp.probabilities[~test])
    np.testing.assert_allclose(probs[~test].sum(1), 1.0, atol=1e-4)


def test_the_files_carry_the_columns_the_issue_names(tmp_path):
    inp, flipped = planted()
    report = analyze(inp, map_method="pca")
    written = write_reports(tmp_path, inp, report, model="blobs")
    assert [p.name for p in written] == list(FILES)

    def table(name):
        with open(tmp_path / name, newline="", encoding="utf-8") as handle:
            return list(csv.reader(handle))

    issues = table("label_issues.csv")
    assert issues[0] == ["sample_id", "split", "given", "suggested", "score"]
    first = issues[1]
    index = inp.sample_ids.index(first[0])
    assert index in flipped and first[2] == CLASSES[inp.labels[index]] and first[3] != first[2]
    assert table("duplicates.csv")[0] == ["sample_a", "split_a", "sample_b", "split_b", "distance"]
    outliers = table("outliers.csv")
    assert outliers[1][0] == "s100.png"
    scores = [float(row[2]) for row in outliers[1:]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0  # most unusual first, by its own score
    rows = table("embedding_map.csv")
    assert rows[0] == ["sample_id", "split", "x", "y"] and len(rows) == len(inp.sample_ids) + 1
    saved = np.load(tmp_path / "embeddings.npy")
    assert saved.dtype == np.float16 and saved.shape == inp.embeddings.shape
    summary = json.loads((tmp_path / "analysis.json").read_text(encoding="utf-8"))
    assert summary["model"] == "blobs" and summary["leaks"] >= 1 and summary["map_method"] == "pca"


def test_unlabeled_data_still_gets_duplicates_outliers_and_a_map():
    inp, _ = planted()
    inp.labels = None
    report = analyze(inp, map_method="pca")
    assert report.label_issues is None and "no labels" in report.notes[0]
    assert len(report.duplicates) >= 1


def test_rows_that_do_not_match_are_refused():
    inp, _ = planted()
    with pytest.raises(ValueError, match="embeddings has 3 rows"):
        AnalysisInput(inp.sample_ids, inp.splits, CLASSES, inp.embeddings[:3], inp.probabilities, inp.predicted, None)
