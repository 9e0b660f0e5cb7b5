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
from core.datasets.scan import listing, one_listing, pack, recording, unpack

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
    #: Opens the root on a split for a task (None: the richest its files hold, ``RICHEST_FIRST``); layouts
    #: whose files hold several tasks (COCO, VOC, CelebA, YOLO) set it, the others open their one task.
    open_task: Callable[[Path, str | None, str | None], Dataset] | None = None


#: When a dataset offers several tasks and none is asked for, the first of these it offers opens.
RICHEST_FIRST = (
    "instance_segmentation",
    "segmentation",
    "detection",
    "localization",
    "multilabel",
    "multiclass",
    "binary",
)

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
    return [path] + [path / name for name in listing(path).folders]


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
        with one_listing():
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


def open_dataset(path: str | Path, split: str | None = None, task: str | None = None) -> Dataset:
    """Open the dataset at ``path`` (its own folder or the folder that holds it).

    Only indexes and label files are read; pixels are decoded on demand. ``split`` picks one
    of ``Dataset.splits``; by default the evaluation split (test, else val). ``task`` picks one of
    ``Dataset.tasks`` (COCO instances: "instance_segmentation", "detection" or "segmentation"); by default
    the richest the files hold.
    """
    with one_listing():  # the probes and the reader share each folder's one listing
        return _open_dataset(path, split, task)


def open_dataset_listed(path: str | Path, split: str | None = None, task: str | None = None) -> tuple[Dataset, bytes]:
    """:func:`open_dataset`, and every folder listing it made packed into one buffer (``scan.pack``) for
    :func:`open_dataset_from`: under torchrun rank 0 lists the tree, the other ranks reuse its listing."""
    with recording() as listings:
        dataset = _open_dataset(path, split, task)
    return dataset, pack(listings)


def open_dataset_from(listed: bytes, path: str | Path, split: str | None = None, task: str | None = None) -> Dataset:
    """:func:`open_dataset` with the folders another process listed (``listed``, from
    :func:`open_dataset_listed`): those are not listed again; any other folder is."""
    with one_listing(known=unpack(listed)):
        return _open_dataset(path, split, task)


def _open_dataset(path: str | Path, split: str | None, task: str | None) -> Dataset:
    layout, root = find_layout(path)
    try:
        if task is not None and layout.open_task is not None:
            dataset = layout.open_task(root, split, task)
        elif layout.open_task is not None:
            dataset = layout.open_task(root, split, None)
        else:
            dataset = layout.open(root, split)
    except OSError as exc:  # a label file that cannot be read (no permission, an I/O error)
        name = exc.filename or root
        raise DatasetError(f"{layout.name}: {name} cannot be read ({exc.strerror or exc})") from None
    if split is not None and dataset.split != split:
        raise DatasetError(f"{layout.name} at {root} has no split {split!r}; it has {dataset.splits}")
    if task is not None and dataset.task != task:
        offered = ", ".join(dataset.tasks)
        raise DatasetError(f"{layout.name} at {root} holds no {task.replace('_', ' ')} labels; it offers {offered}")
    return dataset


def richest(tasks: tuple[str, ...] | list[str]) -> str:
    """The task opened when none is asked for: the first of ``RICHEST_FIRST`` among ``tasks``."""
    for name in RICHEST_FIRST:
        if name in tasks:
            return name
    return tasks[0]
