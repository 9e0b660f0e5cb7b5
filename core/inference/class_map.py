"""Does a model fit a dataset, and how its classes map onto the dataset's when the two lists only overlap.

One map for every task and both front ends: the user's (or ``--map-classes``'s) dict, dataset class -> model
class. A classifier's scores go through it as a :class:`ClassMapping` (model classes -> dataset classes);
a segmenter's truth through :func:`class_lookup` (dataset class index -> model class index); a detector's
labels through :func:`detector_labels` (model label id -> dataset class index). A model's
fit is a :class:`Fit`, never error text to parse: the task registry (``core.tasks``) adds whether the
task fits, and the GUI greys out, offers a map, or runs.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.datasets.base import IGNORE_INDEX, Dataset
from core.models.cards import ModelCard, ModelError
from core.models.detectors import NOT_OBJECTS


class FitStatus(enum.Enum):
    FITS = "fits"
    #: The model's classes are named differently: it runs once the user maps the dataset's to them.
    NEEDS_CLASS_MAP = "needs a class map"
    #: A model of another task (a segmenter on a classification dataset, a multilabel model on a multiclass one).
    WRONG_TASK = "wrong task"
    #: Something no map mends: the input channels, a class map that names classes that are not there.
    UNFIT = "does not fit"


@dataclass(frozen=True)
class Fit:
    """Whether a model runs on a dataset as it is, and if not, why (``reason``, in the user's words).

    ``suggestion``: for NEEDS_CLASS_MAP, the dataset class -> model class pairs whose names match, the
    start of the map the user confirms (``evaluate --map-classes`` takes it as it is)."""

    status: FitStatus
    reason: str = ""
    suggestion: Mapping[str, str] = field(default_factory=dict)

    @property
    def fits(self) -> bool:
        return self.status is FitStatus.FITS

    @property
    def needs_class_map(self) -> bool:
        return self.status is FitStatus.NEEDS_CLASS_MAP

    @property
    def runnable(self) -> bool:
        """It runs now, or once its classes are mapped."""
        return self.status in (FitStatus.FITS, FitStatus.NEEDS_CLASS_MAP)


FITS = Fit(FitStatus.FITS)


# -- does the model fit the data -----------------------------------------------------------
def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name).strip().casefold()


@dataclass(frozen=True)
class ClassMapping:
    """Model classes -> dataset classes by name, when the two overlap without being the same list.

    ``sources[j]`` are the model classes whose scores become dataset class j's score. For single-label
    tasks the kept scores are renormalised to sum to 1 (the prediction is the best of the dataset's
    classes, as when an ImageNet network is run on an ImageNet subset); for multilabel the best is kept.
    """

    model_classes: list[str]
    dataset_classes: list[str]
    sources: list[list[int]]

    @property
    def unmapped(self) -> list[str]:
        """Dataset classes no model class maps to: they can never be predicted."""
        return [name for name, src in zip(self.dataset_classes, self.sources) if not src]

    @property
    def num_mapped(self) -> int:
        return sum(1 for src in self.sources if src)

    def apply(self, scores: np.ndarray, multilabel: bool = False) -> np.ndarray:
        out = np.zeros((len(scores), len(self.sources)), dtype=np.float32)
        for j, src in enumerate(self.sources):
            if src:
                out[:, j] = scores[:, src].max(axis=1) if multilabel else scores[:, src].sum(axis=1)
        if not multilabel:
            total = out.sum(axis=1, keepdims=True)
            out = np.divide(out, total, out=np.zeros_like(out), where=total > 0)
        return out


def map_classes(
    model_classes: Sequence[str], dataset_classes: Sequence[str], chosen: Mapping[str, str] | None = None
) -> ClassMapping:
    """Match class names (case, spaces, '_' and '-' ignored); a ModelError when none match.

    ``chosen``: the user's map, dataset class -> model class name (a dataset class left out is never
    predicted); every model class of that name feeds it (ImageNet names two classes "crane").
    """
    index: dict[str, list[int]] = {}
    for i, name in enumerate(model_classes):
        index.setdefault(_norm(name), []).append(i)
    if chosen is None:
        sources = [index.get(_norm(name), []) for name in dataset_classes]
    else:
        unknown = sorted(set(chosen.values()) - set(model_classes))
        if unknown:
            raise ModelError(f"the class map names classes the model does not have: {', '.join(unknown[:5])}")
        sources = [index[_norm(chosen[name])] if name in chosen else [] for name in dataset_classes]
    mapping = ClassMapping(list(model_classes), list(dataset_classes), sources)
    if mapping.num_mapped == 0:
        raise ModelError("no class name of the model matches a class of the dataset: nothing to map")
    return mapping


def suggested_class_map(model_classes: Sequence[str], dataset_classes: Sequence[str]) -> dict[str, str]:
    """Dataset class -> model class for the names :func:`map_classes` matches (what a user confirms)."""
    index: dict[str, str] = {}
    for name in model_classes:
        index.setdefault(_norm(name), name)
    return {name: index[_norm(name)] for name in dataset_classes if _norm(name) in index}


def channels_problem(card: ModelCard) -> str | None:
    """Why the model cannot take the images (gray and RGB are what datasets give), or None."""
    if card.channels in (1, 3):
        return None
    return f"{card.display_name} takes {card.channels}-channel input; images are gray or RGB"


def _names_differ(card: ModelCard, dataset: Dataset) -> str:
    return (
        f"{card.display_name} predicts {card.num_classes} classes ({preview(card.classes)}), "
        f"but {dataset.name} has {dataset.num_classes} ({preview(dataset.classes)})"
    )


def classifier_fit(card: ModelCard, dataset: Dataset, chosen: Mapping[str, str] | None = None) -> Fit:
    """Whether a classifier of the dataset's task runs on it: its input, and its classes (the same list,
    or mapped by ``chosen``, dataset class -> model class). Names in common make a map possible."""
    problem = channels_problem(card)
    if problem:
        return Fit(FitStatus.UNFIT, problem)
    if chosen is not None:
        try:
            map_classes(card.classes, dataset.classes, chosen)
        except ModelError as exc:
            return Fit(FitStatus.UNFIT, str(exc))
        return FITS
    if not dataset.classes or list(dataset.classes) == list(card.classes):
        return FITS
    suggestion = suggested_class_map(card.classes, dataset.classes)
    if not suggestion:  # no name in common: nothing a map by name could start from
        return Fit(FitStatus.UNFIT, _names_differ(card, dataset))
    hint = f"; {len(suggestion)} names are in both: map the classes by name to run it"
    return Fit(FitStatus.NEEDS_CLASS_MAP, _names_differ(card, dataset) + hint, suggestion)


def check_fit(card: ModelCard, dataset: Dataset, class_map: ClassMapping | None = None) -> None:
    """A classifier job's own check, before any work: ModelError when :func:`classifier_fit` refuses, or when
    ``class_map`` was made for another model or dataset. (Whether the task fits is the registry's question:
    ``core.tasks.fit``.)"""
    if class_map is None:
        fit = classifier_fit(card, dataset)
        if not fit.fits:
            raise ModelError(fit.reason)
        return
    if list(class_map.model_classes) != list(card.classes) or class_map.dataset_classes != list(dataset.classes):
        raise ModelError("the class mapping was made for another model or dataset")
    problem = channels_problem(card)
    if problem:
        raise ModelError(problem)


def segmenter_fit(card: ModelCard, dataset: Dataset, chosen: Mapping[str, str] | None = None) -> Fit:
    """Whether a segmenter's classes are the dataset's, or ``chosen`` maps them (:func:`class_lookup`)."""
    if chosen is None and list(dataset.classes) != list(card.classes):
        reason = _names_differ(card, dataset) + ": map the dataset's classes to the model's to run it"
        return Fit(FitStatus.NEEDS_CLASS_MAP, reason, suggested_class_map(card.classes, dataset.classes))
    try:
        class_lookup(card, dataset, chosen)
    except ModelError as exc:
        return Fit(FitStatus.UNFIT, str(exc))
    return FITS


def class_lookup(card: ModelCard, dataset: Dataset, class_map: Mapping[str, str] | None = None) -> np.ndarray | None:
    """The 256-entry table taking a dataset class index to the model's (255 = ignored), or None when the
    dataset's classes are the card's: how a segmenter's truth is mapped (a classifier maps its scores,
    :class:`ClassMapping`; both from the same dataset class -> model class map). Raises ModelError when
    the classes differ and no ``class_map`` is given, or when the map names a class that is not there."""
    if class_map is None:
        if list(dataset.classes) == list(card.classes):
            return None
        raise ModelError(_names_differ(card, dataset) + ": map the dataset's classes to the model's to run it")
    if max(dataset.num_classes, card.num_classes) > IGNORE_INDEX:
        raise ModelError("a class map needs fewer than 255 classes on both sides")
    unknown = [name for name in class_map if name not in dataset.classes]
    if unknown:
        raise ModelError(f"the class map names {unknown[0]!r}, which is not a class of {dataset.name}")
    unknown = [name for name in class_map.values() if name not in card.classes]
    if unknown:
        raise ModelError(f"the class map names {unknown[0]!r}, which {card.display_name} does not predict")
    lookup = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for source, target in class_map.items():
        lookup[dataset.classes.index(source)] = card.classes.index(target)
    return lookup


# -- detectors: model labels -> dataset classes -----------------------------------------
def _object_names(card: ModelCard) -> list[str]:
    """The classes a detector can find: its label names but the background and COCO's "N/A" ids."""
    return [name for name in card.classes if name not in NOT_OBJECTS]


