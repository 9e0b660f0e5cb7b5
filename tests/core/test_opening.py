"""Opening a dataset with its project and latest run (core.masks.opening), as the window does on a worker."""

from __future__ import annotations

import numpy as np
import pytest

from core.masks.opening import open_with_project
from core.masks.writers import USE_SAVED_MASKS, WithSavedMasks
from tests.core.test_saved_masks import fake_run
from tests.fake_datasets import write_voc


@pytest.fixture
def voc(tmp_path):
    root, _, _ = write_voc(tmp_path / "data")
    return root


def test_a_dataset_without_runs_opens_with_its_project(voc):
    opened = open_with_project(str(voc), split="train")
    assert opened.dataset.split == "train" and opened.project is not None
    assert opened.run is None and opened.predictions is None
    assert opened.notice == "" and opened.problem == ""
    opened.project.store.close()


def test_the_latest_run_is_loaded_and_scored_against_the_saved_masks(voc, tmp_path):
    first = open_with_project(str(voc), split="train")
    dataset, project = first.dataset, first.project
    run = fake_run(dataset, tmp_path / "run")
    project.save_run(run, name="first")
    project.save_run(run, name="latest")
    project.save_mask(1, run.mask(1))  # the user agrees with the model on sample 1
    project.store.set_view(USE_SAVED_MASKS, True)
    before = run.per_image_scores()["mean_iou"]
    project.store.close()

    opened = open_with_project(str(voc), split="train")
    assert isinstance(opened.dataset, WithSavedMasks)  # the switch is read from the project
    assert opened.run.name == "latest" and opened.predictions.done.all()
    after = opened.predictions.per_image_scores()["mean_iou"]
    assert before[1] < 1.0 and after[1] == pytest.approx(1.0)  # the run made before the save, scored against it
    np.testing.assert_array_equal(after[[0, 2]], before[[0, 2]])
    opened.project.store.close()


def test_a_damaged_store_or_run_is_reported_and_the_dataset_opens(voc, tmp_path):
    first = open_with_project(str(voc), split="train")
    saved = first.project.save_run(fake_run(first.dataset, tmp_path / "run"))
    folder = first.project.store.folder
    first.project.store.close()
    (folder / saved.predictions_file).unlink()
    opened = open_with_project(str(voc), split="train")
    assert opened.project is not None and opened.run is None and opened.predictions is None
    assert opened.problem.startswith("The latest saved run could not be loaded: Cannot read the predictions of run")
    path = opened.project.store.path
    opened.project.store.close()

    path.unlink()
    path.mkdir()  # a folder where the store's file should be: a new store is started beside it, and said so
    opened = open_with_project(str(voc), split="train")
    assert len(opened.dataset) == len(first.dataset) and opened.project.runs() == []
    assert "a new, empty store was started" in opened.notice and opened.problem == ""
    opened.project.store.close()


def test_the_latest_run_shown_is_one_made_for_the_task_the_dataset_is_open_for(tmp_path):
    """A detector's run kept on COCO opened for instance segmentation is not loaded (and is no error) when the
    same dataset opens for semantic segmentation; opened for detection again, it is."""
    from types import SimpleNamespace

    from core.datasets import open_dataset
    from core.inference.detections import DetectionPredictions
    from core.masks.opening import attach_project
    from core.tasks import shown_on
    from tests.fake_datasets import write_coco

    write_coco(tmp_path / "coco")
    dataset = open_dataset(tmp_path / "coco")
    assert dataset.task == "instance_segmentation" and "segmentation" in dataset.tasks
    opened = attach_project(dataset)
    run = DetectionPredictions.empty("detection", dataset.classes, dataset.sample_ids, model="toy")
    run.done[:] = True
    opened.project.save_run(run, name="detector")
    opened.project.store.close()

    as_segmentation = attach_project(dataset.with_task("segmentation"))
    assert as_segmentation.problem == "" and as_segmentation.predictions is None and as_segmentation.run is None
    as_segmentation.project.store.close()
    again = attach_project(dataset.with_task("detection"))
    assert again.problem == "" and again.run is not None and again.run.name == "detector"
    again.project.store.close()

    def on(task: str, dataset_task: str) -> bool:
        return shown_on(SimpleNamespace(task=task), SimpleNamespace(task=dataset_task))

    assert on("multiclass", "binary") and on("binary", "multiclass") and not on("multiclass", "multilabel")
    assert on("detection", "instance_segmentation") and not on("detection", "segmentation")
    assert on("segmentation", "segmentation") and not on("segmentation", "instance_segmentation")
    assert on("", "segmentation")  # a run whose task was not recorded is tried, as before
