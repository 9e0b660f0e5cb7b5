"""From model runs to one :class:`~core.analysis.report.AnalysisInput`, in one process or under torchrun.

Per split the caller makes the task's job with embeddings (``core.tasks.job_for``) and :func:`run_split` runs
it: in one process over every sample; under torchrun each rank over its share of whole batches, as
``evaluate`` deals them (``core.inference.distributed``), and rank 0 gathers the scores and embedding rows.
A segmenter's probabilities stay where they were computed: each rank scores the masks of its own images
(``mask_issues.find_mask_issues``, the per-class thresholds pooled over the ranks between the two passes) and
sends rank 0 the per-image numbers. No process holds N x K x H x W and the ranks need no shared disk.
The thresholds are the split's own (a split the model was trained on is more confident than one it never
saw). :func:`analysis_input` puts the splits one after the other, as ``analyze`` writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.analysis.duplicates import hash_dataset
from core.analysis.mask_issues import SIZE, MaskIssues, find_mask_issues, pooled_thresholds
from core.analysis.mask_quality import RunMasks
from core.analysis.report import AnalysisInput
from core.inference import distributed
from core.models.cards import ModelError


@dataclass
class SplitRun:
    """What one split's run gives the analysis (rows in the dataset's order)."""

    split: str
    dataset: Any
    classes: list[str]
    done: np.ndarray  # bool (n,): predicted, with an embedding
    embeddings: np.ndarray  # n x D float32
    probabilities: np.ndarray | None = None  # n x K (classifiers)
    mask_issues: MaskIssues | None = None  # segmenters: per-image label quality, indices into this split


def run_split(job, split: str, *, per_pixel: bool, rank=None, show: Callable | None = None) -> SplitRun | None:
    """Run ``job`` (embeddings on) over its dataset; the split's SplitRun (None on ranks other than 0).

    ModelError, on every rank, when the model failed on any rank."""
    if rank is None:
        for progress in job.run():
            if show:
                show(progress)
        issues = _mask_issues(job, np.flatnonzero(job.predictions.has_truth)) if per_pixel else None
        return _split_run(job, split, issues)
    if per_pixel:
        return _segmenter_shard(job, split, rank, show)
    failure = None
    try:
        distributed.run_shard(job, rank, show)
    except ModelError as exc:
        failure = str(exc)
    _agree(rank, failure)
    return _split_run(job, split, None) if rank.is_main else None


def _split_run(job, split: str, issues: MaskIssues | None) -> SplitRun:
    preds = job.predictions
    if job.embeddings is None:  # the run ended with samples left: no embeddings store was put in place
        raise ModelError(f"{split}: the run did not end, so it has no embeddings")
    return SplitRun(
        split, job.dataset, list(preds.classes), np.asarray(preds.done, bool),
        np.asarray(job.embeddings, dtype=np.float32),
        None if issues is not None else np.asarray(preds.scores), issues,
    )  # fmt: skip


def _mask_issues(job, indices: np.ndarray, pool=None) -> MaskIssues:
    masks = RunMasks(job.predictions, job.dataset, size=SIZE, lookup=job.lookup)
    return find_mask_issues(lambda: masks.pairs(indices), indices, pool=pool)


def _agree(rank, failure: str | None) -> None:
    """Every rank raises the same ModelError when any said one (none waits in a collective that never comes)."""
    failure = next((f for f in distributed.all_gather(rank, failure) if f), None)
    if failure:
        raise ModelError(failure)


def _segmenter_shard(job, split: str, rank, show) -> SplitRun | None:
    """This rank's share of a segmentation run, its masks scored here; merged on rank 0."""
    preds = job.predictions
    mine = distributed.shard(preds.pending(), job.batch_size, rank)
    error = None
    try:
        for progress in job.run(mine):
            if show:
                show(progress)
    except ModelError as exc:
        error = f"rank {rank.rank}: {exc}"
    scored = mine[preds.has_truth[mine]] if error is None else np.zeros(0, np.int64)
    issues = _mask_issues(job, scored, pool=lambda t, c: pooled_thresholds(distributed.all_gather(rank, (t, c))))
    rows = job.embedding_run.rows(mine) if error is None and len(mine) else None
    payload = {"indices": mine, "done": preds.done[mine], "rows": rows, "issues": issues, "error": error}
    payload["errors"] = {i: preds.errors[i] for i in mine.tolist() if i in preds.errors}
    gathered = distributed.gather(rank, payload)
    failure = None if gathered is None else next((p["error"] for p in gathered if p["error"]), None)
    try:
        _agree(rank, failure)
    except ModelError:
        job.embedding_run.abort()
        raise
    if not rank.is_main:
        job.embedding_run.abort()  # sent to rank 0, which keeps the rows
        return None
    for part in gathered:
        preds.done[part["indices"]] = part["done"]
        preds.errors.update(part["errors"])
        if part["rows"] is not None:
            job.embedding_run.write(part["indices"][part["done"]], part["rows"][part["done"]])
    preds.errors = dict(sorted(preds.errors.items()))
    job.embedding_run.finish()
    return _split_run(job, split, MaskIssues.concat([p["issues"] for p in gathered]))


def analysis_input(runs: Sequence[SplitRun], task, trained: str | None) -> AnalysisInput:
    """One AnalysisInput from each split's run, the splits one after the other; exact duplicates are found by
    hashing the decoded pixels (one more decoding pass over the data, on this process)."""
    ids, splits, labels, issues, offset = [], [], [], [], 0
    for run in runs:
        ids += list(run.dataset.sample_ids)
        splits += [run.split] * len(run.dataset)
        if run.mask_issues is not None:
            shifted = run.mask_issues
            issues.append(MaskIssues(shifted.indices + offset, *_fields(shifted)[1:]))
        elif task.multilabel:
            labels.append(run.dataset.tags)
        else:
            labels.append(run.dataset.targets if run.dataset.targets is not None else np.full(len(run.dataset), -1))
        offset += len(run.dataset)
    per_pixel = bool(issues)
    has_labels = (
        not per_pixel and all(part is not None for part in labels) and any(task.has_labels(r.dataset) for r in runs)
    )
    return AnalysisInput(
        sample_ids=ids,
        splits=np.array(splits),
        classes=list(runs[0].classes),
        embeddings=np.concatenate([r.embeddings for r in runs]),
        probabilities=None if per_pixel else np.concatenate([r.probabilities for r in runs]),
        predicted=np.concatenate([r.done for r in runs]),
        labels=np.concatenate(labels) if has_labels else None,
        trained=np.array([s == trained for s in splits]),
        hashes=[h for run in runs for h in hash_dataset(run.dataset)],
        mask_issues=MaskIssues.concat(issues) if per_pixel else None,
    )


def _fields(issues: MaskIssues) -> tuple:
    return (issues.indices, issues.score, issues.suspect, issues.given, issues.suggested, issues.flagged,
            issues.uncertainty)  # fmt: skip