def detector_labels(card: ModelCard, dataset_classes: Sequence[str], chosen: Mapping[str, str] | None = None):
    """The dataset class index of every model label id (-1: dropped), by name (case, spaces, '_' and '-'
    ignored) or through ``chosen`` (dataset class -> model class). The background and "N/A" never map.
    A ModelError when ``chosen`` names a class that is not there, or when no label maps at all."""
    if chosen is not None:
        unknown = [name for name in chosen if name not in dataset_classes]
        if unknown:
            raise ModelError(f"the class map names {unknown[0]!r}, which is not a class of the dataset")
        unknown = [name for name in chosen.values() if name not in _object_names(card)]
        if unknown:
            raise ModelError(f"the class map names {unknown[0]!r}, which {card.display_name} does not find")
        wanted = {_norm(model): list(dataset_classes).index(data) for data, model in chosen.items()}
    else:
        wanted = {_norm(name): k for k, name in enumerate(dataset_classes)}
    lookup = np.full(card.num_classes, -1, dtype=np.int64)
    for label, name in enumerate(card.classes):
        if name not in NOT_OBJECTS:
            lookup[label] = wanted.get(_norm(name), -1)
    if not (lookup >= 0).any():
        raise ModelError(f"no class {card.display_name} finds maps onto a class of the dataset: nothing to detect")
    return lookup


