"""The per-image view of a segmentation run: a histogram of a per-image score or loss that selects the images of
a bar or a dragged range, and the worst images first. Made with the Images tab's first show or the first run
(gui.metrics.segmentation_view.SegmentationMetrics.images): its histogram is a pyqtgraph plot.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from core.evaluation import ranking
from core.evaluation.segmentation_ranking import SEGMENTATION_LOSSES, run_losses
from core.evaluation.selection import Selection
from gui.glossary_tips import explain_metrics
from gui.metrics.histogram_plot import HistogramPlot, log_check
from gui.metrics.jobs import BackgroundJob
from gui.state import AppState

PER_IMAGE = {  # name: key of per_image_scores (lower is worse)
    "mean IoU": "mean_iou",
    "mean Dice": "mean_dice",
    "pixel accuracy": "pixel_accuracy",
}
#: Per-image losses (higher is worse), computed in the background from the run's probabilities.
LOSSES = tuple(SEGMENTATION_LOSSES)
BINS = 20


class ImagesView(QWidget):
    """Per-image scores and losses: a histogram that selects, and the worst images first."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.scores: dict[str, np.ndarray] | None = None
        self.losses: dict[str, np.ndarray] | None = None
        self.loss_job = BackgroundJob(self)
        self.loss_job.finished.connect(self._losses_ready)
        self.loss_job.failed.connect(lambda text: state.error.emit("Cannot compute the losses", text))
        self.score_combo = QComboBox(toolTip="The per-image score or loss to rank and histogram")
        self.score_combo.addItems([*PER_IMAGE, *LOSSES])
        explain_metrics(self.score_combo)
        self.score_combo.currentIndexChanged.connect(self._show_histogram)
        self.worst_button = QPushButton("Worst first", toolTip="Show every image, the worst first")
        self.worst_button.clicked.connect(self.worst_first)
        self.plot = HistogramPlot(ylabel="Images")
        self.plot.bar_clicked.connect(self._bar_clicked)
        self.plot.range_chosen.connect(self._select_range)
        self.log_check = log_check(self.plot)
        self.info = QLabel()  # the losses, while they are computed
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Score:"))
        controls.addWidget(self.score_combo, 1)
        controls.addWidget(self.log_check)
        controls.addWidget(self.worst_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.info)

    def show_run(self, predictions) -> None:
        self.scores = predictions.per_image_scores()
        self.losses = None
        if predictions.complete and self.state.dataset is not None:
            self.loss_job.submit(run_losses, predictions, self.state.dataset)
        self._show_histogram()

    def _losses_ready(self, losses: dict[str, np.ndarray]) -> None:
        self.losses = losses
        self._show_histogram()

    def metric(self) -> str:
        return self.score_combo.currentText()

    def higher_is_worse(self) -> bool:
        return self.metric() in LOSSES

    def values(self) -> np.ndarray:
        name = self.metric()
        if name in LOSSES:
            return self.losses[name] if self.losses is not None else np.zeros(0)
        return self.scores[PER_IMAGE[name]] if self.scores is not None else np.zeros(0)

    @property
    def edges(self) -> np.ndarray:
        return self.plot.edges

    def _show_histogram(self) -> None:
        # Scores lie in [0, 1] and are drawn on that range; losses on the range of their values.
        limits = None if self.higher_is_worse() else (0.0, 1.0)
        counts, edges = ranking.histogram(self.values(), BINS, limits)
        self.plot.set_histogram(counts, edges, self.metric(), self.higher_is_worse())
        waiting = self.metric() in LOSSES and self.losses is None
        self.info.setText("Computing the losses in the background…" if waiting else "")

    def _choose(self, indices: np.ndarray, name: str) -> None:
        worst = ranking.worst_first(self.values(), self.higher_is_worse(), indices)
        self.state.set_selection(Selection.of(name, worst, ordered=True))
        self.plot.describe(f"Shaded: {name} · {len(indices):,} images shown in the browser, worst first")

    def _select_range(self, low: float, high: float) -> None:
        if self.scores is None or not len(self.values()):
            return
        self._choose(ranking.in_range(self.values(), low, high), f"{self.metric()} in [{low:.2f}, {high:.2f}]")

    def _bar_clicked(self, b: int) -> None:
        if self.scores is None or not len(self.values()):
            return
        low, high = self.edges[b], self.edges[b + 1]
        self._choose(ranking.in_bin(self.values(), self.edges, b), f"{self.metric()} in [{low:.2f}, {high:.2f})")

    def worst_first(self) -> None:
        values = self.values()
        if self.scores is None or not len(values):
            return
        worst = ranking.worst_first(values, self.higher_is_worse())
        self.state.set_selection(Selection.of(f"worst {self.metric()} first", worst, ordered=True))
