"""The task registry: every task keeps the Task contract, fits are structured, and a run goes
dataset -> fit -> job -> predictions -> evaluation through the registry alone, for each of the four tasks."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from core import tasks
from core.datasets import open_dataset
from core.inference.class_map import ClassMapping
from core.models import ModelCard, ModelError, bundled_cards
from core.models.cards import RESOURCES
from core.tasks.base import Task

#: What every task must answer (the registry's callers rely on each).
CONTRACT = ("fit", "job", "has_labels", "summarize", "write_evaluation", "headline", "write_run", "load_run",
            "summarize_run", "compare_runs")  # fmt: skip
DEMO = RESOURCES / "demo"
DEMOS = {"multiclass": "digits", "binary": "faces", "multilabel": "scene_tags", "segmentation": "scenes"}


@pytest.fixture(scope="module")
def demos():
    return {task: open_dataset(DEMO / folder) for task, folder in DEMOS.items()}


@pytest.fixture(scope="module")
def cards():
    """The model of each demo above (the noisy digits demo has its own multiclass model, which is not digits')."""
    return {card.task: card for card in bundled_cards() if card.dataset.rsplit("/", 1)[-1] in DEMOS.values()}


def fake_dataset(task: str, classes: list[str]):
    return SimpleNamespace(task=task, classes=classes, name="pets", num_classes=len(classes))


@pytest.mark.parametrize("name", sorted(tasks.TASKS))
def test_every_task_keeps_the_contract(name):
    task = tasks.get(name)
    assert task.name == name and task.title and task.views and task.outputs and task.scored_by
    missing = [method for method in CONTRACT if getattr(type(task), method) is getattr(Task, method)]
    assert not missing, f"{name} does not answer {missing}"
    assert task.run_format and task.keeps_runs


def test_an_unknown_task_name_is_refused_and_nothing_is_known_of_no_dataset():
    with pytest.raises(ValueError, match="knows no 'keypoints' task"):
        tasks.get("keypoints")
    assert tasks.known(None) is None and tasks.known(SimpleNamespace(task="keypoints")) is None


def test_each_bundled_model_fits_its_own_demo_only(demos, cards):
    for model_task, card in cards.items():
        for data_task, dataset in demos.items():
            fit = tasks.fit(card, dataset)
            if model_task == data_task:
                assert fit.fits, fit.reason
            else:
                assert not fit.runnable, (model_task, data_task)
                assert fit.reason and card.display_name in fit.reason
    assert tasks.fit(cards["segmentation"], demos["multiclass"]).status is tasks.FitStatus.WRONG_TASK


def test_classes_named_differently_need_a_map_whose_suggestion_makes_the_model_fit():
    card = ModelCard(name="m", architecture="smallcnn", task="multiclass", classes=["cat", "Dog", "bird"],
                     input_size=(16, 16))  # fmt: skip
    dataset = fake_dataset("multiclass", ["dog", "cat"])
    fit = tasks.fit(card, dataset)
    assert fit.needs_class_map and fit.runnable and not fit.fits
    assert dict(fit.suggestion) == {"dog": "Dog", "cat": "cat"}
    assert tasks.fit(card, dataset, fit.suggestion).fits
    refused = tasks.fit(card, dataset, {"dog": "dragon"})
    assert refused.status is tasks.FitStatus.UNFIT and "dragon" in refused.reason
    nothing_shared = tasks.fit(card, fake_dataset("multiclass", ["car", "bus"]))
    assert nothing_shared.status is tasks.FitStatus.UNFIT and not nothing_shared.suggestion


def test_a_segmenter_gets_the_same_kind_of_map_and_suggestion():
    card = ModelCard(name="s", architecture="unet", task="segmentation", classes=["background", "aeroplane", "cat"],
                     input_size=(16, 16))  # fmt: skip
    dataset = fake_dataset("segmentation", ["background", "Aeroplane", "dog"])
    fit = tasks.fit(card, dataset)
    assert fit.needs_class_map and dict(fit.suggestion) == {"background": "background", "Aeroplane": "aeroplane"}
    assert tasks.fit(card, dataset, fit.suggestion).fits
    assert tasks.fit(card, dataset, {"dog": "horse"}).status is tasks.FitStatus.UNFIT


def test_a_two_class_softmax_model_on_a_binary_set_is_a_binary_run(demos):
    faces = demos["binary"]
    card = ModelCard(name="m", architecture="smallcnn", task="multiclass", classes=list(faces.classes),
                     input_size=(32, 32))  # fmt: skip
    assert tasks.fit(card, faces).fits
    assert tasks.for_run(card, faces) is tasks.BINARY
    assert tasks.for_run(card, fake_dataset("multiclass", list(faces.classes))) is tasks.MULTICLASS


def test_a_job_is_refused_with_the_fits_reason_and_takes_the_class_map_of_its_task(demos, cards):
    with pytest.raises(ModelError, match="is a segmentation model"):
        tasks.job_for(cards["segmentation"], demos["multiclass"])
    digits = demos["multiclass"]
    mapped = tasks.job_for(cards["multiclass"], digits, class_map={name: name for name in digits.classes[:3]})
    assert isinstance(mapped.class_map, ClassMapping) and mapped.class_map.unmapped == digits.classes[3:]
    scenes = demos["segmentation"]
    lookup = tasks.job_for(cards["segmentation"], scenes, class_map={scenes.classes[1]: scenes.classes[1]}).lookup
    assert lookup[1] == 1 and lookup[0] == 255 and lookup[2] == 255


@pytest.mark.parametrize("task_name", sorted(DEMOS))
def test_a_run_through_the_registry_alone_writes_what_its_task_says(task_name, demos, cards, tmp_path):
    dataset, card = demos[task_name], cards[task_name]
    job = tasks.job_for(card, dataset, device="cpu", batch_size=16, num_workers=0, run_dir=tmp_path / "masks")
    list(job.run(np.arange(min(24, len(dataset)))))
    task = tasks.of(job.predictions)
    assert task is tasks.for_run(card, dataset) and task.name == task_name
    summary = task.write_evaluation(dataset, job.predictions, tmp_path / "out")
    for name in ("metrics.json", *task.outputs):
        assert (tmp_path / "out" / name).exists() or (tmp_path / name).exists(), name
    written = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert written["task"] == task_name and written["predicted"] == 24
    assert task.headline(summary).split()[-1].endswith("%")
