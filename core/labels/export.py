"""Export the labels as the user has them now, atomically, into a new folder.

Formats (``FORMATS``): ``image_folder`` (``<split>/<class>/<file>``; images copied, hard- or
sym-linked, or written as PNG for datasets held as arrays such as CIFAR and MNIST), ``csv``
(``labels.csv``: sample id, split, label or tags, review mark, note), and the dataset's own
annotation format where CV Lens can write it: ``celeba`` (``list_attr_celeba.txt`` and
``list_eval_partition.txt``), ``food101`` (``meta/classes.txt``, ``meta/train.txt``, ``meta/test.txt``)
and ``imagenet`` (synset folders and ``LOC_synset_mapping.txt``). CIFAR/MNIST files are not
written back (their readers' formats are the originals'); they export to image folders. A dataset open for an
object task (detection ...) exports its objects as edited to ``coco``, ``yolo`` or ``voc`` (``box_writers``).

Every export covers all splits of the dataset. Samples labeled "ignore", marked excluded, or
unlabeled are left out of folder formats (counted in the summary); the CSV lists every sample.
Everything is written into a hidden temp folder beside the destination, which is renamed to the
destination at the end: the destination either does not exist or is complete. An existing
destination is refused unless it is an empty folder (one just made in a folder dialog); nothing is ever
written into a folder holding anything. ``summary.json`` and ``changes.csv`` say what changed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.evaluation.classification import truth_is_tags
from core.labels import box_writers, native, writers
from core.labels.errors import ExportError
from core.labels.history import current_user
from core.labels.project import Project
from core.labels.writers import SplitLabels

FORMATS = ("image_folder", "csv", "celeba", "food101", "imagenet", *box_writers.BOX_FORMATS)
LINKS = ("copy", "hardlink", "symlink")
_NATIVE = {"Image folder": "image_folder", "CelebA": "celeba", "Food-101": "food101", "ImageNet": "imagenet"}
_WRITERS: dict[str, Callable[..., None]] = {
    "image_folder": writers.write_image_folder,
    "csv": writers.write_csv,
    "celeba": native.write_celeba,
    "food101": native.write_food101,
    "imagenet": native.write_imagenet,
    "coco": box_writers.write_coco,
    "yolo": box_writers.write_yolo,
    "voc": box_writers.write_voc,
}
Progress = Callable[[int, int], None]


@dataclass
class ExportResult:
    path: Path
    format: str
    summary: dict[str, Any]
    #: (split, sample id) -> path of the sample's file in the export, relative to ``path``.
    files: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    #: Samples that could not be written (unreadable image ...): (split, sample id) -> message.
    errors: dict[tuple[str, str], str] = field(default_factory=dict)
    #: Object formats: objects written, and left out by kind ("crowd_left_out": YOLO has no crowd flag).
    objects: Counter = field(default_factory=Counter)


def native_format(layout: str) -> str | None:
    """The export format that writes a layout's own annotation files, None when there is none."""
    return _NATIVE.get(layout)


def formats_for(project: Project) -> list[str]:
    """The formats this dataset can be exported to (for the export dialog)."""
    if project.dataset.has_boxes:
        return list(box_writers.BOX_FORMATS)
    if truth_is_tags(project.dataset):
        return ["csv", "celeba"]
    found = ["image_folder", "csv"]
    if len(project.dataset) and project.dataset.sample_path(0) is not None:
        found.append("food101")  # image files only (arrays such as CIFAR have none to list)
    return [*found, "imagenet"] if hasattr(project.dataset, "synsets") else found


