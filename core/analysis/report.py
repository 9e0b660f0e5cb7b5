"""One analysis of a model over a dataset's splits, and the files ``python main.py analyze`` writes.

The caller (``main.py analyze``; the metrics pane's Analysis tab) runs the model with embeddings over each
split through the task registry and hands the arrays over as an :class:`AnalysisInput` (``collect.py`` makes
one from the runs, in one process or under torchrun); ``session.analyze`` (or a ``session.RunAnalysis``,
stage by stage) finds label issues, duplicates and leaks, outliers and the 2-D map; :func:`write_reports`
writes them:

- ``label_issues.csv``: ``sample_id,split,given,suggested,score``, most suspect first (class names as the
  dataset names them; multilabel: the tags joined by ``;``; score: cleanlab's label quality, lower = more
  suspect); segmentation adds ``suspect_share`` and reads per image (``mask_issues.py``): given and suggested
  are the classes of the image's largest suspect region as the mask and as the model say;
- ``duplicates.csv``: ``sample_a,split_a,sample_b,split_b,distance``, closest first (exact copies first, at
  0); a pair across splits is a leak;
- ``outliers.csv``: ``sample_id,split,score``, most unusual first;
- ``embedding_map.csv``: ``sample_id,split,x,y``, one row per sample; ``embeddings.npy`` in the same order;
- ``analysis.json``: what was found, with the methods and where the probabilities came from.

Out-of-sample probabilities: a split the model was not trained on is scored by the run's own predictions
(``held out``); the split it was trained on (``trained``) by K-fold cross-validated logistic regression on
the embeddings, since a network's predictions on its own training data are overconfident. Segmentation has
no such cheap refit (per pixel, on pooled features): the trained split's masks are scored by the model's
own, in-sample, probabilities and the source says so.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.analysis.duplicates import DuplicatePairs
from core.analysis.label_issues import (
    CROSS_VALIDATED,
    HELD_OUT,
    LabelIssues,
    MultilabelIssues,
    cross_validated_probabilities,
    find_label_issues,
    find_multilabel_issues,
)
from core.analysis.mask_issues import MaskIssues
from core.analysis.outliers import Outliers, ood_scores
from core.analysis.progress import ProgressFn, StopFn
from core.system.files import write_atomic

#: The files :func:`write_reports` writes, in this order.
FILES = ("label_issues.csv", "duplicates.csv", "outliers.csv", "embedding_map.csv", "embeddings.npy", "analysis.json")
#: Neighbours kept per sample for duplicates and outliers.
NEIGHBOURS = 10


@dataclass
class AnalysisInput:
    """Everything an analysis needs, one row per sample of every split analysed (in the same order)."""

    sample_ids: list[str]
    splits: np.ndarray  # str (N,): the split of each row
    classes: list[str]
    embeddings: np.ndarray  # N x D (float16 or float32)
    probabilities: np.ndarray | None  # N x K model scores (rows without a prediction are ignored); None: masks
    predicted: np.ndarray  # bool (N,): the model predicted the row (and gave its embedding)
    labels: np.ndarray | None  # N ints (-1: unlabeled) or N x K tags (multilabel); None: no labels
    trained: np.ndarray = field(default=None)  # bool (N,): rows of the split the model was trained on
    hashes: Sequence[bytes | None] | None = None  # hashes of the decoded pixels, for exact duplicates
    mask_issues: MaskIssues | None = None  # segmentation: per-image label quality of the rows it names

    def __post_init__(self) -> None:
        n = len(self.sample_ids)
        self.splits = np.asarray(self.splits, dtype=str)
        self.predicted = np.asarray(self.predicted, dtype=bool)
        self.trained = np.zeros(n, bool) if self.trained is None else np.asarray(self.trained, dtype=bool)
        for name in ("splits", "embeddings", "probabilities", "predicted", "trained"):
            if getattr(self, name) is not None and len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows for {n} samples")

    @property
    def multilabel(self) -> bool:
        return self.labels is not None and np.ndim(self.labels) == 2


@dataclass
class AnalysisReport:
    label_issues: LabelIssues | MultilabelIssues | MaskIssues | None
    duplicates: DuplicatePairs
    outliers: Outliers
    coords: np.ndarray  # N x 2 (NaN for rows without an embedding)
    map_method: str
    source: str  # where the label-issue probabilities came from, in words
    max_distance: float  # the near-duplicate threshold used (cosine distance)
    notes: list[str] = field(default_factory=list)

    @property
    def issue_count(self) -> int:
        """How many rows label_issues.csv lists."""
        if isinstance(self.label_issues, MaskIssues):
            return int(self.label_issues.flagged.sum())
        return 0 if self.label_issues is None else len(self.label_issues.indices)


#: Where a segmentation's label quality comes from, for the split the model was trained on.
IN_SAMPLE = "the model's own in-sample probabilities (masks have no cheap cross-validation)"


def mask_source(inp: AnalysisInput) -> str:
    """Where the masks' label quality came from, in words (held out, in-sample, or both by split)."""
    scored = inp.mask_issues.indices
    trained = inp.trained[scored]
    if not trained.any():
        return HELD_OUT
    if trained.all():
        return IN_SAMPLE
    return f"{HELD_OUT}; for the split it was trained on, {IN_SAMPLE}"


