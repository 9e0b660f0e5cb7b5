"""Subsets of a dataset that the user picked: a class, a confusion cell, a histogram range.

A Selection is just a name and sorted sample indices; every view that narrows the browser
produces one, so "click a chart, see its samples" is the same path for every chart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

#: Where an object of :class:`ObjectRefs` comes from.
TRUTH, PREDICTION = 0, 1


@dataclass(frozen=True)
class ObjectRefs:
    """Objects of a detection dataset or run (all false positives of "dog", a confusion cell's boxes).

    Object k is ``objects[k]`` of sample ``samples[k]``: an index into ``Sample.boxes()`` when ``sources[k]`` is
    TRUTH, into the run's ``DetectionPredictions.image(sample)`` (every score, best first) when PREDICTION.
    ``kinds[k]`` says in words what it is ("TP", "FP · localization", "FN"), or is empty.
    """

    samples: np.ndarray  # int64 K
    sources: np.ndarray  # int8 K: TRUTH or PREDICTION
    objects: np.ndarray  # int64 K
    kinds: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.samples)

    @classmethod
    def of(cls, samples, sources, objects, kinds=()) -> ObjectRefs:
        samples = np.asarray(samples, dtype=np.int64).reshape(-1)
        sources = np.broadcast_to(np.asarray(sources, dtype=np.int8), samples.shape).copy()
        objects = np.asarray(objects, dtype=np.int64).reshape(-1)
        if len(objects) != len(samples) or (kinds and len(kinds) != len(samples)):
            raise ValueError(f"{len(samples)} samples, {len(objects)} objects and {len(kinds)} kinds")
        return cls(samples, sources, objects, tuple(kinds))

    def sample_order(self) -> np.ndarray:
        """The distinct samples, in the order of their first object."""
        _, first = np.unique(self.samples, return_index=True)
        return self.samples[np.sort(first)]


@dataclass(frozen=True)
class Selection:
    name: str
    indices: np.ndarray  # sample indices into the dataset, in display order
    #: True when the order carries meaning (worst first) and the browser must keep it.
    ordered: bool = False
    #: For detection runs: the objects the selection is about (the browser's object grid shows them, the
    #: images show them highlighted); None for a selection of whole samples.
    objects: ObjectRefs | None = None

    @classmethod
    def of_objects(cls, name: str, objects: ObjectRefs) -> Selection:
        """The samples holding ``objects`` (in the order of their first object), carrying the objects."""
        return cls(name, objects.sample_order(), True, objects)

    def __len__(self) -> int:
        return len(self.indices)

    @classmethod
    def of(cls, name: str, indices, ordered: bool = False) -> Selection:
        array = np.asarray(indices, dtype=np.int64)
        if not ordered:
            array = np.unique(array)
        return cls(name, array, ordered)


def shown_indices(count: int, selection: Selection | None) -> np.ndarray:
    """The sample indices a browser of ``count`` samples starts from: all of them, or the
    selection's that exist (in its order when it is ordered, else sorted)."""
    if selection is None:
        return np.arange(count, dtype=np.int64)
    indices = np.asarray(selection.indices, dtype=np.int64)
    if len(indices) and (indices.min() < 0 or indices.max() >= count):  # two reductions, no copy when all exist
        indices = indices[(indices >= 0) & (indices < count)]
    return indices if selection.ordered else np.unique(indices)


def by_class(targets: np.ndarray, class_index: int, class_name: str) -> Selection:
    return Selection.of(f"label = {class_name}", np.flatnonzero(targets == class_index))


def wrong(targets: np.ndarray, predicted: np.ndarray) -> Selection:
    """Samples with a label and a prediction that disagree."""
    mask = (targets >= 0) & (predicted >= 0) & (targets != predicted)
    return Selection.of("wrong predictions", np.flatnonzero(mask))


#: Per-sample outcome of a prediction, as :func:`outcomes` returns it.
UNKNOWN, WRONG, RIGHT = -1, 0, 1


def outcomes(targets: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Per sample: RIGHT (1) or WRONG (0) where both a label and a prediction exist, else UNKNOWN (-1)."""
    out = np.full(len(targets), UNKNOWN, dtype=np.int8)
    known = (targets >= 0) & (predicted >= 0)
    out[known] = (targets[known] == predicted[known]).astype(np.int8)
    return out


def narrow(
    indices: np.ndarray,
    *,
    targets: np.ndarray | None = None,
    tags: np.ndarray | None = None,
    class_index: int | None = None,
    outcome: np.ndarray | None = None,
    wrong_only: bool = False,
) -> np.ndarray:
    """The sample ``indices`` (order kept) that have label ``class_index`` and, if ``wrong_only``, a wrong prediction.

    ``class_index`` -1 keeps the unlabeled samples; with ``tags`` (multilabel) a sample is kept
    when it carries that label. ``outcome`` is the per-sample array of :func:`outcomes`.
    """
    indices = np.asarray(indices, dtype=np.int64)
    if class_index is None and not wrong_only:
        return indices
    count = len(targets) if targets is not None else len(tags) if tags is not None else None
    everything = count is not None and _is_every(indices, count)
    pick = (lambda values: values) if everything else (lambda values: values[indices])
    keep = np.ones(len(indices), dtype=bool)
    if class_index is not None:
        if tags is not None and class_index >= 0:
            keep &= pick(tags[:, class_index]) > 0
        elif targets is not None:
            keep &= pick(targets) == class_index
        else:
            keep[:] = False
    if wrong_only:
        keep &= pick(outcome) == WRONG if outcome is not None else False
    return np.flatnonzero(keep) if everything else indices[keep]


def _is_every(indices: np.ndarray, count: int) -> bool:
    """Whether ``indices`` is 0, 1, ..., count - 1 (the whole dataset in its order): masks apply as they are,
    with no gather of a million values by index first."""
    return len(indices) == count and (count == 0 or (indices[0] == 0 and bool(np.all(np.diff(indices) == 1))))


def matching_ids(sample_ids, indices: np.ndarray, text: str) -> np.ndarray:
    """The ``indices`` whose sample id contains ``text`` (case-insensitive), order kept.

    ``sample_ids``: the ids, or an :class:`IdSearch` of them (built once: a million ids lowercase in seconds)."""
    search = sample_ids if isinstance(sample_ids, IdSearch) else IdSearch(sample_ids)
    return search.matching(indices, text)


class IdSearch:
    """Case-insensitive substring search over every sample id: the ids lowercased once, as UTF-8 bytes.

    A search is vectorised over those bytes: the positions of the query's first byte, narrowed by each next
    byte, then mapped to their id. The ids are laid out in rows of one width (padded with byte 0xFF, which
    UTF-8 never holds, so a match never spans two ids), and a position's id is a division; only ids too
    ragged for rows (one long path among short names) stay one string, mapped by a binary search of their
    starts. A million ids take tens of ms per query (``np.char.find`` over a fixed-width array took a second).
    Built chunk by chunk: on a worker thread no single step holds the GIL long enough to stall the GUI thread."""

    PAD = 0xFF  # never a byte of UTF-8 text: separates the ids
    CHUNK = 2_000  # ids lowercased per step: well under a ms holding the GIL
    RAGGED = 2  # rows of one width while they take at most this many times the ids' bytes

    def __init__(self, sample_ids) -> None:
        ids = sample_ids if isinstance(sample_ids, list) else list(sample_ids)
        chunks = [_lowered_bytes(ids[start : start + self.CHUNK]) for start in range(0, len(ids), self.CHUNK)]
        data = np.frombuffer(bytes([self.PAD]).join(chunks), dtype=np.uint8)
        starts = np.flatnonzero(data == self.PAD) + 1
        starts = np.concatenate([np.zeros(1 if ids else 0, dtype=np.int64), starts])  # where each id begins
        lengths = np.diff(np.append(starts, len(data) + 1)) - 1
        self.width = int(lengths.max()) + 1 if len(ids) else 1  # one pad byte at least after every id
        self.count = len(ids)
        if self.count * self.width <= self.RAGGED * (len(data) + 1):
            self.bytes, self.starts = _rows(data, starts, lengths, self.width).ravel(), None
        else:
            self.bytes, self.starts = data, starts

    def __len__(self) -> int:
        return self.count

    def matching(self, indices: np.ndarray, text: str) -> np.ndarray:
        """The ``indices`` whose id contains ``text``, order kept."""
        indices = np.asarray(indices, dtype=np.int64)
        if not text:
            return indices
        return indices[self.contains(text)[indices]]

    def contains(self, text: str) -> np.ndarray:
        """Per id (bool, N): whether it contains ``text``, case-insensitive."""
        needle = np.frombuffer(text.lower().encode("utf-8", "surrogatepass"), dtype=np.uint8)
        found = np.zeros(self.count, dtype=bool)
        data = self.bytes
        if not len(needle) or len(needle) > len(data):
            found[:] = not len(needle)
            return found
        at = np.flatnonzero(data[: len(data) - len(needle) + 1] == needle[0])  # where a match may start
        for k in range(1, len(needle)):
            at = at[data[at + k] == needle[k]]
        found[at // self.width if self.starts is None else np.searchsorted(self.starts, at, side="right") - 1] = True
        return found


def _rows(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """The ids of ``data`` (at ``starts``, ``lengths`` bytes long) as rows of ``width`` bytes, padded with 0xFF."""
    rows = np.full((len(starts), width), IdSearch.PAD, dtype=np.uint8)
    for column in range(width - 1):  # one gather per byte column: N-sized temporaries, no per-byte index
        long_enough = np.flatnonzero(lengths > column)
        rows[long_enough, column] = data[starts[long_enough] + column]
    return rows


def _lowered_bytes(ids: list) -> bytes:
    """``ids`` lowercased and UTF-8 encoded, separated by byte 0xFF: one ``str.lower`` of them joined (C speed)."""
    try:
        text = "\0".join(ids)
    except TypeError:  # ids that are not all strings
        ids = [str(i) for i in ids]
        text = "\0".join(ids)
    data = text.lower().encode("utf-8", "surrogatepass")
    if data.count(0) == len(ids) - 1:  # no id held a NUL: the joints are the separators
        return data.replace(b"\0", b"\xff")
    return b"\xff".join(i.lower().encode("utf-8", "surrogatepass") for i in ids)


def counts_by_class(
    indices: np.ndarray, num_classes: int, *, targets: np.ndarray | None = None, tags: np.ndarray | None = None
) -> np.ndarray:
    """Samples per class among ``indices`` (per label with multilabel ``tags``); unlabeled ones are not counted."""
    indices = np.asarray(indices, dtype=np.int64)
    if tags is not None:
        return tags[indices].sum(axis=0, dtype=np.int64)
    if targets is None:
        return np.zeros(num_classes, dtype=np.int64)
    return labels_by_class(indices, num_classes, targets)[2:]


def labels_by_class(indices: np.ndarray, num_classes: int, targets: np.ndarray) -> np.ndarray:
    """Among ``indices``: [samples "ignored" (-2), unlabeled (-1), then per class] in one pass (no mask of the
    labelled ones first: a million samples count in one gather and one bincount)."""
    labels = targets[np.asarray(indices, dtype=np.int64)]
    if len(labels) and labels.min() < -2:  # any other negative label counts as neither a class nor unlabeled
        labels = np.maximum(labels, -2)
    return np.bincount(labels + 2, minlength=num_classes + 2)[: num_classes + 2]


def with_tags(indices: np.ndarray, tags: np.ndarray, has: Sequence[int] = (), lacks: Sequence[int] = ()) -> np.ndarray:
    """The ``indices`` (order kept) whose samples carry every label in ``has`` and none in ``lacks``."""
    indices = np.asarray(indices, dtype=np.int64)
    everything = _is_every(indices, len(tags))
    keep = np.ones(len(indices), dtype=bool)
    for label, present in [(label, True) for label in has] + [(label, False) for label in lacks]:
        column = tags[:, label] if everything else tags[indices, label]  # one column, not every row's tags
        keep &= (column > 0) == present
    return np.flatnonzero(keep) if everything else indices[keep]


def multilabel_outcomes(tags: np.ndarray, predicted: np.ndarray, done: np.ndarray) -> np.ndarray:
    """Per sample: RIGHT when the predicted labels equal the true ones exactly, WRONG when they
    differ, UNKNOWN where ``done`` is False."""
    out = np.full(len(tags), UNKNOWN, dtype=np.int8)
    same = np.all((tags > 0) == (predicted > 0), axis=1)
    out[done] = same[done].astype(np.int8)
    return out


def tag_differences(truth: np.ndarray, predicted: np.ndarray) -> tuple[list[int], list[int]]:
    """(missed, extra) label indices of one sample: true but not predicted, predicted but not true."""
    truth, predicted = np.asarray(truth) > 0, np.asarray(predicted) > 0
    return [int(i) for i in np.flatnonzero(truth & ~predicted)], [int(i) for i in np.flatnonzero(predicted & ~truth)]


def scan_mask_classes(
    load_mask: Callable[[int], np.ndarray | None], count: int, num_classes: int, chunk: int = 16
) -> Iterator[tuple[int, np.ndarray, np.ndarray, dict[int, str]]]:
    """Which classes each of ``count`` masks contains, yielded once per ``chunk`` of masks.

    Yields (start, presence rows of the chunk (uint8, chunk x classes), pixel counts per class in
    the chunk, {index: error} for the masks that could not be read). A generator: the caller
    stops between chunks to cancel.
    """
    for start in range(0, count, chunk):
        stop = min(start + chunk, count)
        rows = np.zeros((stop - start, num_classes), dtype=np.uint8)
        pixels = np.zeros(num_classes, dtype=np.int64)
        errors: dict[int, str] = {}
        for i in range(start, stop):
            try:
                mask = load_mask(i)
            except Exception as exc:  # a bad mask is that sample's error, the scan goes on
                errors[i] = str(exc)
                continue
            if mask is None:
                continue
            values = mask.ravel()
            counts = np.bincount(values[values < num_classes].astype(np.int64), minlength=num_classes)[:num_classes]
            rows[i - start] = counts > 0
            pixels += counts
        yield start, rows, pixels, errors


#: The browser's filters on the user's marks (status codes as in ``core.labels.STATUSES``).
MARK_FILTERS = ("edited", "not reviewed", "reviewed", "flagged", "excluded", "note")
_STATUS_OF = {"reviewed": 1, "flagged": 2, "excluded": 3}


def with_mark(
    indices: np.ndarray, mark: str, *, edited: np.ndarray, status: np.ndarray, noted: Sequence[int] = ()
) -> np.ndarray:
    """The ``indices`` (order kept) carrying ``mark``: "edited" (label or tags changed), "not reviewed"
    (no "reviewed" mark), "reviewed", "flagged", "excluded", or "note" (``noted`` lists the samples with one)."""
    indices = np.asarray(indices, dtype=np.int64)
    if mark == "edited":
        keep = edited[indices]
    elif mark == "not reviewed":
        keep = status[indices] != _STATUS_OF["reviewed"]
    elif mark in _STATUS_OF:
        keep = status[indices] == _STATUS_OF[mark]
    elif mark == "note":
        keep = np.isin(indices, np.fromiter(noted, dtype=np.int64))
    else:
        raise ValueError(f"unknown mark filter {mark!r}; expected one of {MARK_FILTERS}")
    return indices[keep]


def step_in(order: np.ndarray, current: int | None, step: int = 1) -> int | None:
    """The sample ``step`` places after ``current`` in ``order`` (the first one when ``current`` is not
    in it); None past either end."""
    order = np.asarray(order, dtype=np.int64)
    if not len(order):
        return None
    found = np.flatnonzero(order == current) if current is not None else ()
    if not len(found):
        return int(order[0])
    position = int(found[0]) + step
    return int(order[position]) if 0 <= position < len(order) else None


def first_unreviewed(order: np.ndarray, status: np.ndarray, start: int | None = None) -> int | None:
    """The first sample of ``order``, from ``start`` on (wrapping around), without a "reviewed" mark."""
    order = np.asarray(order, dtype=np.int64)
    if not len(order):
        return None
    found = np.flatnonzero(order == start) if start is not None else ()
    offset = int(found[0]) if len(found) else 0
    rolled = np.roll(order, -offset)
    left = rolled[status[rolled] != _STATUS_OF["reviewed"]]
    return int(left[0]) if len(left) else None
