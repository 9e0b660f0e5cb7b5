"""One analysis of a run, found stage by stage, for a viewer that shows each part as soon as it is known.

``analyze`` (report.py) finds everything in one call for the ``analyze`` command. The metrics pane wants
the label issues in seconds while the map still takes a minute, and a duplicates threshold that a slider
moves without a new neighbour search: :class:`RunAnalysis` keeps the intermediate results (the neighbours,
the pixel hashes) and fills its findings in this order, telling the caller after each stage:

1. ``"label issues"``: out-of-sample probabilities (the run's own, or cross-validated on the embeddings
   for the split the model was trained on) and confident learning;
2. ``"duplicates"``: the pixel hashes (one decoding pass over the images, when an image reader is given),
   the k nearest neighbours, exact and near duplicates and leaks, and the outliers;
3. ``"map"``: the PCA layout at once (``"map"`` is reported with ``map_final`` False), then PaCMAP or UMAP.

Everything is in the rows of the :class:`AnalysisInput` (``row_index`` maps them to the open dataset).
Qt-free: the GUI runs :meth:`RunAnalysis.run` in a worker thread and reads the attributes after each stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.analysis.duplicates import DuplicatePairs, find_duplicates, hash_images, near_duplicate_distance
from core.analysis.label_issues import LabelIssues, MultilabelIssues
from core.analysis.neighbours import Neighbours, nearest_neighbours
from core.analysis.outliers import Outliers, knn_scores, rank_outliers
from core.analysis.progress import ProgressFn, StopFn, step
from core.analysis.projection import embedding_map
from core.analysis.report import (
    NEIGHBOURS,
    AnalysisInput,
    AnalysisReport,
    _label_issues,
    _ood,
    _outliers_to_rows,
    _to_rows,
    mask_source,
    out_of_sample,
)

#: The stages in the order :meth:`RunAnalysis.run` fills them.
STAGES = ("label issues", "duplicates", "map")

#: Called after each stage (and after the map's first layout) with the stage's name.
FoundFn = Callable[[str], None]
#: Reads one row's image for the pixel hash (None when it cannot be read: it then has no exact twin).
ImageFn = Callable[[int], "np.ndarray | None"]


@dataclass(frozen=True)
class StageProgress:
    """What :meth:`RunAnalysis.run` is doing: ``stage`` (one of STAGES), a step in words, done of total."""

    stage: str
    what: str
    done: int
    total: int


class RunAnalysis:
    """The findings of one analysis, filled in by :meth:`run` (None until their stage is done)."""

    def __init__(self, inp: AnalysisInput, *, map_method: str = "auto", duplicate_fraction: float | None = None):
        self.input = inp
        self.map_method = map_method
        self.duplicate_fraction = duplicate_fraction
        self.rows = np.flatnonzero(inp.predicted)  # the rows the model predicted (and embedded)
        self.label_issues: LabelIssues | MultilabelIssues | None = None
        self.source = "no labels"  # where the label-issue probabilities came from, in words
        self.neighbours: Neighbours | None = None  # among ``rows``
        self.hashes: list[bytes | None] | None = None  # among ``rows``
        self.max_distance: float | None = None  # the near-duplicate threshold now used
        self.calibrated_distance: float | None = None  # the one calibrated on the data
        self.duplicates: DuplicatePairs | None = None
        self.outliers: Outliers | None = None
        self.coords: np.ndarray | None = None  # N x 2 (NaN for rows without an embedding)
        self.coords_method: str | None = None  # "pca" while the final layout is being made
        self.map_final = False
        self.done: list[str] = []  # the stages completed, in order
        self.notes: list[str] = []

    def __len__(self) -> int:
        return len(self.input.sample_ids)

    # -- running ---------------------------------------------------------------------------------
    def run(
        self,
        *,
        read_image: ImageFn | None = None,
        progress: Callable[[StageProgress], None] | None = None,
        stop: StopFn | None = None,
        found: FoundFn | None = None,
        stages: tuple[str, ...] = STAGES,
    ) -> None:
        """Fill the findings of ``stages`` (in STAGES order); raises ``Cancelled`` when ``stop()`` says so."""
        if len(self.rows) < 2:
            raise ValueError("fewer than two samples were predicted: nothing to analyse")
        announce = found or (lambda _stage: None)

        def reporter(stage: str, what: str) -> ProgressFn:
            return lambda done, total: progress and progress(StageProgress(stage, what, done, total))

        if "label issues" in stages:
            self._find_label_issues(reporter("label issues", "cross-validating on the embeddings"), stop)
            self.done.append("label issues")
            announce("label issues")
        if "duplicates" in stages:
            self._find_neighbours(read_image, reporter, stop)
            self.done.append("duplicates")
            announce("duplicates")
        if "map" in stages:
            self._make_map(reporter("map", "laying out the map"), stop, announce)
            self.done.append("map")

    def _find_label_issues(self, progress: ProgressFn, stop: StopFn | None) -> None:
        inp = self.input
        if inp.mask_issues is not None:  # a segmenter's: scored image by image as its masks were read
            self.label_issues, self.source = inp.mask_issues, mask_source(inp)
            if inp.trained[inp.mask_issues.indices].any():
                self.notes.append(
                    f"{', '.join(sorted(set(inp.splits[inp.trained].tolist())))}: masks scored in-sample, by the "
                    "model that learned them: an error it learned looks right, so that split shows fewer issues "
                    "than it has"
                )
        elif inp.labels is not None:
            probs, self.source = out_of_sample(inp, progress=progress, stop=stop)
            self.label_issues = _label_issues(inp, probs, self.source)
        elif inp.probabilities is None:
            self.notes.append("a segmenter's masks are scored per image in the Label quality view")
        else:
            self.notes.append("the dataset has no labels: no label issues")

    def _find_neighbours(self, read_image: ImageFn | None, reporter, stop: StopFn | None) -> None:
        rows, inp = self.rows, self.input
        if self.hashes is None and inp.hashes is not None:
            self.hashes = [inp.hashes[i] for i in rows]
        if read_image is not None and self.hashes is None:
            images = (read_image(int(r)) for r in rows)
            hashing = reporter("duplicates", "hashing pixels")
            self.hashes = hash_images(images, total=len(rows), progress=hashing, stop=stop)
        embeddings = np.asarray(inp.embeddings[rows], dtype=np.float32)
        k = min(NEIGHBOURS, len(rows) - 1)
        searching = reporter("duplicates", "nearest neighbours")
        self.neighbours = nearest_neighbours(embeddings, k=k, progress=searching, stop=stop)
        options = {} if self.duplicate_fraction is None else {"fraction": self.duplicate_fraction}
        self.calibrated_distance = near_duplicate_distance(self.neighbours, **options)
        self.duplicates = self.near_duplicates(self.calibrated_distance)
        ranked = rank_outliers(knn_scores(self.neighbours), _ood(inp, rows))
        self.outliers = _outliers_to_rows(ranked, rows, len(self))

    def _make_map(self, progress: ProgressFn, stop: StopFn | None, announce: FoundFn) -> None:
        embeddings = np.asarray(self.input.embeddings[self.rows], dtype=np.float32)
        steps = embedding_map(embeddings, method=self.map_method)
        try:
            for s in steps:
                if s.coords is not None:
                    self.set_coords(s.coords, s.method, final=s.final)
                    announce("map")
                if s.final:
                    return
                step(s.done, s.total, progress, stop)
        finally:
            steps.close()

    def report(self) -> AnalysisReport:
        """The findings as ``analyze`` returns them (after a run of every stage)."""
        if self.duplicates is None or self.coords is None or not self.map_final:
            raise RuntimeError("the analysis has not run every stage")
        return AnalysisReport(
            label_issues=self.label_issues,
            duplicates=self.duplicates,
            outliers=self.outliers,
            coords=self.coords,
            map_method=self.coords_method,
            source=self.source,
            max_distance=float(self.max_distance),
            notes=list(self.notes),
        )

    # -- after the run ------------------------------------------------------------------------------
    def set_coords(self, coords: np.ndarray, method: str, final: bool = True) -> None:
        """The map's layout of the predicted rows (or of every row, when ``coords`` has a row for each)."""
        coords = np.asarray(coords, dtype=np.float32)
        if len(coords) == len(self):
            full = coords
        else:
            full = np.full((len(self), 2), np.nan, np.float32)
            full[self.rows] = coords
        self.coords, self.coords_method, self.map_final = full, method, final

    def near_duplicates(self, max_distance: float) -> DuplicatePairs:
        """Exact and near duplicates at another threshold, from the neighbours already found (milliseconds)."""
        if self.neighbours is None:
            raise RuntimeError("the neighbours are not found yet")
        self.max_distance = float(max_distance)
        rows = self.rows
        pairs = find_duplicates(
            hashes=self.hashes, embeddings=np.asarray(self.input.embeddings[rows], np.float32),
            neighbours=self.neighbours, max_distance=self.max_distance, splits=self.input.splits[rows],
        )  # fmt: skip
        self.duplicates = _to_rows(pairs, rows)
        return self.duplicates


def analyze(
    inp: AnalysisInput,
    *,
    map_method: str = "auto",
    duplicate_fraction: float | None = None,
    progress: ProgressFn | None = None,
    stop: StopFn | None = None,
) -> AnalysisReport:
    """Label issues, duplicates (exact by pixels, near by embeddings) and leaks, outliers, the 2-D map: every
    stage of a :class:`RunAnalysis` in one call (``progress(done, total)`` within each stage)."""
    analysis = RunAnalysis(inp, map_method=map_method, duplicate_fraction=duplicate_fraction)
    analysis.run(progress=None if progress is None else lambda p: progress(p.done, p.total), stop=stop)
    return analysis.report()
