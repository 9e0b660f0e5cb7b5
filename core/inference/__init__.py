"""Batched inference: dataset + model -> Predictions, with progress and cancel, no threads of its own."""

from core.inference.class_map import check_fit
from core.inference.devices import available_devices, pick_device
from core.inference.predictions import NOT_PREDICTED, Predictions
from core.inference.progress import Progress, run_to_end
from core.inference.runner import InferenceJob

__all__ = [
    "NOT_PREDICTED",
    "InferenceJob",
    "Predictions",
    "Progress",
    "available_devices",
    "check_fit",
    "pick_device",
    "run_to_end",
]
