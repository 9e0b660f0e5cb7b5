"""What the metrics view says instead of numbers it does not have: a failed run, a run not yet started.

A run can fail before its job exists (weights missing, a model that does not load), while running
(an exception in the model) or by reading nothing (every sample failed to decode). The runner records
the outcome in ``AppState.run_status``; these functions turn it into the words of the metrics view,
so that a failed run shows its error and never a table of NaN.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from gui.state import RunStatus

FAILURE_COLOR = "#b00020"


def shown_failure(status: RunStatus | None, predictions) -> RunStatus | None:
    """The failed run the view should speak of: the latest run, unless other predictions were shown since."""
    if status is None or not status.failed:
        return None
    if status.predictions is not None and status.predictions is not predictions:
        return None  # e.g. a saved run was opened after the failure
    return status


def failure_text(status: RunStatus, predictions, has_numbers: bool) -> str:
    """Rich text: which run failed and why, what the runner got done, and what the numbers below are of."""
    lines = [f"<b>The run of {escape(status.model)} failed:</b> {escape(status.message)}"]
    run = status.predictions
    if run is not None:
        runner = f"Runner: stopped after {run.num_done:,} of {len(run):,} samples"
        if run.errors:
            runner += f" · {len(run.errors):,} could not be read"
        lines.append(escape(runner))
        if has_numbers:
            lines.append(f"The numbers below are of the {run.num_done:,} samples predicted before it failed.")
    elif predictions is not None and has_numbers:
        earlier = f" of {escape(predictions.model)}" if predictions.model else ""
        lines.append(f"The numbers below are of the earlier run{earlier}.")
    return "<br>".join(lines)


def no_numbers_text(status: RunStatus | None, predictions, what: str = "a prediction and a label") -> str:
    """Why there are no metrics although predictions (or a failed run) exist."""
    if shown_failure(status, predictions) is not None:
        return "No metrics: the run failed before a sample could be scored (see above)."
    if status is not None and status.outcome == "running" and status.predictions is predictions:
        return f"Running {escape(status.model)}: the metrics appear with the first predictions."
    if predictions is not None and predictions.errors and not predictions.num_done:
        return f"None of the {len(predictions):,} samples could be read: nothing to score."
    return f"No sample has both {what}: nothing to score."


class FailureBanner(QLabel):
    """A red-framed paragraph above the metrics: the error of a failed run, selectable to be copied."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.RichText)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.setStyleSheet(
            f"QLabel {{ color: {FAILURE_COLOR}; background: #fdecea; border: 1px solid {FAILURE_COLOR};"
            " border-radius: 3px; padding: 4px; }"
        )
        self.hide()

    def show_text(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))
