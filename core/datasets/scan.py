"""Listing a folder once per open: the layout probes and the reader share one ``os.scandir`` of it.

Recognising a layout looks into the folder the user picked and its sub-folders (every layout's probe),
and the reader then lists them again to build its samples: a 60,000-image folder was listed three
times. Inside :func:`one_listing` (``open_dataset`` runs in one) each folder is scanned once and what
the readers need of it (its image files, its sub-folders, or why it cannot be listed) is kept until the
open ends, so the next open sees files added meanwhile. Outside it every call lists afresh.

Under torchrun the ranks share one listing: rank 0 opens the dataset inside :func:`recording`, sends what it
listed as one compact buffer (:func:`pack`), and the other ranks open it inside ``one_listing(known=...)``,
so a 1.28M-image tree is listed once per job, not once per rank, and every rank sees the same samples even
if files are added meanwhile (``core.inference.distributed.open_dataset``).

Every reader lists through here, those that look for other files too (COCO's ``instances_*.json``, VOC's split
lists, YOLO's and the CSV layout's nested image folders): a Listing keeps a folder's other files beside its
images and sub-folders, so that no reader scans a folder itself and each folder is listed once per job.

``os.scandir`` only: no ``stat`` per file. One bad entry never hides its folder: an image-named entry
whose type cannot be read (a looping or dangling-by-permission symlink) is listed, so that reading it
fails on its own tile with the reason.
"""

from __future__ import annotations

import json
import os
import zlib
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import compress, islice, repeat
from operator import attrgetter
from pathlib import Path

from core.datasets.imageio import IMAGE_EXTENSIONS

#: For ``str.endswith``: one C call a name, where ``os.path.splitext`` costs several Python ones.
_SUFFIXES = tuple(sorted(IMAGE_EXTENSIONS))
#: The suffixes as most names spell them, lower or upper case, the commonest first (``endswith`` tries them in
#: order), so that most names need no lowercased copy.
_COMMON = (".jpg", ".JPEG", ".png", ".JPG", ".jpeg", ".PNG")
_CASED = (*_COMMON, *sorted({spelt for suffix in _SUFFIXES for spelt in (suffix, suffix.upper())} - set(_COMMON)))
#: Entries sorted out per batch: a folder of millions of files never holds all its ``DirEntry`` objects at once.
_CHUNK = 4096
_NAME = attrgetter("name")


@dataclass(frozen=True)
class Listing:
    """What one scan of a folder found; hidden entries (``.name``) are left out. Treat as read-only."""

    #: Sorted names of the image files directly in the folder.
    images: list[str]
    #: Sorted names of the sub-folders.
    folders: list[str]
    #: Why the folder could not be listed ("" when it could): every list is then empty.
    error: str = ""
    #: Sorted names of the other entries (files that are not images: label lists, JSON, CSV...).
    others: list[str] = field(default_factory=list)


_LISTINGS: ContextVar[dict[str, Listing] | None] = ContextVar("cvlens_listings", default=None)


@contextmanager
def one_listing(known: dict[str, Listing] | None = None) -> Iterator[None]:
    """Within, each folder is scanned at most once (nested uses share the outermost one's listings).
    ``known``: listings made elsewhere (another rank's), used instead of scanning those folders."""
    if _LISTINGS.get() is not None:
        yield
        return
    token = _LISTINGS.set(dict(known or {}))
    try:
        yield
    finally:
        _LISTINGS.reset(token)


@contextmanager
def recording() -> Iterator[dict[str, Listing]]:
    """:func:`one_listing` that hands out its listings (folder -> Listing), to be sent to other processes."""
    if _LISTINGS.get() is not None:
        raise RuntimeError("recording() cannot run inside another one_listing()")
    listings: dict[str, Listing] = {}
    token = _LISTINGS.set(listings)
    try:
        yield listings
    finally:
        _LISTINGS.reset(token)


def pack(listings: dict[str, Listing]) -> bytes:
    """``listings`` as one compressed buffer (JSON: names only, a few bytes an image after zlib)."""
    rows = {folder: [found.images, found.folders, found.error, found.others] for folder, found in listings.items()}
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode("utf-8"), 1)


def unpack(buffer: bytes) -> dict[str, Listing]:
    """The listings :func:`pack` packed."""
    rows = json.loads(zlib.decompress(buffer).decode("utf-8"))
    return {folder: Listing(*row) for folder, row in rows.items()}


def listing(folder: Path) -> Listing:
    """The image files and sub-folders of ``folder``, scanned once per :func:`one_listing`."""
    listings = _LISTINGS.get()
    if listings is None:
        return _scan(folder)
    key = os.fspath(folder)
    found = listings.get(key)
    if found is None:
        found = listings[key] = _scan(folder)
    return found


def _scan(folder: Path) -> Listing:
    images: list[str] = []
    folders: list[str] = []
    others: list[str] = []
    try:
        with os.scandir(folder) as entries:
            while chunk := list(islice(entries, _CHUNK)):
                _sort_out(chunk, images, folders, others)
    except OSError as exc:
        return Listing([], [], f"{folder}: cannot be listed ({exc.strerror or exc})")
    for names in (images, folders, others):
        names.sort()
        _drop_hidden(names)
    return Listing(images, folders, "", others)


def _sort_out(chunk: list[os.DirEntry], images: list[str], folders: list[str], others: list[str]) -> None:
    """Adds each entry's name to the list of its kind. The common case, a chunk of image files only, runs as a few
    C-level ``map`` calls: a Python statement per entry cost as much as the ``scandir`` itself at 1.28M files."""
    names = list(map(_NAME, chunk))
    named = list(map(str.endswith, names, repeat(_CASED)))
    if not all(named):  # ".Jpg" and the like, and the files that are not images
        named = [hit or name.lower().endswith(_SUFFIXES) for hit, name in zip(named, names)]
    candidates = list(compress(chunk, named))
    try:
        files = list(map(os.DirEntry.is_file, candidates))
    except OSError:  # a looping or unreadable link among them: each asked on its own
        files = [_is_file(entry) for entry in candidates]
    if len(candidates) == len(chunk) and all(files):
        images += names
        return
    kinds = iter(files)
    for entry, name, hit in zip(chunk, names, named):
        if hit and next(kinds):
            images.append(name)
        elif _is_dir(entry):  # a folder named like an image (photos.jpg/) is a folder
            folders.append(name)
        else:
            others.append(name)


def _drop_hidden(names: list[str]) -> None:
    """Removes the hidden names (".name") from the sorted ``names``: they sort together, before "/"."""
    start = bisect_left(names, ".")
    del names[start : bisect_left(names, "/", start)]


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:  # ELOOP, EACCES...: kept, so the read error names it on its tile
        return True


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False
