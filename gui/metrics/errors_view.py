"""Error analysis: a per-sample score (a loss, confidence, margin) as a histogram that selects samples.

Click a bar, or drag the shaded range, to see those samples; "Worst first" orders every scored
sample from the most suspicious (highest loss, lowest confidence, smallest margin) down.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from core.evaluation import ranking
from gui.glossary_tips import explain_metrics
from gui.metrics.histogram_plot import HistogramPlot, log_check
from gui.metrics.jobs import BackgroundJob
from gui.metrics.model import MetricsModel

BINS = 30


def _compute(name: str, dataset, predictions) -> tuple[str, np.ndarray, np.ndarray]:
    """(name, the score of every sample, the samples worst first): the order too is sorted on the worker, so
    "Worst first" over a million samples answers at once."""
    values = ranking.sample_scores(name, dataset, predictions)
    return name, values, ranking.worst_first(values, ranking.higher_is_worse(dataset.task, name))


def _same(key: tuple, other: tuple) -> bool:
    """Whether two (dataset, predictions, samples done, score) keys name the same scores: objects by identity."""
    return key[0] is other[0] and key[1] is other[1] and key[2:] == other[2:]


class ErrorAnalysisView(QWidget):
    def __init__(self, model: MetricsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.score_combo = QComboBox()
        self.score_combo.setToolTip("The per-sample score: a loss against the label, the confidence, or the margin")
        self.score_combo.currentTextChanged.connect(self.refresh)
        explain_metrics(self.score_combo)
        self.worst_button = QPushButton("Worst first")
        self.worst_button.setToolTip("Show every scored sample in the browser, the most suspicious first")
        self.worst_button.clicked.connect(self.worst_first)
        self.info = QLabel()
        explain_metrics(self.info)
        self.plot = HistogramPlot()
        self.plot.setToolTip("Click a bar to see its samples")
        self.plot.bar_clicked.connect(self.select_bar)
        self.plot.range_chosen.connect(lambda _lo, _hi: self.select_region())
        self.log_check = log_check(self.plot)
        self.job = BackgroundJob(self)
        self.job.finished.connect(self._computed)
        self.job.failed.connect(lambda text: model.state.error.emit("Cannot compute the scores", text))
        top = QHBoxLayout()
        top.addWidget(QLabel("Score:"))
        top.addWidget(self.score_combo, 1)
        top.addWidget(self.log_check)
        top.addWidget(self.worst_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.info)
        layout.addWidget(self.plot, 1)
        self.values: np.ndarray | None = None
        self.order: np.ndarray | None = None  # the scored samples worst first, computed with ``values``
        self.name = ""
        self._key = None
        model.task_changed.connect(self._fill_scores)
        model.scores_changed.connect(self.refresh)  # emitted whenever the predictions changed

    def catch_up(self) -> None:
        """Show what the model holds now (a view made after the model changed: the tab's first show)."""
        self._fill_scores()
        self.refresh()

    def _fill_scores(self) -> None:
        self.score_combo.blockSignals(True)
        self.score_combo.clear()
        self.score_combo.addItems(ranking.scores_for(self.model.task or ""))
        self.score_combo.blockSignals(False)
        self.values, self.order, self._key = None, None, None

    def showEvent(self, event) -> None:  # Qt's name; scores are computed when first seen
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        model, name = self.model, self.score_combo.currentText()
        if not (model.has_numbers() and name and self.isVisible()):
            return
        # The dataset as scored is a new object once labels change (an edit): the scores and order are redone.
        key = (model.dataset, model.predictions, model.predictions.num_done, name)
        if self._key is None or not _same(key, self._key):
            self._key = key
            self.info.setText(f"Computing {name}…")
            self.job.submit(_compute, name, model.dataset, model.predictions)

    def _computed(self, result: tuple[str, np.ndarray, np.ndarray]) -> None:
        self.name, self.values, self.order = result
        counts, edges = ranking.histogram(self.values, BINS)
        worst_high = ranking.higher_is_worse(self.model.task, self.name)
        self.plot.set_histogram(counts, edges, self.name, worst_high)
        defined = self.values[~np.isnan(self.values)]
        mean = f" · mean {defined.mean():.4f}" if defined.size else ""
        worst = "highest" if worst_high else "lowest"
        self.info.setText(f"{defined.size:,} samples{mean} · worst first = {worst} {self.name} first")

    def select_bar(self, b: int) -> None:
        lo, hi = self.plot.edges[b], self.plot.edges[b + 1]
        self.plot.show_range(lo, hi)
        self._select(lo, hi, ranking.in_bin(self.values, self.plot.edges, b))

    def select_region(self) -> None:
        if self.values is None:
            return
        lo, hi = self.plot.region.getRegion()
        self._select(lo, hi, ranking.in_range(self.values, lo, hi))

    def _select(self, lo: float, hi: float, indices: np.ndarray) -> None:
        self.plot.describe(f"Shaded: {self.name} {lo:.3g}–{hi:.3g} · {len(indices):,} samples shown in the browser")
        self.model.select(f"{self.name} {lo:.3g}–{hi:.3g}", indices)

    def worst_first(self) -> None:
        if self.order is None:
            return
        self.model.select(f"worst first by {self.name}", self.order, ordered=True)

    def csv_rows(self) -> list[list]:
        edges, counts = self.plot.edges, self.plot.counts
        return [["bin low", "bin high", "samples"]] + [[edges[b], edges[b + 1], int(c)] for b, c in enumerate(counts)]
