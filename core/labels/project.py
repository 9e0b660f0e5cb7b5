"""A dataset's labels as the user has them now, and every labeling action as one call.

``open_project(dataset)`` binds the dataset's store to the dataset's split. Arrays come back in
microseconds (they are kept up to date in memory); each edit is one transaction and one undo
step, however many samples it touches::

    project = open_project(dataset)
    project.set_label([3, 7, 9], "cat")        # one undo step
    project.toggle_tag(selection, "Smiling")
    project.edit(i, label=predicted, status="reviewed")   # review mode: take the model's label
    project.undo()
    targets = project.targets()                # int64, -1 unlabeled, IGNORE (-2) ignored
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.datasets.base import Dataset
from core.labels import compare
from core.labels import masks as saved
from core.labels import runs as model_runs
from core.labels.boxes import Objects, boxes_view, count_text
from core.labels.codec import Codec, sample_indices, status_code
from core.labels.state import LabelState
from core.labels.store import open_store
from core.labels.values import EXCLUDED, IGNORE, STATUSES, Change, HistoryEntry, Step, split_key

if TYPE_CHECKING:
    from core.inference.predictions import Predictions
    from core.labels.store import ProjectStore

#: "Leave this field as it is" in :meth:`Project.edit`.
KEEP: Any = object()
Indices = int | Sequence[int] | np.ndarray


class Project:
    """Original labels of ``dataset`` overridden by the store's edits; edits, undo, history, runs."""

    def __init__(self, store: ProjectStore, dataset: Dataset) -> None:
        self.store, self.dataset = store, dataset
        self.split = split_key(dataset.split)
        self.reload()
        self._siblings: dict[str, Project] = {self.split: self}
        store.subscribe(self._on_step)

    def reload(self) -> None:
        """Read the labels from the store again (a read-only copy seeing what the writing copy saved)."""
        self._state = LabelState(self.dataset, self.split)
        self._state.load(self.store.overrides(self.split))

    def _on_step(self, step: Step) -> None:
        self._state.apply_changes(step.changes)

    @property
    def codec(self) -> Codec:
        return self._state.codec

    @property
    def read_only(self) -> bool:
        return self.store.read_only

    @property
    def notice(self) -> str:
        return self.store.notice

    @property
    def unmatched(self) -> dict[tuple[str, str], Any]:
        """Stored edits this dataset cannot show (a sample or class it no longer has), kept in the store."""
        return dict(self._state.unmatched)

    def for_split(self, split: str | None) -> Project:
        """The same store bound to another split of the dataset."""
        if split_key(split) not in self._siblings:
            sibling = Project(self.store, self.dataset.with_split(split))
            sibling._siblings = self._siblings  # one family: every split finds the same objects
            self._siblings[sibling.split] = sibling
        return self._siblings[split_key(split)]

    # -- arrays (copies; cheap) ------------------------------------------------------
    def targets(self, original: bool = False) -> np.ndarray | None:
        """Effective class per sample: index, UNLABELED (-1) or IGNORE (-2); None without class labels."""
        source = self._state.original_targets if original else self._state.targets
        return None if source is None else source.copy()

    def tags(self, original: bool = False) -> np.ndarray | None:
        """Effective N x L 0/1 tags of a multilabel dataset; None for other tasks."""
        source = self._state.original_tags if original else self._state.tags
        return None if source is None else source.copy()

    def edited(self) -> np.ndarray:
        """True where the label or tags differ from the dataset's own (what the browser marks)."""
        return self._state.edited()

    def status(self) -> np.ndarray:
        """Review mark per sample: int8 codes into ``STATUSES`` (0 none, 1 reviewed, 2 flagged, 3 excluded)."""
        return self._state.status.copy()

    def excluded(self) -> np.ndarray:
        """Samples left out of metrics and exports: marked excluded, or labeled "ignore"."""
        out = self._state.status == EXCLUDED
        if self._state.targets is not None:
            out |= self._state.targets == IGNORE
        return out

    def notes(self) -> dict[int, str]:
        return dict(self._state.notes)

    def note(self, index: int) -> str:
        return self._state.notes.get(int(index), "")

    def review_counts(self) -> dict[str, int]:
        """Samples per review mark, "" counting those without one (review mode's "what is left")."""
        counts = np.bincount(self._state.status, minlength=len(STATUSES))
        return {name: int(n) for name, n in zip(STATUSES, counts)}

    # -- edits (each call one transaction and one undo step) ---------------------------------
    def set_label(self, indices: Indices, label: int | str | Sequence, description: str | None = None) -> Step | None:
        """Give samples a class (index or name, one for all or one each), UNLABELED or IGNORE."""
        return self.edit(indices, label=label, description=description)

    def set_tags(
        self, indices: Indices, tags: Sequence[int | str] | np.ndarray, description: str | None = None
    ) -> Step | None:
        """Replace the tags of samples by exactly ``tags`` (or, a 0/1 matrix, each sample's by its row)."""
        return self.edit(indices, tags=tags, description=description)

    def set_tag(self, indices: Indices, tag: int | str, on: bool = True, description: str | None = None) -> Step | None:
        """Switch one tag on (or off) for every sample in ``indices``."""
        idx, column = self._indices(indices), self.codec.tag_index(tag)
        rows = self._require_tags()[idx].copy()
        rows[:, column] = 1 if on else 0
        name = self.codec.classes[column]
        text = description or f"tag {name} {'on' if on else 'off'}, {_count(len(idx))}"
        return self._commit(self._state.tag_changes(idx, rows), text)

    def toggle_tag(self, indices: Indices, tag: int | str, description: str | None = None) -> Step | None:
        """Switch a tag off if every sample has it, else on for all (the usual rule for a mixed selection)."""
        idx, column = self._indices(indices), self.codec.tag_index(tag)
        on = not bool(self._require_tags()[idx, column].all()) if len(idx) else True
        return self.set_tag(idx, column, on, description)

    def set_status(self, indices: Indices, status: str | int | None, description: str | None = None) -> Step | None:
        """Mark samples "reviewed", "flagged" or "excluded" (None / "" removes the mark)."""
        return self.edit(indices, status=status, description=description)

    def set_note(self, indices: Indices, text: str, description: str | None = None) -> Step | None:
        return self.edit(indices, note=text, description=description)

    def edit(
        self,
        indices: Indices,
        *,
        label: Any = KEEP,
        tags: Any = KEEP,
        status: Any = KEEP,
        note: Any = KEEP,
        description: str | None = None,
    ) -> Step | None:
        """Set any fields of samples in one undo step; samples already holding a value are left alone.

        None when nothing changed (no step is recorded then).
        """
        idx = self._indices(indices)
        if not len(idx):
            return None
        changes: list[Change] = []
        words = []
        if label is not KEEP:
            codes = self._label_codes(label, len(idx))
            changes += self._state.label_changes(idx, codes)
            words.append("label → " + (self.codec.label_name(codes[0]) if len(set(codes.tolist())) == 1 else "…"))
        if tags is not KEEP:
            rows = self._tag_rows(tags, len(idx))
            changes += self._state.tag_changes(idx, rows)
            same = len(rows) == 1 or bool((rows == rows[0]).all())
            words.append("tags → " + ((", ".join(self.codec.tags_stored(rows[0])) or "none") if same else "…"))
        if status is not KEEP:
            code = status_code(status)
            changes += self._state.status_changes(idx, code)
            words.append(f"mark → {STATUSES[code] or 'none'}")
        if note is not KEEP:
            changes += self._state.note_changes(idx, note or "")
            words.append("note")
        return self._commit(changes, description or f"{'; '.join(words)}, {_count(len(idx))}")

    def undo(self) -> Step | None:
        """Revert the latest step of this dataset's store (of whichever split); None when nothing to undo."""
        return self.store.undo()

    def redo(self) -> Step | None:
        return self.store.redo()

    def history(self, index: int) -> list[HistoryEntry]:
        """Every change of one sample, oldest first; None values resolved to the dataset's own."""
        sample_id = self.dataset.sample_ids[int(index)]
        return [
            replace(e, old=self._state.resolved(e.field, e.old, index), new=self._state.resolved(e.field, e.new, index))
            for e in self.store.history(self.split, sample_id)
        ]

    # -- saved masks (a history of versions; see core.labels.masks) -------------------------
    def save_mask(self, index: int, mask: np.ndarray, description: str | None = None) -> Step:
        """Keep ``mask`` as the sample's newest saved mask; earlier saves stay in its history (one undo step)."""
        sample_id = self.dataset.sample_ids[int(index)]
        return saved.save_version(self.store, self.split, sample_id, mask, description or f"mask of {sample_id}")

    def saved_masks(self) -> dict[int, int]:
        """index -> id of the newest saved mask, for every sample that has one."""
        return dict(self._state.masks)

    def saved_mask(self, index: int) -> saved.MaskVersion | None:
        """The sample's newest saved mask (None: it has none, or its saves were undone)."""
        version_id = self._state.masks.get(int(index))
        return None if version_id is None else saved.get_version(self.store, version_id)

    def load_saved_mask(self, index: int) -> np.ndarray | None:
        """The pixels of the sample's newest saved mask, or None; StoreError when its file is damaged."""
        version = self.saved_mask(index)
        return None if version is None else saved.read_version(self.store, version)

    def mask_versions(self, index: int) -> list[saved.MaskVersion]:
        """Every mask saved for the sample, oldest first, including undone ones."""
        return saved.list_versions(self.store, self.split, self.dataset.sample_ids[int(index)])

    # -- objects (box tasks; see core.labels.boxes) ----------------------------------------
    def boxes(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The image's objects now: (float32 N x 4 boxes x0, y0, x1, y1; int64 N classes), edited or the dataset's."""
        objects = self._state.objects(index)
        return objects.boxes.copy(), objects.classes.copy()

    def objects(self, index: int) -> Objects:
        """The image's objects now, with their flags and the dataset objects whose instance masks they keep."""
        return self._state.objects(index)

    def edited_boxes(self) -> dict[int, Objects]:
        """index -> objects of every image whose objects the user edited."""
        return dict(self._state.boxes)

    def set_boxes(
        self,
        index: int,
        boxes: np.ndarray | Sequence,
        classes: Sequence[int | str] | np.ndarray,
        *,
        flags: dict[str, Sequence[bool]] | None = None,
        instances: Sequence[int] | None = None,
        description: str | None = None,
    ) -> Step | None:
        """Replace one image's whole object list (classes by index or name) in one undo step; None if unchanged.

        ``instances``: per object, the dataset object whose instance mask it keeps (-1: none, the default)."""
        codes = [self.codec.index[c] if isinstance(c, str) and c in self.codec.index else c for c in classes]
        for c in codes:
            if isinstance(c, str) or not 0 <= int(c) < len(self.codec.classes):
                raise ValueError(f"{c!r} is not one of the dataset's classes")
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        objects = Objects(boxes, np.asarray(codes, np.int64), flags or {}, instances)
        return self.set_objects(index, objects, description)

    def set_objects(self, index: int, objects: Objects, description: str | None = None) -> Step | None:
        """Replace one image's objects in one undo step ("boxes of a.jpg: 3 objects → 4 objects")."""
        index = int(self._indices(index)[0])
        if len(objects) and not (objects.boxes[:, 2:] > objects.boxes[:, :2]).all():
            raise ValueError("every box needs x0 < x1 and y0 < y1")
        before = self._state.objects_text(index)
        text = f"boxes of {self.dataset.sample_ids[index]}: {before} → {count_text(len(objects))}"
        return self._commit(self._state.boxes_changes(index, objects), description or text)

    def boxes_dataset(self, original: bool = False) -> Dataset:
        """The dataset whose ``load_boxes`` gives the edited objects (read live: later edits show), excluded
        samples named by its ``excluded`` array; the dataset itself when ``original``."""
        if original:
            return self.dataset
        return boxes_view(self.dataset, self._state.boxes, self.excluded(), tags=self.tags())

    # -- building changes -------------------------------------------------------------
    def _commit(self, changes: list[Change], description: str) -> Step | None:
        return self.store.commit(changes, description) if changes else None

    def _indices(self, indices: Indices) -> np.ndarray:
        return sample_indices(indices, len(self.dataset))

    def _require_tags(self) -> np.ndarray:
        if self._state.tags is None:
            raise ValueError(f"{self.dataset.layout} is not a multilabel dataset: it has no tags to set")
        return self._state.tags

    def _tag_rows(self, tags: Any, n: int) -> np.ndarray:
        """n x L 0/1 rows: one tag set (names or indices) for all, or a 0/1 (bool) matrix with a row each."""
        k = len(self.codec.classes)
        if isinstance(tags, np.ndarray) and tags.ndim == 2:
            if tags.shape != (n, k):
                raise ValueError(f"tag rows {tags.shape} must be {n} x {k}: one row of every label per sample")
            return (tags > 0).astype(np.uint8)
        row = np.zeros(k, dtype=np.uint8)
        row[[self.codec.tag_index(t) for t in tags]] = 1
        return np.broadcast_to(row, (n, k))

    def _label_codes(self, label: Any, n: int) -> np.ndarray:
        if self._state.targets is None:
            raise ValueError(f"{self.dataset.layout} ({self.dataset.task}) has no class labels to set")
        return self.codec.label_codes(label, n)

    # -- metrics and runs ---------------------------------------------------------------
    def label_dataset(self, original: bool = False) -> Dataset:
        """The dataset with the labels the metrics should use: edited (ignored/excluded unlabeled) or original."""
        return self.dataset if original else compare.edited_dataset(self)

    def summarize(self, predictions: Predictions, original: bool = False, **options: Any) -> dict[str, Any]:
        """``core.evaluation.classification.summarize`` (``options``: beta, threshold) on the edited labels,
        excluded samples left out; or on the dataset's original labels (the metrics view's switch)."""
        return compare.summarize_with(self, predictions, original=original, **options)

    def save_run(
        self,
        predictions: Predictions,
        *,
        weights: str | Path | None = None,
        settings: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        name: str | None = None,
        embeddings: np.ndarray | None = None,
        replacing: model_runs.Run | None = None,
    ) -> model_runs.Run:
        """Keep a model run (weights hashed; metrics default to ``summarize`` on the current labels) and, when
        given, its ``embeddings`` (N x D, a row per sample of ``predictions``; kept as float16 beside it).
        ``replacing``: a kept run this one replaces (same id), when the user chose to."""
        info = {"weights": weights, "settings": settings, "metrics": metrics, "name": name, "replacing": replacing}
        return model_runs.save_run(self, predictions, embeddings=embeddings, **info)

    def runs(self) -> list[model_runs.Run]:
        """Runs of this split, oldest first."""
        return model_runs.list_runs(self.store, self.split)

    def load_run(self, run: model_runs.Run | int) -> Predictions:
        """A run's predictions, aligned to this dataset's samples."""
        return model_runs.load_run(self, run)

    def load_run_embeddings(self, run: model_runs.Run | int) -> np.ndarray | None:
        """A run's embeddings (N x D float16, memory-mapped read-only, in the dataset's order); None when it
        kept none. StoreError when they cannot be used (file gone or damaged, the dataset's samples changed)."""
        return model_runs.load_embeddings(self, run)

    def save_run_map(self, run: model_runs.Run | int, coords: np.ndarray, method: str) -> None:
        """Keep the 2-D map of a run's embeddings (``core.analysis.projection.compute_map``'s coordinates and
        method), so that showing the run again does not make it again."""
        model_runs.save_map(self, run, coords, method)

    def load_run_map(self, run: model_runs.Run | int, method: str | None = None) -> tuple[np.ndarray, str] | None:
        """(N x 2 float32 coordinates, method) of a kept map of the run: ``method``'s, or the best one kept;
        None when there is none."""
        return model_runs.load_map(self, run, method)

    def compare_runs(self, run_a: model_runs.Run | int, run_b: model_runs.Run | int) -> compare.RunComparison:
        return compare.compare_runs(self, run_a, run_b)


def _count(n: int) -> str:
    return f"{n} sample" if n == 1 else f"{n} samples"


def open_project(dataset: Dataset) -> Project:
    """The dataset's project (its store, opened or found again), bound to the dataset's split."""
    return Project(open_store(dataset), dataset)


def record_run(dataset: Dataset, predictions, **info: Any) -> tuple[model_runs.Run, Path]:
    """Keep a run made without the window (``python main.py evaluate``) in the dataset's project, as the
    window keeps its own: (the run, the store's folder). ``info``: ``save_run``'s keywords. The store is
    opened for this and closed again, so a window opened later (or still open) sees the run.
    Raises StoreReadOnlyError when the store cannot be written (open in a window, a read-only folder)."""
    project = open_project(dataset)
    try:
        return project.save_run(predictions, **info), project.store.folder
    finally:
        project.store.close()
