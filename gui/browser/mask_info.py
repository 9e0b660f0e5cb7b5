"""The masks of one shown sample and what the sample view says about them in words: legend, hover line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from core.masks.overlays import IGNORE, IGNORE_DARK, IGNORE_LIGHT

#: index -> (predicted H x W class mask, H x W confidence of the predicted class or None[, probabilities]),
#: or None when that sample has no prediction. The optional third item answers ``top(y, x, k)``
#: (``core.inference.mask_store.PixelProbabilities``). Called on the sample view's worker thread, never the GUI's.
PredictionSource = Callable[[int], "tuple | None"]

HATCH = "hatch"  # the legend colour of ignored pixels: drawn striped, as on the image
TOP_CLASSES = 3  # probabilities named on hover


class Probabilities(Protocol):
    def top(self, y: int, x: int, k: int = 3) -> list[tuple[int, float]]: ...


@dataclass
class SampleMasks:
    """What the worker read for one sample."""

    truth: np.ndarray | None = None
    error: str = ""  # why the true mask could not be read
    predicted: np.ndarray | None = None
    confidence: np.ndarray | None = None
    probabilities: Probabilities | None = None  # per-pixel class probabilities, for hover


def swatch(colour: tuple[int, int, int] | str | None, name: str) -> str:
    """A legend entry as rich text: a coloured block and the name (an empty box for clear classes,
    grey stripes for ignored pixels: VOC's car is a plain grey)."""
    if colour is None:
        return f"<span style='color: gray'>▢</span>&nbsp;{name}&nbsp;(clear)"
    if colour == HATCH:
        light, dark = ("#{:02x}{:02x}{:02x}".format(*c) for c in (IGNORE_LIGHT, IGNORE_DARK))
        return f"<span style='background-color: {light}; color: {dark}'>▨▨</span>&nbsp;{name}"
    hex_colour = "#{:02x}{:02x}{:02x}".format(*colour)
    return f"<span style='background-color: {hex_colour}; color: {hex_colour}'>&nbsp;■&nbsp;</span>&nbsp;{name}"


def class_name(classes: list[str], value: int) -> str:
    if value == IGNORE:
        return "ignored (255)"
    return classes[value] if 0 <= value < len(classes) else f"value {value}"


def percent(p: float) -> str:
    """A probability for people: "87%", "<1%" for a small but non-zero one."""
    return "<1%" if 0 < p < 0.005 else f"{p:.0%}"


def describe_pixel(masks: SampleMasks, classes: list[str], x: int, y: int) -> str:
    """The hover line of pixel (x, y): position, true class, predicted class with its confidence, and
    the most probable classes there."""
    parts = [f"x {x}, y {y}"]
    if masks.truth is not None:
        parts.append(f"true: {class_name(classes, int(masks.truth[y, x]))}")
    if masks.predicted is not None:
        text = f"predicted: {class_name(classes, int(masks.predicted[y, x]))}"
        if masks.confidence is not None:
            text += f" ({percent(float(masks.confidence[y, x]))})"
        parts.append(text)
    line = " · ".join(parts)
    if masks.probabilities is not None:
        top = masks.probabilities.top(y, x, TOP_CLASSES)
        line += "<br>probabilities: " + " · ".join(f"{class_name(classes, c)} {percent(p)}" for c, p in top)
    return line