def split_sources(inp: AnalysisInput, report: AnalysisReport) -> dict[str, str]:
    """Per split, where its label-issue probabilities came from (empty without label issues)."""
    if report.label_issues is None:
        return {}
    trained = IN_SAMPLE if isinstance(report.label_issues, MaskIssues) else CROSS_VALIDATED
    splits = sorted(set(inp.splits.tolist()))
    return {split: trained if inp.trained[inp.splits == split].any() else HELD_OUT for split in splits}


def out_of_sample(inp: AnalysisInput, *, progress: ProgressFn | None = None, stop: StopFn | None = None):
    """(N x K probabilities no model fitted on the row's own label gave, the source in words)."""
    probs = np.asarray(inp.probabilities, dtype=np.float32).copy()
    trained = inp.trained & inp.predicted
    held_out = inp.predicted & ~inp.trained
    if not trained.any():
        return probs, HELD_OUT
    labels = inp.labels[trained]
    if not inp.multilabel:
        labels = np.where(labels >= 0, labels, -1)
    fitted = cross_validated_probabilities(
        np.asarray(inp.embeddings[trained], dtype=np.float32), labels, num_classes=len(inp.classes),
        progress=progress, stop=stop,
    )  # fmt: skip
    probs[trained] = fitted
    if held_out.any():
        return probs, f"{HELD_OUT}; for the split it was trained on, {CROSS_VALIDATED}"
    return probs, CROSS_VALIDATED


def _ood(inp: AnalysisInput, rows: np.ndarray) -> np.ndarray | None:
    """cleanlab's entropy OOD score of the predicted rows; for masks the mean pixel entropy per image (None
    when some predicted image has no mask to score: the k-NN distance ranks alone)."""
    if inp.probabilities is not None:
        return ood_scores(np.asarray(inp.probabilities[rows], np.float64))
    if inp.mask_issues is None:  # masks not scored (the window's Label quality view scores them)
        return None
    full = np.full(len(inp.sample_ids), np.nan, np.float32)
    full[inp.mask_issues.indices] = inp.mask_issues.uncertainty
    return None if np.isnan(full[rows]).any() else full[rows]


def _label_issues(inp: AnalysisInput, probs: np.ndarray, source: str = HELD_OUT) -> LabelIssues | MultilabelIssues:
    if inp.multilabel:
        rows = np.flatnonzero(inp.predicted)
        found = find_multilabel_issues(inp.labels[rows], probs[rows], source=source)
        quality = np.full(len(inp.sample_ids), np.nan, np.float32)
        quality[rows] = found.quality
        return MultilabelIssues(
            rows[found.indices], found.given, found.suggested, found.score, quality, found.source, found.ranked_by,
            found.threshold,
        )  # fmt: skip
    labels = np.where(inp.predicted, np.asarray(inp.labels, dtype=np.int64), -1)
    probed = inp.trained & inp.predicted  # scored by the cross-validated probe (out_of_sample)
    return find_label_issues(labels, np.nan_to_num(probs, nan=0.0), source=source, probed=probed)


def _to_rows(pairs: DuplicatePairs, rows: np.ndarray) -> DuplicatePairs:
    """Pairs found among the predicted rows, in the indices of all rows."""
    return DuplicatePairs(rows[pairs.a], rows[pairs.b], pairs.distance, pairs.exact, pairs.leak, pairs.group)


