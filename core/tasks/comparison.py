"""What comparing two runs gives, whatever their task: metric rows side by side and two browser filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.evaluation.selection import Selection

#: (metric, value of run A, value of run B); None where a metric is undefined.
Row = tuple[str, "float | None", "float | None"]


@dataclass(frozen=True)
class CompareFilter:
    """One way to narrow the browser to the samples where the runs differ (a button of the compare dialog)."""

    label: str  # "Right in A, wrong in B"
    tooltip: str
    selection: Selection


def scalars(summary: dict[str, Any], skip: set[str]) -> dict[str, float | None]:
    """The numbers of a summary, nested averages flattened ("macro.fbeta"), keys in ``skip`` left out."""
    out: dict[str, float | None] = {}
    for key, value in summary.items():
        if key in skip:
            continue
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items() if is_number(v)})
        elif is_number(value) and value is not None:
            out[key] = value
    return out


def is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def side_by_side(metrics_a: dict[str, float | None], metrics_b: dict[str, float | None]) -> list[Row]:
    """Rows of both runs' metrics, A's order first, then what only B has."""
    names = list(metrics_a) + [k for k in metrics_b if k not in metrics_a]
    return [(name, metrics_a.get(name), metrics_b.get(name)) for name in names]
