"""Where each row of an analysis lies: a sample of the open dataset, or of another of its splits.

An analysis covers the rows of its :class:`~core.analysis.report.AnalysisInput`: those of the open split
first (row i is sample i), then those of the same model's kept runs on the other splits
(``core.labels.analysis_runs``); a leak pairs a row of the open split with one of another. A viewer shows
both sides of such a pair: :class:`AnalysisRows` finds a row's sample in the open dataset, or opens the
row's split once (``Dataset.with_split``) and finds the sample there by its id. Thread-safe: thumbnails
are read on a pool's threads.
"""

from __future__ import annotations

import threading

import numpy as np

from core.analysis.report import AnalysisInput
from core.datasets import Dataset, SampleError

#: ``open_index`` of a row that is not a sample of the open dataset.
NOT_OPEN = -1


class AnalysisRows:
    """The rows of ``inp`` against ``dataset`` (the open one): which are its samples, how to read the others."""

    def __init__(self, dataset: Dataset, inp: AnalysisInput) -> None:
        self.dataset = dataset
        self.input = inp
        self.open_split = dataset.split or ""
        self._lock = threading.Lock()
        self._other: dict[str, tuple[Dataset, dict[str, int]]] = {}  # split -> (dataset, id -> index)
        self._open = self._find_open()

    def __len__(self) -> int:
        return len(self.input.sample_ids)

    def _find_open(self) -> np.ndarray:
        """Per row: its index in the open dataset, NOT_OPEN for rows of another split (or an id it lacks)."""
        inp, ids = self.input, self.dataset.sample_ids
        out = np.full(len(inp.sample_ids), NOT_OPEN, np.int64)
        by_id: dict[str, int] | None = None
        for row in np.flatnonzero(inp.splits == self.open_split).tolist():
            sample_id = inp.sample_ids[row]
            if row < len(ids) and ids[row] == sample_id:  # the usual case: row i is sample i
                out[row] = row
                continue
            if by_id is None:
                by_id = {s: i for i, s in enumerate(ids)}
            out[row] = by_id.get(sample_id, NOT_OPEN)
        return out

    # -- what a row is ---------------------------------------------------------------------------
    def sample_id(self, row: int) -> str:
        return self.input.sample_ids[int(row)]

    def split(self, row: int) -> str:
        return str(self.input.splits[int(row)])

    def open_index(self, row: int) -> int:
        """The row's index in the open dataset, or NOT_OPEN."""
        return int(self._open[int(row)])

    def open_indices(self, rows) -> np.ndarray:
        """The open dataset's indices of ``rows`` (order kept), those of other splits left out."""
        found = self._open[np.asarray(rows, dtype=np.int64)]
        return found[found != NOT_OPEN]

    def rows_of_open(self) -> np.ndarray:
        """Per sample of the open dataset: its row in the analysis, -1 where it has none (the map's highlight)."""
        found = self._open != NOT_OPEN
        out = np.full(len(self.dataset), -1, np.int64)
        out[self._open[found]] = np.flatnonzero(found)
        return out

    def is_open(self, row: int) -> bool:
        return self._open[int(row)] != NOT_OPEN

    # -- reading ----------------------------------------------------------------------------------
    def load_image(self, row: int) -> np.ndarray:
        """The row's image, from the open dataset or from its own split (opened once, then kept)."""
        index = self.open_index(row)
        if index != NOT_OPEN:
            return self.dataset.load_image(index)
        dataset, index = self._locate(row)
        return dataset.load_image(index)

    def _locate(self, row: int) -> tuple[Dataset, int]:
        split, sample_id = self.split(row), self.sample_id(row)
        with self._lock:  # two thumbnails of one split must not open it twice
            if split not in self._other:
                other = self.dataset.with_split(split)
                self._other[split] = (other, {s: i for i, s in enumerate(other.sample_ids)})
        dataset, by_id = self._other[split]
        if sample_id not in by_id:
            raise SampleError(f"{sample_id}: no longer in split {split!r} of {dataset.root}")
        return dataset, by_id[sample_id]
