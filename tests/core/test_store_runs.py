"""Model runs in the store: saved with their weights' hash and metrics, reloaded, compared."""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import numpy as np
import pytest

from core.inference.predictions import Predictions
from core.labels import ProjectStore, StoreReadOnlyError, StoreWriteError, open_project
from core.labels.project import Project
from tests.core.test_labels_support import synthetic


def predictions(dataset, predicted: np.ndarray, model: str = "net") -> Predictions:
    """Scores whose argmax is ``predicted`` (0.7 on it, the rest shared)."""
    n, c = len(dataset), len(dataset.classes)
    scores = np.full((n, c), 0.3 / (c - 1), dtype=np.float32)
    scores[np.arange(n), predicted] = 0.7
    return Predictions(
        "multiclass", dataset.classes, dataset.sample_ids, scores, np.ones(n, bool), model=model, device="cpu"
    )


def wrong(targets: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A prediction wrong on ``count`` random samples: (predicted, indices of the wrong ones)."""
    index = np.random.default_rng(seed).choice(len(targets), count, replace=False)
    predicted = targets.copy()
    predicted[index] = (targets[index] + 1) % 4
    return predicted, index


def test_runs_are_kept_reloaded_and_compared(tmp_path: Path) -> None:
    dataset = synthetic(tmp_path / "ds", 200, classes=4)
    project = open_project(dataset)
    targets = dataset.targets
    pred_a, wrong_a = wrong(targets, 40, seed=1)
    pred_b, _ = wrong(targets, 60, seed=2)
    weights = tmp_path / "net.pt"
    weights.write_bytes(b"weights" * 1000)
    run_a = project.save_run(predictions(dataset, pred_a, "A"), weights=weights, settings={"batch_size": 32})
    project.save_run(predictions(dataset, pred_b, "B"), name="second try")
    assert run_a.weights_sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert run_a.weights_path == str(weights.resolve()) and run_a.device == "cpu" and run_a.split == ""
    assert run_a.metrics["accuracy"] == pytest.approx(0.8) and run_a.settings == {"batch_size": 32}

    project.store.close()
    project = open_project(dataset)
    runs = project.runs()
    assert [(r.name, r.model) for r in runs] == [("A", "A"), ("second try", "B")]
    loaded = project.load_run(runs[0])
    assert np.array_equal(loaded.predicted, pred_a) and loaded.model == "A"

    comparison = project.compare_runs(runs[0], runs[1].id)
    rows = {name: (a, b) for name, a, b in comparison.rows}
    assert rows["accuracy"] == (pytest.approx(0.8), pytest.approx(0.7))
    assert "macro.fbeta" in rows and "per_class" not in rows
    right_a, right_b = pred_a == targets, pred_b == targets
    assert comparison.right_a_wrong_b.tolist() == np.flatnonzero(right_a & ~right_b).tolist()
    assert comparison.wrong_a_right_b.tolist() == np.flatnonzero(~right_a & right_b).tolist()
    assert len(comparison.both_right) + len(comparison.both_wrong) == int((right_a == right_b).sum())

    fixed = wrong_a[:10]  # the user decides the model was right there: the labels were wrong
    project.set_label(fixed, pred_a[fixed])
    assert project.summarize(loaded)["accuracy"] == pytest.approx(0.85)
    assert project.summarize(loaded, original=True)["accuracy"] == pytest.approx(0.8)  # the switch
    assert project.runs()[0].metrics["accuracy"] == pytest.approx(0.8)  # the metrics at the time
    project.set_status(np.arange(100), "excluded")
    summary = project.summarize(loaded)
    assert summary["evaluated"] == 100 and summary["excluded"] == 100
    assert set(project.compare_runs(runs[0], runs[1]).right_a_wrong_b.tolist()) <= set(range(100, 200))


def test_a_run_of_a_reordered_dataset_is_aligned_by_sample_id(tmp_path: Path) -> None:
    dataset = synthetic(tmp_path / "ds", 50, classes=4)
    project = open_project(dataset)
    order = np.random.default_rng(0).permutation(50)[:40]  # shuffled, and 10 samples missing
    full = predictions(dataset, dataset.targets)
    ran = np.arange(40) > 0  # the first of them failed to decode
    partial = Predictions(
        "multiclass",
        dataset.classes,
        [dataset.sample_ids[i] for i in order],
        full.scores[order],
        ran,
        errors={0: "bad file"},
    )
    loaded = project.load_run(project.save_run(partial, metrics={}))
    assert loaded.sample_ids == dataset.sample_ids and loaded.num_done == 39
    done = np.zeros(50, bool)
    done[order[1:]] = True
    assert (loaded.done == done).all() and loaded.errors == {int(order[0]): "bad file"}
    assert (loaded.predicted[done] == dataset.targets[done]).all()


def test_saving_a_run_on_a_full_disk_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    dataset = synthetic(tmp_path / "ds", 30, classes=4)
    project = open_project(dataset)

    def full_disk(self, path):
        Path(path).with_name(Path(path).name + ".tmp.npz").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Predictions, "save", full_disk)
    with pytest.raises(StoreWriteError, match=r"No space left on device\. Nothing of the run was saved"):
        project.save_run(predictions(dataset, dataset.targets))
    assert project.runs() == [] and list(project.store.runs_folder.iterdir()) == []


def test_a_read_only_store_refuses_runs(tmp_path: Path) -> None:
    dataset = synthetic(tmp_path / "ds", 10, classes=4)
    first = open_project(dataset)  # held: a store is closed (and its lock released) when dropped
    second = ProjectStore.open(dataset.root, dataset.layout, shared=False)
    with pytest.raises(StoreReadOnlyError, match="Cannot save the run"):
        Project(second, dataset).save_run(predictions(dataset, dataset.targets))
    second.close()
    first.store.close()


def test_multilabel_runs_compare_by_every_tag(tmp_path: Path) -> None:
    from core.datasets import open_dataset
    from tests.fake_datasets import write_celeba

    write_celeba(tmp_path, n=30)
    project = open_project(open_dataset(tmp_path / "celeba", split="train"))
    tags = project.tags().astype(bool)
    rng = np.random.default_rng(0)
    runs = []
    for flips in (0.0, 0.05):
        wrong_tags = rng.random(tags.shape) < flips
        scores = np.where(tags ^ wrong_tags, 0.9, 0.1).astype(np.float32)
        run = Predictions(
            "multilabel", project.dataset.classes, project.dataset.sample_ids, scores, np.ones(len(tags), bool)
        )
        runs.append(project.save_run(run))
    assert runs[0].metrics["subset_accuracy"] == 1.0
    comparison = project.compare_runs(*runs)
    right_b = (project.load_run(runs[1]).scores >= 0.5) == tags
    assert comparison.right_a_wrong_b.tolist() == np.flatnonzero(~right_b.all(axis=1)).tolist()
    assert dict((n, a) for n, a, _ in comparison.rows)["subset_accuracy"] == 1.0


def test_a_run_follows_the_class_names_when_a_class_folder_is_renamed_after_it(tmp_path: Path) -> None:
    """A saved run is scored by class name, never by a column index that now means another class: the folder
    "7" renamed "seven" shifts "8" and "9" one place down the sorted class list."""
    import shutil

    from core.datasets import open_dataset
    from core.models.cards import RESOURCES

    root = shutil.copytree(RESOURCES / "demo" / "digits", tmp_path / "digits")
    dataset = open_dataset(root)
    project = open_project(dataset)
    project.save_run(predictions(dataset, dataset.targets), name="right everywhere")
    project.store.close()
    for split in ("train", "test"):
        (root / split / "7").rename(root / split / "seven")
    renamed = open_dataset(root)
    assert renamed.classes[7:] == ["8", "9", "seven"]
    project = open_project(renamed)
    loaded = project.load_run(project.runs()[0])
    assert loaded.classes == renamed.classes
    named = np.array(renamed.classes)
    rows = np.flatnonzero(loaded.done)
    np.testing.assert_array_equal(named[loaded.predicted[rows]], named[renamed.targets[rows]])
    assert not loaded.done[renamed.targets == renamed.classes.index("seven")].any()  # "seven" is no name of the run
    summary = project.summarize(loaded)
    assert summary["accuracy"] == pytest.approx(1.0) and summary["predicted"] == int(loaded.done.sum())


def test_a_run_that_names_none_of_the_datasets_classes_is_refused_with_both_lists() -> None:
    from core.models import ModelError
    from core.tasks.classification import align_predictions

    run = Predictions("multiclass", ["cat", "dog"], ["a", "b"], np.full((2, 2), 0.5, np.float32), np.ones(2, bool))
    with pytest.raises(ModelError, match="the run predicts cat, dog, none of which is a class of the dataset now"):
        align_predictions(run, ["a", "b"], ["car", "bus"])
    reordered = align_predictions(run, ["b", "a"], ["dog", "cat"])
    assert reordered.classes == ["dog", "cat"] and reordered.sample_ids == ["b", "a"]
