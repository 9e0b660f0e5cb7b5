"""Does a model fit a dataset, and how its classes map onto the dataset's when the two lists only overlap."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.datasets.base import Dataset
from core.models.cards import ModelCard, ModelError


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


def check_fit(card: ModelCard, dataset: Dataset, class_map: ClassMapping | None = None) -> None:
    """Refuse a model that does not fit the dataset, before any work is done."""
    if dataset.task != card.task and {dataset.task, card.task} != {"binary", "multiclass"}:
        raise ModelError(f"{card.display_name} is a {card.task} model; {dataset.name} is a {dataset.task} dataset")
    if card.channels not in (1, 3):
        raise ModelError(f"{card.display_name} takes {card.channels}-channel input; images are gray or RGB")
    if class_map is not None:
        if list(class_map.model_classes) != list(card.classes) or class_map.dataset_classes != list(dataset.classes):
            raise ModelError("the class mapping was made for another model or dataset")
        return
    if dataset.classes and list(dataset.classes) != list(card.classes):
        overlap = len({_norm(c) for c in card.classes} & {_norm(c) for c in dataset.classes})
        hint = f"; {overlap} names are in both: map the classes by name to run it" if overlap else ""
        raise ModelError(
            f"{card.display_name} predicts {card.num_classes} classes ({_preview(card.classes)}), "
            f"but {dataset.name} has {dataset.num_classes} ({_preview(dataset.classes)}){hint}"
        )


def _preview(names: Sequence[str], n: int = 4) -> str:
    head = ", ".join(names[:n])
    return head + (", ..." if len(names) > n else "")
