"""The export formats' writers; each fills an empty temp folder (``export.py`` makes it atomic)."""

from __future__ import annotations

import csv
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.datasets.base import Dataset, SampleError
from core.datasets.readers.imagefolder import SPLIT_NAMES
from core.labels.boxes import count_text, dataset_objects
from core.labels.errors import ExportError
from core.labels.values import EXCLUDED, IGNORE, STATUSES, UNLABELED

if TYPE_CHECKING:
    from core.labels.export import ExportResult
    from core.labels.project import Project

#: How the CSV writes (and the CSV import reads) the two special labels, and separates tags.
CSV_UNLABELED, CSV_IGNORE, TAG_SEPARATOR = "", "<ignore>", ";"


@dataclass
class SplitLabels:
    """One split's current labels, and which samples a folder format writes (``keep``)."""

    project: Project
    split: str | None
    dataset: Dataset
    targets: np.ndarray | None
    tags: np.ndarray | None
    status: np.ndarray
    keep: np.ndarray
    edited: np.ndarray

    @classmethod
    def of(cls, project: Project, include_excluded: bool = False) -> SplitLabels:
        targets, status = project.targets(), project.status()
        keep = np.ones(len(status), dtype=bool) if include_excluded else status != EXCLUDED
        if targets is not None:
            keep &= targets >= 0
        split = project.dataset.split
        return cls(project, split, project.dataset, targets, project.tags(), status, keep, project.edited())

    def left_out_reasons(self) -> Iterator[str]:
        for i in np.flatnonzero(~self.keep):
            if self.targets is not None and self.targets[i] == UNLABELED:
                yield "unlabeled"
            elif self.targets is not None and self.targets[i] == IGNORE:
                yield "ignore"
            else:
                yield "excluded"

    def label_changes(self) -> Iterator[tuple[str, str, str, str]]:
        """(sample_id, field, from, to) of every sample whose label or tags were changed."""
        codec, ids = self.project.codec, self.dataset.sample_ids
        original_targets, original_tags = self.project.targets(original=True), self.project.tags(original=True)
        for i in np.flatnonzero(self.edited):
            if self.targets is not None:
                yield ids[i], "label", codec.label_name(original_targets[i]), codec.label_name(self.targets[i])
            if self.tags is not None:
                old, new = codec.tags_stored(original_tags[i]), codec.tags_stored(self.tags[i])
                yield ids[i], "tags", TAG_SEPARATOR.join(old), TAG_SEPARATOR.join(new)
        for i in sorted(self.project.edited_boxes()):  # objects: how many before and after
            before = len(dataset_objects(self.dataset, i))
            yield ids[i], "boxes", count_text(before), count_text(len(self.project.objects(i)))

    def tag_changes(self) -> Iterator[str]:
        """A "+tag" or "-tag" for every tag switched on or off."""
        if self.tags is None:
            return
        original = self.project.tags(original=True)
        names = self.project.codec.classes
        for i in np.flatnonzero(self.edited):
            for j in np.flatnonzero(self.tags[i] != original[i]):
                yield ("+" if self.tags[i, j] else "-") + names[j]


