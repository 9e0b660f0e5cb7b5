"""The settings of the next run and what the runner remembers: class maps per (model, dataset), resuming.

Real bundled models on the demo datasets (copies in tmp_path where a class is renamed), run on the CPU.
"""

from __future__ import annotations

import itertools

import pytest

from core.datasets import open_dataset
from core.inference import Progress
from core.inference.segmentation import SegmentationJob
from core.models import ModelError
from core.tasks.run_settings import RunPlan, RunSettings
from tests.core.demo_copies import DEMO, renamed_digits, renamed_scenes


def plan_on(path) -> RunPlan:
    plan = RunPlan()
    plan.set_dataset(open_dataset(path))
    return plan


def card_of(plan: RunPlan, name: str):
    return next(offer.card for offer in plan.offers if offer.card.name == name)


def run_some(job, batches: int = 2) -> None:
    """Run ``batches`` batches of ``job`` and stop, as a cancel does."""
    gen = job.run()
    assert all(isinstance(step, Progress) for step in itertools.islice(gen, batches))
    gen.close()


def test_the_settings_carry_the_class_map_and_a_tile_only_for_a_per_pixel_task(tmp_path):
    plan = plan_on(renamed_digits(tmp_path))
    digits = card_of(plan, "digits-cnn")
    settings = plan.settings(digits, device="cpu", batch_size=16, tile=256)
    assert settings == RunSettings(digits, plan.dataset, "cpu", 16, None, None)  # a classifier has no tiles
    plan.set_class_map(digits, {"0": "0", "seven": "7"})
    assert plan.settings(digits).class_map == {"0": "0", "seven": "7"}
    scenes = RunPlan()
    scenes.set_dataset(open_dataset(DEMO / "scenes"))
    assert scenes.settings(card_of(scenes, "scenes-unet"), tile=256).tile == 256


def test_a_class_map_is_kept_per_model_and_dataset(tmp_path):
    plan = plan_on(renamed_digits(tmp_path))
    digits, renamed = card_of(plan, "digits-cnn"), plan.dataset
    assert plan.class_map(digits) is None
    plan.set_class_map(digits, {"seven": "7", "1": "1"})
    assert plan.class_map(digits) == {"seven": "7", "1": "1"}
    plan.set_dataset(open_dataset(DEMO / "digits"))
    assert plan.class_map(digits) is None  # another dataset: its own map
    plan.set_dataset(renamed)
    assert plan.class_map(digits) == {"seven": "7", "1": "1"}  # back: the map made for it


def test_a_map_that_maps_nothing_or_names_what_the_model_lacks_is_refused(tmp_path):
    plan = plan_on(renamed_digits(tmp_path))
    digits = card_of(plan, "digits-cnn")
    with pytest.raises(ModelError, match="nothing to run"):
        plan.set_class_map(digits, {})
    with pytest.raises(ModelError, match="does not have: eleven"):
        plan.set_class_map(digits, {"seven": "eleven"})
    assert plan.class_map(digits) is None


def test_a_classifier_runs_through_the_users_map(tmp_path):
    plan = plan_on(renamed_digits(tmp_path))
    digits = card_of(plan, "digits-cnn")
    plan.set_class_map(digits, plan.offers[0].fit.suggestion | {"seven": "7"})
    job = plan.job_for(plan.settings(digits, device="cpu"), num_workers=0)
    assert job.predictions.classes == plan.dataset.classes
    assert job.class_map.sources == [[i] for i in (0, 1, 2, 3, 4, 5, 6, 8, 9, 7)]  # "seven" is the model's 7


def test_a_segmenter_runs_through_the_users_map(tmp_path):
    plan = plan_on(renamed_scenes(tmp_path))
    unet = card_of(plan, "scenes-unet")
    mapping = {"sky": "background", "3": "3"}
    plan.set_class_map(unet, mapping)
    job = plan.job_for(plan.settings(unet, device="cpu", tile=64), num_workers=0, run_dir=tmp_path / "run")
    assert isinstance(job, SegmentationJob) and job.tile == (64, 64)
    assert job.predictions.settings["class_map"] == mapping


def test_a_run_stopped_half_way_is_resumed_with_the_same_settings(tmp_path):
    plan = plan_on(DEMO / "digits")
    card = card_of(plan, "digits-cnn")
    job = plan.job_for(plan.settings(card, device="cpu", batch_size=16), num_workers=0)
    run_some(job)
    assert 0 < job.predictions.num_done < len(plan.dataset)
    assert plan.job_for(plan.settings(card, device="cpu"), num_workers=0) is job  # the batch size may change
    assert plan.job_for(plan.settings(card, device="auto"), num_workers=0) is job  # "auto" takes the job's
    assert plan.resumes(plan.settings(card, device="cpu"))
    assert not plan.resumes(plan.settings(card, device="mps"))  # asked for another device: a new run


def test_a_finished_run_or_another_dataset_starts_from_the_first_sample(tmp_path):
    plan = plan_on(DEMO / "digits")
    card = card_of(plan, "digits-cnn")
    settings = plan.settings(card, device="cpu", batch_size=128)
    job = plan.job_for(settings, num_workers=0)
    run_some(job, batches=10)
    assert job.predictions.complete and not plan.resumes(settings)
    again = plan.job_for(settings, num_workers=0)
    assert again is not job and again.predictions.num_done == 0
    plan.set_dataset(open_dataset(DEMO / "digits"))  # reopened: it may have changed on disk
    assert plan.job is None and not plan.resumes(plan.settings(card, device="cpu"))


def test_another_class_map_or_tile_is_another_run(tmp_path):
    plan = plan_on(renamed_scenes(tmp_path))
    unet = card_of(plan, "scenes-unet")
    plan.set_class_map(unet, {"sky": "background"})
    job = plan.job_for(plan.settings(unet, device="cpu", batch_size=4), num_workers=0, run_dir=tmp_path / "a")
    run_some(job)
    assert plan.resumes(plan.settings(unet, device="cpu"))
    assert not plan.resumes(plan.settings(unet, device="cpu", tile=64))  # the run's masks were made resized
    plan.set_class_map(unet, {"sky": "background", "1": "1"})
    assert not plan.resumes(plan.settings(unet, device="cpu"))


def test_a_model_that_cannot_run_is_an_error_and_nothing_is_resumed_after_it(tmp_path):
    plan = plan_on(DEMO / "digits")
    card = card_of(plan, "digits-cnn")
    job = plan.job_for(plan.settings(card, device="cpu", batch_size=16), num_workers=0)
    run_some(job)
    faces = card_of(plan, "faces-cnn")  # greyed out: no name in common with the digits
    with pytest.raises(ModelError, match="but digits has 10"):
        plan.job_for(plan.settings(faces, device="cpu"))
    assert plan.job is None and not plan.resumes(plan.settings(card, device="cpu"))
