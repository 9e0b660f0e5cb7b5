"""A checkpoint's class names: given by the user, from a sidecar (``classes.json`` or ``classes.txt``), or
numbered. A detector's label 0 is its background (torchvision's convention)."""

from __future__ import annotations

import json
from pathlib import Path

from core.models.cards import ModelError
from core.models.detectors import BACKGROUND

CLASS_FILES = ("{stem}.classes.json", "{stem}.classes.txt", "classes.json", "classes.txt")


def default_class_names(n: int) -> list[str]:
    return [f"class {i}" for i in range(n)]


def _read_sidecar(path: Path) -> list[str]:
    """A JSON list of names, or one name per line."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".json":
        return [name for name in (line.strip() for line in text.splitlines()) if name]
    try:
        names = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"{path.name} is not JSON: {exc}") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ModelError(f"{path.name} must hold a JSON list of class names (index = label id)")
    return names


def read_class_names(weights: Path) -> tuple[list[str], Path] | None:
    """Class names from a sidecar next to the weights: ``<stem>.classes.json`` (a JSON list) or
    ``<stem>.classes.txt`` (one per line), else ``classes.json`` or ``classes.txt``."""
    weights = Path(weights)
    for pattern in CLASS_FILES:
        candidate = weights.with_name(pattern.format(stem=weights.stem))
        if candidate.is_file():
            return _read_sidecar(candidate), candidate
    return None


def detector_classes_for(weights: Path, num_labels: int | None, given: list[str] | None) -> list[str]:
    """The label names of the detector in ``weights`` (index = label id, 0 the background): ``given`` or its
    sidecar, with or without the background's name; else "class 1", ... A ModelError when their count fits
    neither ``num_labels`` nor ``num_labels - 1``, or when nothing tells how many there are."""
    names, source = (list(given), "the list given") if given is not None else (None, "")
    if names is None and (sidecar := read_class_names(weights)) is not None:
        names, source = sidecar[0], sidecar[1].name
    if names is None:
        if num_labels is None:
            raise ModelError(
                f"{weights.name} does not say how many classes it finds: name them in {weights.stem}.classes.json "
                "(a JSON list, index = label id, the background at 0)"
            )
        return [BACKGROUND, *(f"class {i}" for i in range(1, num_labels))]
    if num_labels is not None and len(names) == num_labels - 1:
        names = [BACKGROUND, *names]
    if num_labels is not None and len(names) != num_labels:
        raise ModelError(
            f"the head of {weights.name} has {num_labels} labels (the background included), "
            f"but {source} has {len(names)} class names"
        )
    return names


def classes_for(weights: Path, num_classes: int | None, given: list[str] | None) -> list[str]:
    """The class names of the model in ``weights``: ``given``, else its sidecar, else numbered;
    a ModelError when their count differs from the head's ``num_classes``."""
    source = "the list given"
    classes = list(given) if given is not None else None
    if classes is None and (sidecar := read_class_names(weights)) is not None:
        classes, path = sidecar
        source = path.name
    if classes is None:
        return default_class_names(num_classes or 0)
    if num_classes is not None and len(classes) != num_classes:
        raise ModelError(
            f"the head of {weights.name} has {num_classes} outputs, but {source} has {len(classes)} class names"
        )
    return classes
