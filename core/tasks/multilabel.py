"""Multilabel ("soft") classification: any number of C labels per sample, each a sigmoid and a threshold."""

from __future__ import annotations

from core.tasks.classification import Classification


class Multilabel(Classification):
    name = "multilabel"
    title = "multilabel classification"
    multilabel = True
    thresholded = True
    threshold_per_class = True
    views = ("Labels", "Curves", "Calibration", "Errors", "Analysis")

    def threshold_label(self, classes: list[str]) -> str:
        return "Threshold (all labels)"


MULTILABEL = Multilabel()
