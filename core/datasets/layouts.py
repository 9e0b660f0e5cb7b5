"""Recognising a dataset's layout on disk and opening it.

Each reader registers a :class:`Layout` when it is imported (``core.datasets.registry`` imports them all).
``open_dataset`` asks every layout, most specific first, whether the folder the user picked (or one folder
inside it, as torchvision's ``root`` argument allows) is one of its datasets. When none matches, the error
names every layout that was looked for and what each one found missing. Below the readers and ``Dataset``
alike, so that both use it without a cycle (``Dataset.with_split`` reopens a dataset here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.datasets.errors import DatasetError

if TYPE_CHECKING:
    from core.datasets.base import Dataset


@dataclass(frozen=True)
class Probe:
    """A layout's answer for one folder: the dataset root it found, or why not."""

    root: Path | None
    why_not: str = ""
    #: The folder holds a distinctive part of this layout (batches.meta, JPEGImages/...) but not all of it.
    #: Then a generic layout must not read it (or a sub-folder) as plain images: the user wants to know
    #: what is missing, as ``why_not`` says.
    partial: bool = False


@dataclass(frozen=True)
class Layout:
    name: str
    #: Looks at one folder (not its children) and says whether it is this layout's root.
    probe: Callable[[Path], Probe]
    #: Opens the root that ``probe`` accepted, on a split (None = the evaluation split).
    open: Callable[[Path, str | None], Dataset]
    #: Lower runs first; generic layouts (plain image folders) run last.
    priority: int = 50


#: Layouts from this priority on are generic fallbacks (image folders).
GENERIC_PRIORITY = 90


_LAYOUTS: list[Layout] = []


def register(layout: Layout) -> Layout:
    _LAYOUTS[:] = [entry for entry in _LAYOUTS if entry.name != layout.name]
    _LAYOUTS.append(layout)
    _LAYOUTS.sort(key=lambda entry: entry.priority)
    return layout


def registered() -> list[Layout]:
    """The registered layouts, most specific first (lowest priority)."""
    return list(_LAYOUTS)


def _candidates(path: Path) -> list[Path]:
    """The folder itself, then its sub-folders (the user may pick the folder holding the dataset)."""
    found = [path]
    try:
        children = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        children = []
    return found + children


def _probe(layout: Layout, candidate: Path) -> Probe:
    """A layout's probe; a folder or file it cannot read (no permission, a looping link) is its reason."""
    try:
        return layout.probe(candidate)
    except OSError as exc:
        where = Path(exc.filename).name if exc.filename else candidate.name
        return Probe(None, f"{where} cannot be read ({exc.strerror or exc})")


def find_layout(path: str | Path) -> tuple[Layout, Path]:
    """The layout and dataset root for a folder, or DatasetError naming what was looked for."""
    try:
        return _find_layout(Path(path).expanduser())
    except OSError as exc:  # the folder itself cannot be looked into
        raise DatasetError(f"{path} cannot be read ({exc.strerror or exc})") from None


def _find_layout(path: Path) -> tuple[Layout, Path]:
    if not path.exists():
        raise DatasetError(f"{path} does not exist")
    if path.is_file():
        # A file inside a dataset (e.g. list_attr_celeba.txt): open the folder that holds it.
        path = path.parent
    reasons: dict[str, str] = {}
    candidates = _candidates(path)
    partial = False
    for layout in registered():
        if partial and layout.priority >= GENERIC_PRIORITY:
            continue
        for candidate in candidates:
            probe = _probe(layout, candidate)
            if probe.root is not None:
                return layout, probe.root
            if candidate == path and probe.why_not:
                reasons[layout.name] = probe.why_not
            elif probe.partial:
                reasons[layout.name] = f"in {candidate.name}/: {probe.why_not}"
            partial = partial or probe.partial
    lines = "\n".join(f"  - {name}: {why}" for name, why in reasons.items())
    raise DatasetError(f"{path} is not a dataset CV Lens knows. Looked for:\n{lines}")


def open_dataset(path: str | Path, split: str | None = None) -> Dataset:
    """Open the dataset at ``path`` (its own folder or the folder that holds it).

    Only indexes and label files are read; pixels are decoded on demand. ``split`` picks one
    of ``Dataset.splits``; by default the evaluation split (test, else val).
    """
    layout, root = find_layout(path)
    try:
        dataset = layout.open(root, split)
    except OSError as exc:  # a label file that cannot be read (no permission, an I/O error)
        name = exc.filename or root
        raise DatasetError(f"{layout.name}: {name} cannot be read ({exc.strerror or exc})") from None
    if split is not None and dataset.split != split:
        raise DatasetError(f"{layout.name} at {root} has no split {split!r}; it has {dataset.splits}")
    return dataset
