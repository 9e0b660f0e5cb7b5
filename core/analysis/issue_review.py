"""Where the review of the label issues stands: which are still open after the user's edits.

An issue's state is read from the labels and review marks as they are now, never stored: an undo in the
project store makes an accepted issue open again with no bookkeeping here. Per issue, in this order:

- ``excluded``: the sample is marked excluded (or labeled "ignore"): left out of metrics and exports;
- ``accepted``: its label (tags) is now the suggested one;
- ``relabeled``: its label is neither the given nor the suggested one (the user chose a third);
- ``kept``: its label is still the given one and it is marked reviewed;
- ``open``: none of these (a "flagged" mark leaves it open: flagged is "look again").

Functions of arrays, no Qt: the metrics pane's Label issues view calls them after every edit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.analysis.label_issues import LabelIssues, MultilabelIssues

#: The label that leaves a sample out of metrics (core.labels' IGNORE; analysis sits below labels).
IGNORE = -2

OPEN, ACCEPTED, RELABELED, KEPT, EXCLUDED_ISSUE = range(5)
#: The name of each state, by its code.
STATE_NAMES = ("open", "accepted", "relabeled", "kept", "excluded")

Issues = LabelIssues | MultilabelIssues


def of_open_split(issues: Issues, open_rows: int) -> tuple[Issues, int]:
    """The issues among the analysis' first ``open_rows`` rows (the open split's: row i is sample i), rank order
    kept, and how many others there are (rows of the other splits joined for leaks: reviewed in their split)."""
    keep = np.asarray(issues.indices) < open_rows
    if keep.all():
        return issues, 0
    fields = {name: np.asarray(getattr(issues, name))[keep] for name in ("indices", "given", "suggested", "score")}
    return replace(issues, **fields), int((~keep).sum())


def is_multilabel(issues: Issues) -> bool:
    return np.asarray(issues.given).ndim == 2


def issue_states(
    issues: Issues,
    *,
    targets: np.ndarray | None = None,
    tags: np.ndarray | None = None,
    reviewed: np.ndarray | None = None,
    excluded: np.ndarray | None = None,
) -> np.ndarray:
    """int8 state code (OPEN ... EXCLUDED_ISSUE) per issue, from the dataset's labels now.

    ``targets`` (N class indices, IGNORE = -2) for single-label issues, ``tags`` (N x K 0/1) for
    multilabel ones; ``reviewed`` / ``excluded``: N bools, the project store's marks (None: no marks).
    """
    rows = np.asarray(issues.indices, dtype=np.int64)
    if is_multilabel(issues):
        if tags is None:
            raise ValueError("multilabel issues need the current tags")
        now = np.asarray(tags)[rows] > 0
        same_given = (now == np.asarray(issues.given, bool)).all(axis=1)
        same_suggested = (now == np.asarray(issues.suggested, bool)).all(axis=1)
        ignored = np.zeros(len(rows), bool)
    else:
        if targets is None:
            raise ValueError("label issues need the current class labels")
        now = np.asarray(targets)[rows]
        same_given, same_suggested, ignored = now == issues.given, now == issues.suggested, now == IGNORE
    is_reviewed = np.zeros(len(rows), bool) if reviewed is None else np.asarray(reviewed, bool)[rows]
    is_excluded = ignored if excluded is None else ignored | np.asarray(excluded, bool)[rows]
    out = np.full(len(rows), OPEN, np.int8)
    out[same_given & is_reviewed] = KEPT
    out[~same_given] = RELABELED
    out[~same_given & same_suggested] = ACCEPTED
    out[is_excluded] = EXCLUDED_ISSUE
    return out


def state_counts(states: np.ndarray) -> dict[str, int]:
    """Issues per state name (every name present, zeros included)."""
    counts = np.bincount(np.asarray(states, np.int64), minlength=len(STATE_NAMES))
    return {name: int(n) for name, n in zip(STATE_NAMES, counts)}


def filter_issues(
    issues: Issues,
    states: np.ndarray,
    *,
    given: int | None = None,
    suggested: int | None = None,
    open_only: bool = False,
) -> np.ndarray:
    """Positions (into the ranked issues, rank order kept) with that given and suggested class.

    Multilabel: ``given`` / ``suggested`` keep the issues whose given / suggested tags include that tag.
    The classes are those of the analysis (the labels when it ran), so an accepted issue stays in its cell.
    """
    keep = np.ones(len(states), bool)
    multilabel = is_multilabel(issues)
    for wanted, column in ((given, issues.given), (suggested, issues.suggested)):
        if wanted is None:
            continue
        column = np.asarray(column)
        keep &= column[:, wanted].astype(bool) if multilabel else column == wanted
    if open_only:
        keep &= np.asarray(states) == OPEN
    return np.flatnonzero(keep)


def next_open(positions: np.ndarray, states: np.ndarray, after: int | None) -> int | None:
    """The first open issue among ``positions`` (ranked) after position ``after``, wrapping around to the
    top; None when none is open. ``after`` need not be among ``positions`` (a row just filtered away):
    the search starts at the first position ranked below it."""
    positions = np.asarray(positions, dtype=np.int64)
    open_ones = positions[np.asarray(states)[positions] == OPEN]
    if not len(open_ones):
        return None
    if after is None:
        return int(open_ones[0])
    later = open_ones[open_ones > after]
    return int(later[0]) if len(later) else int(open_ones[0])
