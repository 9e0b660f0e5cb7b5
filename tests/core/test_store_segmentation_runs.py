"""Segmentation runs in the project store: kept in one file, reloaded without decoding a mask, compared."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.datasets import open_dataset
from core.datasets.base import SampleError
from core.inference import mask_archive
from core.inference.mask_archive import load_archive
from core.inference.mask_store import SegmentationPredictions
from core.labels import StoreWriteError, open_project
from core.metrics import pixel_confusion_matrix
from tests.fake_datasets import write_voc


def fake_run(dataset, folder: Path, wrong: dict[int, int], model: str) -> SegmentationPredictions:
    """A run whose masks are the truth with the first ``wrong[i]`` rows of image i set to class 1."""
    preds = SegmentationPredictions.empty(dataset.classes, dataset.sample_ids, folder, model=model, device="cpu")
    c = len(dataset.classes)
    for i in range(len(dataset)):
        truth = dataset.load_mask(i)
        mask = np.where(truth == 255, 0, truth).astype(np.uint8)
        mask[: wrong.get(i, 0)] = 1
        probs = np.zeros((c, *mask.shape), dtype=np.uint8)
        np.put_along_axis(probs, mask[None].astype(np.intp), 255, axis=0)
        preds.record(i, mask, probs, pixel_confusion_matrix(truth, mask, c, 255))
    preds.settings = {"mode": "resize", "tile": None}
    preds.save()
    return preds


def test_segmentation_runs_are_kept_reloaded_and_compared(tmp_path: Path) -> None:
    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="trainval")  # 5 images of 10 x 12, 21 classes
    project = open_project(dataset)
    run_a = fake_run(dataset, tmp_path / "a", {0: 2, 3: 6}, "unet-a")
    run_b = fake_run(dataset, tmp_path / "b", {0: 5, 1: 3, 3: 1}, "unet-b")
    first = project.save_run(run_a, name="A", settings={"batch_size": 8, **run_a.settings})
    project.save_run(run_b, name="B")
    assert first.task == "segmentation" and first.metrics["mean_iou"] == pytest.approx(run_a.report()["mean_iou"])
    assert first.headline == f"mean IoU {run_a.report()['mean_iou']:.1%}"
    expected = {i: (run_a.mask(i), run_a.probabilities(i)) for i in range(len(dataset))}
    confusion_a, scores_a = run_a.confusion(), run_a.per_image_scores()
    sample_file = run_a.store.path(2).read_bytes()
    shutil.rmtree(tmp_path / "a")  # the run folder was temporary: the store holds its own copy
    shutil.rmtree(tmp_path / "b")
    project.store.close()

    project = open_project(open_dataset(root, split="trainval"))
    runs = project.runs()
    assert [(r.name, r.model, r.task) for r in runs] == [
        ("A", "unet-a", "segmentation"),
        ("B", "unet-b", "segmentation"),
    ]
    assert runs[0].settings == {"batch_size": 8, "mode": "resize", "tile": None}
    loaded = project.load_run(runs[0])
    assert loaded.model == "unet-a" and loaded.done.all() and loaded.settings["mode"] == "resize"
    np.testing.assert_array_equal(loaded.confusion(), confusion_a)
    np.testing.assert_allclose(loaded.per_image_scores()["mean_iou"], scores_a["mean_iou"])
    for i, (mask, probs) in expected.items():
        np.testing.assert_array_equal(loaded.mask(i), mask)
        np.testing.assert_array_equal(loaded.probabilities(i), probs)

    comparison = project.compare_runs(runs[0], runs[1])
    rows = {name: (a, b) for name, a, b in comparison.rows}
    assert rows["mean IoU"] == (pytest.approx(runs[0].metrics["mean_iou"]), pytest.approx(runs[1].metrics["mean_iou"]))
    per_class_b = project.load_run(runs[1]).report()
    for c in np.flatnonzero(per_class_b["present"]):
        name = dataset.classes[c]
        assert rows[f"IoU · {name}"][1] == pytest.approx(per_class_b["iou"][c])
        assert rows[f"Dice · {name}"][1] == pytest.approx(per_class_b["dice"][c])
    # A is better where B has more wrong rows (0, 1), worse on 3, the same on 2 and 4.
    assert comparison.better_in_a.tolist() in ([0, 1], [1, 0]) and comparison.worse_in_a.tolist() == [3]
    assert sorted(comparison.tied.tolist()) == [2, 4]
    delta = comparison.delta
    assert delta[comparison.better_in_a[0]] >= delta[comparison.better_in_a[-1]] > 0  # the largest gain first
    better, worse = comparison.filters()
    assert better.label == "Better in A" and better.selection.ordered
    assert better.selection.indices.tolist() == comparison.better_in_a.tolist()
    assert worse.label == "Worse in A" and worse.selection.name.startswith("worse in #1 than #2")

    # Loading reads no mask: a damaged one is that sample's error when shown, not a run that cannot load.
    archive = project.store.folder / runs[0].predictions_file
    content = bytearray(archive.read_bytes())
    at = content.find(sample_file)
    content[at : at + len(sample_file)] = bytes(len(sample_file))
    archive.write_bytes(bytes(content))
    damaged = project.load_run(runs[0])
    np.testing.assert_array_equal(damaged.confusion(), confusion_a)
    with pytest.raises(SampleError, match="cannot read the stored prediction of sample 2"):
        damaged.mask(2)
    np.testing.assert_array_equal(damaged.mask(3), expected[3][0])
    project.store.close()


def test_a_saved_segmentation_run_follows_its_samples_by_id(tmp_path: Path) -> None:
    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="trainval")
    run = fake_run(dataset, tmp_path / "a", {1: 4, 4: 2}, "unet")
    mask_archive.save_archive(run, tmp_path / "run.npz")
    ids = [dataset.sample_ids[i] for i in (4, 2, 1)] + ["not-in-the-run"]
    loaded = load_archive(tmp_path / "run.npz", ids)
    assert loaded.done.tolist() == [True, True, True, False]
    np.testing.assert_array_equal(loaded.mask(0), run.mask(4))
    np.testing.assert_array_equal(loaded.image_confusion(2), run.image_confusion(1))
    np.testing.assert_allclose(loaded.per_image_scores()["mean_iou"][:3], run.per_image_scores()["mean_iou"][[4, 2, 1]])
    assert not loaded.has_truth[3] and 3 not in loaded.store


def test_saving_a_segmentation_run_on_a_full_disk_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="trainval")
    project = open_project(dataset)
    run = fake_run(dataset, tmp_path / "a", {}, "unet")
    calls = []

    def full_after_three(archive, name, array):
        calls.append(name)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        original(archive, name, array)

    original = mask_archive._put
    monkeypatch.setattr(mask_archive, "_put", full_after_three)
    with pytest.raises(StoreWriteError, match="Nothing of the run was saved"):
        project.save_run(run)
    assert project.runs() == [] and list(project.store.runs_folder.iterdir()) == []
    project.store.close()


def test_the_confusion_of_a_run_still_being_written_is_one_consistent_table(tmp_path: Path) -> None:
    """The metrics pane sums a run while the runner's worker records more images: every read of the run's
    table inside one ``confusion`` call must be the same table (it raised IndexError on mismatched lengths)."""
    root, _, _ = write_voc(tmp_path / "data")
    dataset = open_dataset(root, split="trainval")
    c = len(dataset.classes)
    preds = SegmentationPredictions.empty(
        dataset.classes, dataset.sample_ids, tmp_path / "run", model="m", device="cpu"
    )
    per_image = []
    for i in range(len(dataset)):
        truth = dataset.load_mask(i)
        mask = np.where(truth == 255, 0, truth).astype(np.uint8)
        probs = np.zeros((c, *mask.shape), dtype=np.uint8)
        per_image.append((mask, probs, pixel_confusion_matrix(truth, mask, c, 255)))
    preds.record(0, *per_image[0])
    pending = iter(range(1, len(dataset)))
    snapshot = preds._snapshot

    def snapshot_then_the_writer_records_one_more():  # a worker thread's record, deterministically placed
        taken = snapshot()
        index = next(pending, None)
        if index is not None:
            preds.record(index, *per_image[index])
        return taken

    preds._snapshot = snapshot_then_the_writer_records_one_more
    first = preds.confusion()
    np.testing.assert_array_equal(first, per_image[0][2])
