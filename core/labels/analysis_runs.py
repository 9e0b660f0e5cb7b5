"""What the metrics pane analyses: the shown run on the open split, and the same model's kept runs on the others.

Leaks are pairs of near-identical images in two splits, so finding them needs embeddings of every split.
The window shows one split; the project store keeps runs of every split (``Project.for_split``). The analysis
takes the shown run's rows first (row i is sample i of the open split), then, for each other split, the
latest kept run of the same model (same name, and the same weights when both hashed them) that kept its
embeddings. Labels are the project's edited ones with ignored and excluded samples unlabeled, as the
metrics score them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core import tasks
from core.analysis.report import AnalysisInput
from core.labels.errors import StoreError
from core.labels.project import Project
from core.labels.runs import Run


@dataclass
class SplitRows:
    """One split's part of an analysis: its samples, labels, the run's scores and embeddings."""

    split: str
    dataset: object  # the split's Dataset (for reading its images)
    sample_ids: list[str]
    labels: np.ndarray | None
    probabilities: np.ndarray | None  # None: a segmenter's run (no class scores per image)
    predicted: np.ndarray
    embeddings: np.ndarray
    run: Run | None = None


@dataclass
class Assembled:
    input: AnalysisInput
    parts: list[SplitRows]
    #: Why a split is missing, in words ("train: no kept run of digits-cnn with embeddings").
    missing: list[str] = field(default_factory=list)

    def read_image(self, row: int):
        """The decoded image of an analysis row (None when it cannot be read: it then has no exact twin)."""
        start = 0
        for part in self.parts:
            if row < start + len(part.sample_ids):
                try:
                    return part.dataset.load_image(row - start)
                except Exception:  # one unreadable file must not stop the analysis
                    return None
            start += len(part.sample_ids)
        raise IndexError(row)


def shown_split(project: Project | None, dataset, predictions, embeddings, run: Run | None = None) -> SplitRows:
    """The open split's rows: the shown run's scores and embeddings against the labels the metrics use."""
    labeled = project.label_dataset() if project is not None else dataset
    per_pixel = tasks.of(predictions).per_pixel  # a segmenter: its masks are scored in the Label quality view
    return SplitRows(
        split=dataset.split or "",
        dataset=dataset,
        sample_ids=list(predictions.sample_ids),
        labels=None if per_pixel else _labels(labeled, predictions),
        probabilities=None if per_pixel else predictions.scores,
        predicted=predictions.done.copy(),
        embeddings=embeddings,
        run=run,
    )


def other_splits(project: Project, predictions, run: Run | None = None) -> tuple[list[SplitRows], list[str]]:
    """The latest kept run of the same model on each other split, with its embeddings; and why splits lack one."""
    parts, missing = [], []
    for split in project.dataset.splits:
        if split == project.split:
            continue
        sibling = project.for_split(split)
        try:
            found = [r for r in sibling.runs() if r.has_embeddings and _same_model(r, predictions, run)]
        except StoreError as exc:
            missing.append(f"{split}: {exc}")
            continue
        if not found:
            missing.append(f"{split}: no kept run of {predictions.model or 'this model'} with embeddings")
            continue
        latest = found[-1]
        try:
            other = sibling.load_run(latest)
            embeddings = sibling.load_run_embeddings(latest)
        except StoreError as exc:
            missing.append(f"{split}: {exc}")
            continue
        if list(other.classes) != list(predictions.classes):
            missing.append(f"{split}: run #{latest.id} names other classes")
            continue
        parts.append(shown_split(sibling, sibling.dataset, other, embeddings, latest))
    return parts, missing


def assemble(parts: list[SplitRows], classes: list[str], trained: str | None, multilabel: bool) -> AnalysisInput:
    """One AnalysisInput from the splits' rows, in the order given."""
    n = [len(p.sample_ids) for p in parts]
    labels = None
    if all(p.labels is not None for p in parts):
        labels = np.concatenate([np.asarray(p.labels) for p in parts])
    elif not multilabel and any(p.labels is not None for p in parts):  # an unlabeled split: its rows unlabeled
        labels = np.concatenate([np.full(len(p.sample_ids), -1) if p.labels is None else p.labels for p in parts])
    width = max(np.shape(p.embeddings)[1] for p in parts)
    if any(np.shape(p.embeddings)[1] != width for p in parts):
        raise ValueError("the runs' embeddings differ in width: they are not of the same model")
    return AnalysisInput(
        sample_ids=[s for p in parts for s in p.sample_ids],
        splits=np.repeat(np.array([p.split for p in parts], dtype=str), n),
        classes=list(classes),
        embeddings=parts[0].embeddings if len(parts) == 1 else np.concatenate([p.embeddings for p in parts]),
        probabilities=None
        if any(p.probabilities is None for p in parts)
        else np.concatenate([p.probabilities for p in parts]),
        predicted=np.concatenate([p.predicted for p in parts]),
        labels=labels,
        trained=np.repeat(np.array([p.split == trained for p in parts], dtype=bool), n),
    )


def analysis_rows(project: Project | None, dataset, predictions, embeddings, *, run: Run | None = None,
                  trained: str | None = None, other: bool = True) -> Assembled:  # fmt: skip
    """The shown run's rows and (``other``, with a project) the kept runs of the same model on the other splits."""
    parts = [shown_split(project, dataset, predictions, embeddings, run)]
    missing: list[str] = []
    if other and project is not None:
        more, missing = other_splits(project, predictions, run)
        parts += more
    kind = tasks.of(predictions)
    inp = assemble(parts, list(predictions.classes), trained, kind.multilabel)
    return Assembled(inp, parts, missing)


def _labels(dataset, predictions) -> np.ndarray | None:
    kind = tasks.of(predictions)
    if not kind.has_labels(dataset):
        return None
    if kind.multilabel:
        return None if dataset.tags is None else np.asarray(dataset.tags)
    return None if dataset.targets is None else np.asarray(dataset.targets, dtype=np.int64)


def _same_model(candidate: Run, predictions, shown: Run | None) -> bool:
    if candidate.model != predictions.model:
        return False
    if shown is not None and shown.weights_sha256 and candidate.weights_sha256:
        return candidate.weights_sha256 == shown.weights_sha256
    return True
