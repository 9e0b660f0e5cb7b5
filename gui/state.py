"""The state the three panes share, with a signal for every change.

Panes take the AppState in their constructor and subscribe to its signals (napari's
evented-model pattern); they never talk to each other directly. The main window only wires.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.datasets import Dataset
from core.inference import Predictions
from core.selection import Selection


class AppState(QObject):
    dataset_changed = Signal(object)  # Dataset | None
    predictions_changed = Signal(object)  # Predictions | None (also emitted while a run fills it)
    selection_changed = Signal(object)  # Selection | None (None = the whole dataset)
    sample_selected = Signal(int)  # dataset index of the sample the user is looking at
    threshold_changed = Signal(object)  # float | per-label array | None (binary and multilabel decisions)
    message = Signal(str)  # a line for the status bar
    error = Signal(str, str)  # title, text: shown in the window, never only in a terminal

    def __init__(self) -> None:
        super().__init__()
        self.dataset: Dataset | None = None
        self.predictions: Predictions | None = None
        self.selection: Selection | None = None
        self.current: int | None = None
        #: Decision threshold for binary (score of class 1) and multilabel (per label) tasks;
        #: None = the default (argmax / 0.5). Decide through core.decisions with it.
        self.threshold: float | np.ndarray | None = None

    def set_dataset(self, dataset: Dataset | None) -> None:
        self.dataset = dataset
        self.predictions = None
        self.selection = None
        self.current = None
        self.threshold = None
        self.dataset_changed.emit(dataset)
        self.predictions_changed.emit(None)
        self.selection_changed.emit(None)

    def set_predictions(self, predictions: Predictions | None) -> None:
        self.predictions = predictions
        self.predictions_changed.emit(predictions)

    def set_threshold(self, threshold: float | np.ndarray | None) -> None:
        self.threshold = threshold
        self.threshold_changed.emit(threshold)

    def set_selection(self, selection: Selection | None) -> None:
        self.selection = selection
        self.selection_changed.emit(selection)

    def select_sample(self, index: int) -> None:
        self.current = index
        self.sample_selected.emit(index)