def export_labels(
    project: Project,
    out: str | Path,
    format: str = "image_folder",
    *,
    link: str = "copy",
    include_excluded: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the project's current labels to the new folder ``out`` in ``format``; ExportError if it cannot."""
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; expected one of {FORMATS}")
    if link not in LINKS:
        raise ExportError(f"unknown way to place images {link!r}; expected one of {LINKS}")
    out = Path(out).expanduser().absolute()
    if out.exists() and not empty_folder(out):
        raise ExportError(
            f"{out} already exists and is not an empty folder; exports go into a new folder, nothing there was changed"
        )
    if format in box_writers.BOX_FORMATS and not project.dataset.has_boxes:
        raise ExportError(f"{format} holds objects (boxes); this dataset is open as {project.dataset.task}")
    splits = gather(project, include_excluded)
    result = ExportResult(out, format, {})
    temp = _make_temp(out)
    try:
        _WRITERS[format](temp, splits, result, link=link, progress=progress)
        result.summary = summarize_changes(project, splits, result, format)
        _write_text(temp / "summary.json", json.dumps(result.summary, indent=2, ensure_ascii=False) + "\n")
        _write_text(temp / "changes.csv", changes_csv(splits))
        if out.exists() and not empty_folder(out):
            raise ExportError(f"{out} was filled while exporting; the export was not moved there")
        if out.exists():
            out.rmdir()  # the empty folder the user chose (rename cannot replace a folder everywhere)
        os.rename(temp, out)
    except OSError as exc:
        shutil.rmtree(temp, ignore_errors=True)
        raise ExportError(
            f"Could not write the export to {out}: {exc.strerror or exc}. Nothing was left there."
        ) from exc
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return result


def empty_folder(path: Path) -> bool:
    """``path`` is a folder holding nothing (not even hidden files)."""
    try:
        return path.is_dir() and not path.is_symlink() and next(path.iterdir(), None) is None
    except OSError:
        return False


def gather(project: Project, include_excluded: bool = False) -> list[SplitLabels]:
    """The current labels of every split of the project's dataset."""
    names = project.dataset.splits or [project.dataset.split]
    return [SplitLabels.of(project.for_split(split), include_excluded) for split in names]


def _make_temp(out: Path) -> Path:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        temp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
        temp.mkdir()
    except OSError as exc:
        raise ExportError(f"Cannot write into {out.parent}: {exc.strerror or exc}. Nothing was written.") from exc
    return temp


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
        handle.write(text)


def summarize_changes(project: Project, splits: list[SplitLabels], result: ExportResult, format: str) -> dict:
    """summary.json: what was written, what was left out and why, what the user changed."""
    left_out: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    review: Counter[str] = Counter()
    edited = 0
    for part in splits:
        left_out.update(part.left_out_reasons())
        edited += int(part.edited.sum())
        labels.update(f"{a} → {b}" for _, name, a, b in part.label_changes() if name == "label")
        tags.update(part.tag_changes())
        review.update({k: v for k, v in part.project.review_counts().items() if k})
    dataset = project.dataset
    return {
        "format": format,
        "dataset": str(dataset.root),
        "layout": dataset.layout,
        "store": str(project.store.path),
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "user": current_user(),
        "samples_written": len(result.files) if format != "csv" else sum(len(p.dataset) for p in splits),
        "left_out": dict(left_out),
        "errors": [{"split": s, "sample_id": i, "error": e} for (s, i), e in result.errors.items()],
        "samples_edited": edited,
        "label_changes": dict(labels.most_common()),
        "tag_changes": dict(tags.most_common()),
        "review_marks": dict(review),
        "unmatched_edits": sum(len(p.project.unmatched) for p in splits),
        **_object_summary(splits, result),
    }


def _object_summary(splits: list[SplitLabels], result: ExportResult) -> dict[str, Any]:
    """Of a box dataset: objects written and left out, images whose objects the user edited."""
    if not splits[0].dataset.has_boxes:
        return {}
    edited = sum(len(p.project.edited_boxes()) for p in splits)
    return (
        {"objects_written": result.objects.get("objects", 0), "images_with_edited_objects": edited}
        | ({"crowd_regions_left_out": result.objects["crowd_left_out"]} if result.objects.get("crowd_left_out") else {})
        | (
            {"reencoded_as_jpeg": result.objects["reencoded_as_jpeg"]}
            if result.objects.get("reencoded_as_jpeg")
            else {}
        )
    )


def changes_csv(splits: list[SplitLabels]) -> str:
    """changes.csv: one row per changed label (split, sample_id, field, from, to)."""
    buffer = io.StringIO()
    rows = csv.writer(buffer)
    rows.writerow(["split", "sample_id", "field", "from", "to"])
    for part in splits:
        for sample_id, field_name, old, new in part.label_changes():
            rows.writerow([part.split or "", sample_id, field_name, old, new])
    return buffer.getvalue()