class Placer:
    """Puts sample images into the export: copy, hard link (copy across devices) or symlink; PNG for arrays."""

    def __init__(self, root: Path, result: ExportResult, link: str, progress: Callable | None, total: int) -> None:
        self.root, self.result, self.link = root, result, link
        self.progress, self.total, self.done = progress, total, 0
        self._used: set[str] = set()

    def put(self, part: SplitLabels, index: int, folder: str, name: str) -> str | None:
        """The sample's relative path in the export; None (and an entry in ``errors``) when it cannot be read."""
        relative = self._unique(f"{folder}/{name}")
        key = (part.split or "", part.dataset.sample_ids[index])
        try:
            self._place(part.dataset, index, self.root / relative)
        except (FileNotFoundError, SampleError) as exc:
            self.result.errors[key] = str(exc)
            self._used.discard(relative)
            return None
        finally:
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total)
        self.result.files[key] = relative
        return relative

    def _unique(self, relative: str) -> str:
        stem, dot, suffix = relative.rpartition(".")
        candidate, n = relative, 1
        while candidate in self._used:
            n += 1
            candidate = f"{stem}_{n}.{suffix}" if dot else f"{relative}_{n}"
        self._used.add(candidate)
        return candidate

    def _place(self, dataset: Dataset, index: int, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        source = dataset.sample_path(index)
        if source is None:
            _write_png(dest, dataset.load_image(index))
        elif self.link == "symlink":
            if not Path(source).is_file():
                raise FileNotFoundError(f"{source} does not exist")
            os.symlink(Path(source).resolve(), dest)
        elif self.link == "hardlink":
            try:
                os.link(source, dest)
            except FileNotFoundError:
                raise
            except OSError:  # another device, or a file system without hard links
                shutil.copyfile(source, dest)
        else:
            shutil.copyfile(source, dest)


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    if not ok:
        raise SampleError(f"cannot encode {path.name} as PNG")
    path.write_bytes(encoded.tobytes())


def file_name(dataset: Dataset, index: int) -> str:
    """The exported file's name: the image file's own name, or the sample id as a PNG name for arrays."""
    source = dataset.sample_path(index)
    if source is None:
        return re.sub(r"[^\w.-]+", "_", dataset.sample_ids[index]) + ".png"
    return Path(source).name


def folder_names(names: list[str]) -> list[str]:
    """Names usable as folder names (no separators, not hidden); ExportError when two become one."""
    folders = [re.sub(r"[/\\]", "_", n).strip() or "_" for n in names]
    folders = ["_" + f if f.startswith(".") else f for f in folders]
    if len(set(folders)) != len(folders):
        raise ExportError("two classes have the same folder name; rename one of them first")
    return folders


def require_classes(splits: list[SplitLabels], format: str) -> None:
    if splits[0].targets is None:
        task = splits[0].dataset.task
        raise ExportError(f"{format} holds one class per sample; this dataset ({task}) has none. Export to CSV.")


def total(splits: list[SplitLabels]) -> int:
    return int(sum(part.keep.sum() for part in splits))


def write_image_folder(temp: Path, splits: list[SplitLabels], result: ExportResult, *, link: str, progress) -> None:
    """``<split>/<class>/<file>`` (``<class>/<file>`` without splits), as ImageFolder reads it."""
    require_classes(splits, "An image folder")
    odd = [p.split for p in splits if p.split and p.split.lower() not in SPLIT_NAMES]
    if odd:
        raise ExportError(f"image folders know the splits {SPLIT_NAMES}, not {odd}; export to CSV instead")
    folders = folder_names(splits[0].dataset.classes)
    placer = Placer(temp, result, link, progress, total(splits))
    for part in splits:
        prefix = f"{part.split}/" if part.split else ""
        for i in np.flatnonzero(part.keep):
            placer.put(part, i, prefix + folders[part.targets[i]], file_name(part.dataset, i))


def write_csv(temp: Path, splits: list[SplitLabels], result: ExportResult, *, link: str, progress) -> None:
    """``labels.csv``: every sample of every split with its label (or tags), review mark and note."""
    codec = splits[0].project.codec
    multilabel = splits[0].tags is not None
    with open(temp / "labels.csv", "w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["sample_id", "split", "tags" if multilabel else "label", "status", "note"])
        for part in splits:
            notes = part.project.notes()
            for i, sample_id in enumerate(part.dataset.sample_ids):
                label = _csv_label(part, i, codec, multilabel)
                rows.writerow([sample_id, part.split or "", label, STATUSES[part.status[i]], notes.get(i, "")])


def _csv_label(part: SplitLabels, i: int, codec, multilabel: bool) -> str:
    if multilabel:
        return TAG_SEPARATOR.join(codec.tags_stored(part.tags[i]))
    if part.targets is None or part.targets[i] == UNLABELED:
        return CSV_UNLABELED
    return CSV_IGNORE if part.targets[i] == IGNORE else codec.classes[part.targets[i]]