def _same_names(a: Sequence[str], b: Sequence[str]) -> bool:
    return sorted(map(_norm, a)) == sorted(map(_norm, b))


def detector_fit(card: ModelCard, dataset: Dataset, class_map: Mapping[str, str] | None = None) -> Fit:
    """Whether a detector (or localizer) runs on an object dataset: its input, and its classes, the dataset's
    by name (the background and "N/A" aside, in any order), or mapped by ``class_map`` (dataset class ->
    model class). A model that finds other classes NEEDS_CLASS_MAP, with the names in both as the
    suggestion; one that has no name in common does not fit. Detections of classes not in the map are dropped.
    """
    problem = channels_problem(card)
    if problem:
        return Fit(FitStatus.UNFIT, problem)
    objects = _object_names(card)
    if class_map is None and _same_names(objects, dataset.classes):
        return FITS
    if class_map is None:
        suggestion = suggested_class_map(objects, dataset.classes)
        reason = (
            f"{card.display_name} finds {len(objects)} classes ({preview(objects)}), "
            f"but {dataset.name} has {dataset.num_classes} ({preview(dataset.classes)})"
        )
        if not suggestion:
            return Fit(FitStatus.UNFIT, reason)
        hint = f"; {len(suggestion)} names are in both: map the classes by name to run it"
        return Fit(FitStatus.NEEDS_CLASS_MAP, reason + hint, suggestion)
    try:
        detector_labels(card, dataset.classes, class_map)
    except ModelError as exc:
        return Fit(FitStatus.UNFIT, str(exc))
    return FITS


def preview(names: Sequence[str], n: int = 4) -> str:
    head = ", ".join(names[:n])
    return head + (", ..." if len(names) > n else "")
