"""Reports as plain JSON: arrays become lists, NaN (and +-inf) become None."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def report_to_json(report: Any) -> Any:
    """A copy of a report (nested dicts, lists, tuples, numpy arrays and scalars) that ``json.dumps`` accepts
    with ``allow_nan=False``: arrays become lists, non-finite floats become None, numpy scalars Python ones."""
    if isinstance(report, dict):
        return {str(key): report_to_json(value) for key, value in report.items()}
    if isinstance(report, np.ndarray):
        return report_to_json(report.tolist())
    if isinstance(report, (list, tuple)):
        return [report_to_json(value) for value in report]
    if isinstance(report, np.generic):
        return report_to_json(report.item())
    if isinstance(report, float) and not math.isfinite(report):
        return None
    return report
