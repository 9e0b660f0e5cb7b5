"""A run made elsewhere (`evaluate --out DIR` on a cluster) is imported into the project as a run, after its
sample ids are checked against the open split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core import tasks
from core.datasets.base import Dataset
from core.inference.predictions import Predictions
from core.labels import open_project
from core.labels.run_import import RunImportError, import_run, read_run_folder
from tests.core.test_labels_support import synthetic


def evaluated(dataset: Dataset, out: Path, seed: int = 3) -> Predictions:
    """What `evaluate --out out` writes for a classifier on ``dataset``: metrics.json, predictions.npz/csv."""
    rng = np.random.default_rng(seed)
    n, c = len(dataset), len(dataset.classes)
    scores = rng.random((n, c)).astype(np.float32)
    scores[np.arange(n), dataset.targets] += 0.8  # mostly right
    preds = Predictions("multiclass", dataset.classes, dataset.sample_ids, scores, np.ones(n, bool), model="net")
    preds.device = "cuda"
    tasks.of(preds).write_evaluation(dataset, preds, out)
    return preds


def test_an_evaluated_folder_becomes_a_run_with_the_clusters_metrics_and_predictions(tmp_path):
    dataset = synthetic(tmp_path / "ds", 120, classes=4)
    made = evaluated(dataset, tmp_path / "out")
    project = open_project(dataset)
    run = import_run(project, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert [r.id for r in project.runs()] == [run.id]
    assert run.metrics["accuracy"] == written["accuracy"] and run.headline.startswith("accuracy")
    assert run.device == "cuda" and run.name == "net (imported)"
    assert run.settings["imported_from"] == str((tmp_path / "out").resolve())
    loaded = project.load_run(run)
    np.testing.assert_array_equal(loaded.scores, made.scores)
    project.store.close()


def test_embeddings_written_beside_the_run_come_with_it(tmp_path):
    dataset = synthetic(tmp_path / "ds", 50, classes=3)
    evaluated(dataset, tmp_path / "out")
    rows = np.random.default_rng(0).random((50, 8)).astype(np.float16)
    np.save(tmp_path / "out" / "embeddings.npy", rows)
    project = open_project(dataset)
    run = import_run(project, tmp_path / "out")
    assert run.has_embeddings
    np.testing.assert_array_equal(project.load_run_embeddings(run), rows)
    project.store.close()


def test_a_run_on_other_samples_says_how_many_are_missing_and_extra(tmp_path):
    dataset = synthetic(tmp_path / "ds", 100, classes=4)
    evaluated(dataset, tmp_path / "out")
    # the copy here lost 3 images and gained 2 since the cluster's run
    ids = [*dataset.sample_ids[3:], "new1", "new2"]
    here = Dataset(dataset.root, task="multiclass", classes=dataset.classes, splits=[], split=None,
                   sample_ids=ids, targets=np.zeros(len(ids), int))  # fmt: skip
    project = open_project(here)
    with pytest.raises(RunImportError) as error:
        import_run(project, tmp_path / "out")
    message = str(error.value)
    assert "2 of the split's 99 samples are missing from the run (new1, new2)" in message
    assert "3 of the run's 100 samples are not in the split (s000000, s000001, s000002)" in message
    assert project.runs() == []  # nothing recorded
    project.store.close()


def test_a_run_of_another_split_is_refused(tmp_path):
    base = synthetic(tmp_path / "ds", 40, classes=2)
    train = Dataset(base.root, task="multiclass", classes=base.classes, splits=["train", "test"], split="train",
                    sample_ids=base.sample_ids, targets=base.targets)  # fmt: skip
    evaluated(train, tmp_path / "out")
    test = Dataset(base.root, task="multiclass", classes=base.classes, splits=["train", "test"], split="test",
                   sample_ids=base.sample_ids, targets=base.targets)  # fmt: skip
    project = open_project(test)
    with pytest.raises(RunImportError, match=r"made on split 'train'; .* open on split 'test'"):
        import_run(project, tmp_path / "out")
    project.store.close()


def test_a_folder_that_is_not_an_evaluate_output_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunImportError, match=r"has no metrics\.json"):
        read_run_folder(tmp_path / "empty")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "metrics.json").write_text('{"task": "multiclass"}')
    with pytest.raises(RunImportError, match=r"predictions \(predictions.npz\) cannot be read"):
        read_run_folder(tmp_path / "half")
    with pytest.raises(RunImportError, match="is not a folder"):
        read_run_folder(tmp_path / "nowhere")