def _outliers_to_rows(outliers: Outliers, rows: np.ndarray, n: int) -> Outliers:
    """Outliers ranked among the predicted rows, in the indices of all ``n`` rows (NaN scores elsewhere)."""

    def spread(values: np.ndarray | None) -> np.ndarray | None:
        if values is None:
            return None
        full = np.full(n, np.nan, np.float32)
        full[rows] = values
        return full

    return Outliers(rows[outliers.indices], spread(outliers.score), spread(outliers.knn), spread(outliers.ood))


# -- the files ---------------------------------------------------------------------------------------
def write_reports(out_dir: str | Path, inp: AnalysisInput, report: AnalysisReport, **facts: Any) -> list[Path]:
    """The files of :data:`FILES` in ``out_dir`` (each written atomically); ``facts`` go into analysis.json."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ids, splits = inp.sample_ids, inp.splits
    tables = {
        "label_issues.csv": _issue_rows(inp, report.label_issues),
        "duplicates.csv": [["sample_a", "split_a", "sample_b", "split_b", "distance"]]
        + [
            [ids[a], splits[a], ids[b], splits[b], f"{d:.6f}"]
            for a, b, d in zip(report.duplicates.a, report.duplicates.b, report.duplicates.distance)
        ],
        "outliers.csv": [["sample_id", "split", "score"]]
        + [[ids[i], splits[i], f"{report.outliers.score[i]:.6f}"] for i in report.outliers.indices],
        "embedding_map.csv": [["sample_id", "split", "x", "y"]]
        + [[ids[i], splits[i], *_xy(report.coords[i])] for i in range(len(ids))],
    }
    written = []
    for name, rows in tables.items():
        written.append(_write_csv(out / name, rows))
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(inp.embeddings, dtype=np.float16))
    write_atomic(out / "embeddings.npy", buffer.getvalue())
    written.append(out / "embeddings.npy")
    summary = {
        **facts,
        "samples": len(ids),
        "predicted": int(inp.predicted.sum()),
        "splits": sorted(set(splits.tolist())),
        "label_issues": report.issue_count,
        "label_issue_source": report.source,
        "label_issue_sources": split_sources(inp, report),
        "ranked_by": getattr(report.label_issues, "ranked_by", None),
        "duplicates": len(report.duplicates),
        "exact_duplicates": int(report.duplicates.exact.sum()),
        "leaks": int(report.duplicates.leak.sum()),
        "near_duplicate_distance": report.max_distance,
        "map_method": report.map_method,
        "notes": report.notes,
    }
    write_atomic(out / "analysis.json", (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    written.append(out / "analysis.json")
    return written


def _issue_rows(inp: AnalysisInput, issues) -> list[list[Any]]:
    rows: list[list[Any]] = [["sample_id", "split", "given", "suggested", "score"]]
    if isinstance(issues, MaskIssues):
        return _mask_rows(inp, issues, rows[0])
    if issues is None:
        return rows
    names = inp.classes
    for k, i in enumerate(issues.indices):
        if isinstance(issues, MultilabelIssues):
            given = ";".join(names[j] for j in np.flatnonzero(issues.given[k]))
            suggested = ";".join(names[j] for j in np.flatnonzero(issues.suggested[k]))
        else:
            given, suggested = names[int(issues.given[k])], names[int(issues.suggested[k])]
        rows.append([inp.sample_ids[i], inp.splits[i], given, suggested, f"{issues.score[k]:.6f}"])
    return rows


def _mask_rows(inp: AnalysisInput, issues: MaskIssues, header: list[str]) -> list[list[Any]]:
    """The flagged images, lowest label quality first."""
    rows: list[list[Any]] = [[*header, "suspect_share"]]
    names = inp.classes
    for k in issues.ranked():
        i = issues.indices[k]
        given, suggested = names[int(issues.given[k])], names[int(issues.suggested[k])]
        rows.append([inp.sample_ids[i], inp.splits[i], given, suggested, f"{issues.score[k]:.6f}",
                     f"{issues.suspect[k]:.6f}"])  # fmt: skip
    return rows


def _xy(point: np.ndarray) -> list[str]:
    return ["" if not np.isfinite(v) else f"{v:.5f}" for v in point]


def _write_csv(path: Path, rows: list[list[Any]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    # surrogateescape: a file name that is not UTF-8 goes back out as the bytes it was read from
    write_atomic(path, buffer.getvalue().encode("utf-8", errors="surrogateescape"))
    return path
