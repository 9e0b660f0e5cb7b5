"""gui/heap.py: a dataset's and a run's big lists are left out of the collections that scrolling pauses for."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import numpy as np

from core.datasets import Dataset
from core.inference import Predictions
from gui import heap
from gui.state import AppState


def tracked() -> set[int]:
    """ids of the objects the next collections walk (the frozen ones are in none of the three generations)."""
    return {id(o) for generation in range(3) for o in gc.get_objects(generation)}


def test_a_datasets_and_a_runs_lists_are_frozen_when_they_arrive(qtbot):
    ids = [f"s{i}" for i in range(5000)]
    dataset = Dataset(
        Path("."), task="multiclass", classes=["a", "b"], splits=[], split=None, sample_ids=ids, targets=np.zeros(5000)
    )
    state = AppState()
    gc.unfreeze()
    assert id(ids) in tracked()
    state.set_dataset(dataset)
    assert id(state.dataset.sample_ids) not in tracked() and gc.get_freeze_count() > 0
    run = Predictions.empty("multiclass", ["a", "b"], ids)
    assert id(run.sample_ids) in tracked()
    state.set_predictions(run)
    assert id(run.sample_ids) not in tracked()


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_frozen_cycles_wait_for_a_sweep_and_sweeps_take_a_bounded_share_of_the_time(monkeypatch):
    monkeypatch.setattr(heap, "SWEEP_SHARE", 1e-9)  # a sweep is due only after ages
    node = Node()
    ref = weakref.ref(node)
    heap.settle()  # frozen with the cycle alive
    del node
    heap.settle()
    assert ref() is not None  # frozen, and no sweep is due: the collection walked only the new objects
    monkeypatch.setattr(heap, "SWEEP_SHARE", 1e9)  # a sweep is always due
    heap.settle()
    assert ref() is None  # swept: the dropped cycle is collected
