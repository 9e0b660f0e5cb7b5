"""Opening a dataset with its project store and its latest run, in one go on a worker thread.

The store never keeps the dataset from opening: a store that cannot be opened at all is
reported (``problem``) and the dataset is shown without one; a locked, recovered or migrated
store opens and says so (``notice``).

It lives at the top of core's layers, with the masks, because the dataset it returns reads the true masks
as the project says (the saved masks in place of the dataset's own: :func:`core.masks.writers.truth_dataset`)
and a segmentation run is re-scored against them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.datasets import Dataset, open_dataset
from core.inference import Predictions
from core.inference.rescoring import rescore
from core.labels.errors import StoreError
from core.labels.project import Project, open_project
from core.labels.runs import Run
from core.masks.writers import truth_dataset
from core.tasks import shown_on
from core.tasks.outcomes import segmentation_run


@dataclass
class Opened:
    dataset: Dataset
    project: Project | None = None
    #: The latest run of this split and its predictions (loaded from the store, ready to show).
    run: Run | None = None
    predictions: Predictions | None = None
    #: That run's embeddings (N x D float16, memory-mapped read-only) when it kept them.
    embeddings: np.ndarray | None = None
    #: What the user must be told about the store (read-only, recovered, migrated); "" when all is well.
    notice: str = ""
    #: Why the store (or its latest run) could not be read; "" when it could.
    problem: str = ""


def open_with_project(path: str, split: str | None = None) -> Opened:
    """``open_dataset`` (its errors propagate), then its project and latest run (their errors are reported)."""
    return attach_project(open_dataset(path, split=split))


def store_notice(project: Project) -> str:
    """What the window must say about the store: read-only, recovered from damage, migrated."""
    lines = [project.notice] if project.notice else []
    store = project.store
    if getattr(store, "migrated_from", None) is not None:
        lines.append(
            f"The project store {store.path} was written by an older CV Lens (schema {store.migrated_from}); "
            "it was updated, and a backup of the old file was kept beside it."
        )
    return "\n".join(lines)


def attach_project(dataset: Dataset) -> Opened:
    opened = Opened(dataset)
    try:
        opened.project = open_project(dataset)
    except (StoreError, OSError) as exc:
        opened.problem = f"The project store of this dataset cannot be opened, edits cannot be saved: {exc}"
        return opened
    opened.notice = store_notice(opened.project)
    opened.dataset = truth_dataset(dataset, opened.project)  # saved masks as labels, if the project says so
    try:
        # the latest run scored on the dataset as it is open: a detector's run is not the segmentation task's
        runs = [run for run in opened.project.runs() if shown_on(run, opened.dataset)]
        if runs:
            opened.run = runs[-1]
            opened.predictions = opened.project.load_run(runs[-1])
    except StoreError as exc:
        opened.run = None
        opened.problem = f"The latest saved run could not be loaded: {exc}"
    load_embeddings(opened)
    rescore_saved(opened)
    return opened


def load_embeddings(opened: Opened) -> None:
    """The latest run's embeddings with its predictions; the run is shown without them when they cannot be read."""
    if opened.run is None or opened.project is None:
        return
    try:
        opened.embeddings = opened.project.load_run_embeddings(opened.run)
    except StoreError as exc:
        opened.problem = f"The run is shown without its embeddings: {exc}"


def rescore_saved(opened: Opened) -> None:
    """A segmentation run's images with saved masks, scored against the truth the dataset now reads
    (the run may have been made before a mask was saved, or with the other setting of the switch)."""
    preds, project = segmentation_run(opened.dataset, opened.predictions), opened.project
    if preds is None or project is None:
        return
    saved = sorted(project.saved_masks())
    if saved:
        for _ in rescore(preds, opened.dataset, saved):
            pass
