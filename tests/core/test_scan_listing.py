"""One folder's listing (core.datasets.scan): what it sorts out, and that it costs no Python work per file, so
that opening ImageNet's 1.28M files stays near a bare ``os.scandir`` walk (benchmarks/bench_open_folders.py)."""

from __future__ import annotations

import os
import sys

from core.datasets import scan
from core.datasets.scan import listing


def expected(folder) -> tuple[list[str], list[str], list[str]]:
    """The listing's rule, one entry at a time: hidden entries skipped; an image-named entry that is a file (or
    whose type cannot be read) is an image; else a folder, else another file."""
    images, folders, others = [], [], []
    for entry in os.scandir(folder):
        if entry.name.startswith("."):
            continue
        try:
            is_file = entry.is_file()
        except OSError:
            is_file = True
        if entry.name.lower().endswith(scan._SUFFIXES) and is_file:
            images.append(entry.name)
        elif entry.is_dir():
            folders.append(entry.name)
        else:
            others.append(entry.name)
    return sorted(images), sorted(folders), sorted(others)


def test_a_large_mixed_folder_is_sorted_out_as_entry_by_entry(tmp_path):
    """More entries than one batch, every kind mixed in: each name lands where the rule puts it, in order."""
    for i in range(scan._CHUNK + 500):
        suffix = (".jpg", ".JPEG", ".Png", ".tiff", ".txt", ".json", ".WebP", "")[i % 8]
        (tmp_path / f"{i:05d}{suffix}").touch()
    for name in (".DS_Store", "._00001.jpg", ".hidden.png"):
        (tmp_path / name).touch()
    for name in ("photos.jpg", "sub", ".git"):
        (tmp_path / name).mkdir()
    (tmp_path / "gone.png").symlink_to(tmp_path / "nowhere.png")  # dangling: not a file
    (tmp_path / "loop.jpg").symlink_to(tmp_path / "loop.jpg")  # its type cannot be read: listed, fails on its tile
    (tmp_path / "linked.jpg").symlink_to(tmp_path / "00000.jpg")
    found = listing(tmp_path)
    images, folders, others = expected(tmp_path)
    assert (found.images, found.folders, found.others, found.error) == (images, folders, others, "")
    assert "loop.jpg" in found.images and "linked.jpg" in found.images and "gone.png" in found.others
    assert "photos.jpg" in found.folders and not any(n.startswith(".") for n in found.images + found.folders)
    assert len(found.images) == sum(i % 8 in (0, 1, 2, 3, 6) for i in range(scan._CHUNK + 500)) + 2


def test_an_unreadable_folder_lists_as_empty_with_the_reason(tmp_path):
    found = listing(tmp_path / "missing")
    assert (found.images, found.folders, found.others) == ([], [], []) and "cannot be listed" in found.error


def test_listing_a_folder_of_images_runs_no_python_code_per_file(tmp_path):
    """A Python call per entry (a helper, a generator step) cost as much as the scandir itself at 1.28M files."""
    n = 3000
    for i in range(n):
        (tmp_path / f"n01440764_{i}.JPEG").touch()
    calls = []
    sys.setprofile(lambda frame, event, arg: calls.append(frame.f_code.co_name) if event == "call" else None)
    try:
        found = listing(tmp_path)
    finally:
        sys.setprofile(None)
    assert len(found.images) == n
    assert len(calls) < 50, f"{len(calls)} Python calls for {n} files: {sorted(set(calls))}"
