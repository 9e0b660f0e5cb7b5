"""Binary classification: one of two classes, the positive one (index 1) decided by a threshold on its score."""

from __future__ import annotations

from core.tasks.classification import Classification


class Binary(Classification):
    name = "binary"
    title = "binary classification"
    thresholded = True
    positive_class = 1
    views = ("Matrix", "Classes", "Curves", "Calibration", "Errors", "Analysis")

    def runs_on(self, dataset_task: str) -> bool:
        # A two-class multiclass set is a binary task, and a binary set can be scored by a 2-class softmax model.
        return dataset_task in ("binary", "multiclass")

    def threshold_label(self, classes: list[str]) -> str:
        return f"Threshold on p({classes[1]})" if len(classes) > 1 else "Threshold"


BINARY = Binary()
