"""A checkpoint's class names: given by the user, from a sidecar ``classes.txt``, or numbered."""

from __future__ import annotations

from pathlib import Path

from core.models.cards import ModelError

CLASS_FILES = ("{stem}.classes.txt", "classes.txt")


def default_class_names(n: int) -> list[str]:
    return [f"class {i}" for i in range(n)]


def read_class_names(weights: Path) -> tuple[list[str], Path] | None:
    """Class names from a sidecar next to the weights (``<stem>.classes.txt`` or ``classes.txt``, one per line)."""
    weights = Path(weights)
    for pattern in CLASS_FILES:
        candidate = weights.with_name(pattern.format(stem=weights.stem))
        if candidate.is_file():
            names = [line.strip() for line in candidate.read_text(encoding="utf-8").splitlines()]
            return [n for n in names if n], candidate
    return None


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
