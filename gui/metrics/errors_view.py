"""Error analysis: a per-sample score (a loss, confidence, margin) as a histogram that selects samples.

Click a bar, or drag the shaded range, to see those samples; "Worst first" orders every scored
sample from the most suspicious (highest loss, lowest confidence, smallest margin) down.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from core import ranking
from gui.metrics.glossary_tips import explain_metrics
from gui.metrics.jobs import BackgroundJob
from gui.metrics.model import MetricsModel

BINS = 30


def _compute(name: str, dataset, predictions) -> tuple[str, np.ndarray]:
    return name, ranking.sample_scores(name, dataset, predictions)


class HistogramPlot(pg.PlotWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMenuEnabled(False)
        self.hideButtons()
        plot = self.getPlotItem()
        plot.setLabel("left", "Samples")
        plot.getViewBox().setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x0=[], width=[], height=[], brush="#9ecae1", pen="w")
        plot.addItem(self.bars)
        self.region = pg.LinearRegionItem(brush=(255, 127, 14, 50))
        self.region.setZValue(10)
        self.region.setToolTip("Drag the range, or its edges, to select the samples inside")
        plot.addItem(self.region)
        self.counts, self.edges = np.zeros(0, dtype=np.int64), np.linspace(0, 1, 2)

    def set_histogram(self, counts: np.ndarray, edges: np.ndarray, name: str, worst_high: bool) -> None:
        self.counts, self.edges = counts, edges
        self.bars.setOpts(x0=edges[:-1], width=np.diff(edges), height=counts)
        self.getPlotItem().setLabel("bottom", name)
        span = edges[-1] - edges[0]
        # start the range on the worst tail: a drag from there is the common question
        lo, hi = (edges[-1] - span / 5, edges[-1]) if worst_high else (edges[0], edges[0] + span / 5)
        self.region.blockSignals(True)
        self.region.setBounds((edges[0], edges[-1]))
        self.region.setRegion((lo, hi))
        self.region.blockSignals(False)
        self.getPlotItem().setRange(xRange=(edges[0], edges[-1]), yRange=(0, max(int(counts.max(initial=0)), 1)))

    def bar_at(self, scene_pos: QPointF) -> int | None:
        x = self.getPlotItem().getViewBox().mapSceneToView(scene_pos).x()
        if self.counts.size == 0 or not self.edges[0] <= x <= self.edges[-1]:
            return None
        return int(ranking.bin_of(np.array([x]), self.edges)[0])

    def bar_center(self, b: int) -> QPoint:
        view = self.getPlotItem().getViewBox()
        point = QPointF((self.edges[b] + self.edges[b + 1]) / 2, max(self.counts[b], 1) / 2)
        return self.mapFromScene(view.mapViewToScene(point))


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
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.plot.region.sigRegionChangeFinished.connect(self.select_region)
        self.job = BackgroundJob(self)
        self.job.finished.connect(self._computed)
        self.job.failed.connect(lambda text: model.state.error.emit("Cannot compute the scores", text))
        top = QHBoxLayout()
        top.addWidget(QLabel("Score:"))
        top.addWidget(self.score_combo, 1)
        top.addWidget(self.worst_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.info)
        layout.addWidget(self.plot, 1)
        self.values: np.ndarray | None = None
        self.name = ""
        self._key = None
        model.task_changed.connect(self._fill_scores)
        model.scores_changed.connect(self.refresh)  # emitted whenever the predictions changed

    def _fill_scores(self) -> None:
        self.score_combo.blockSignals(True)
        self.score_combo.clear()
        self.score_combo.addItems(ranking.scores_for(self.model.task or ""))
        self.score_combo.blockSignals(False)
        self.values, self._key = None, None

    def showEvent(self, event) -> None:  # Qt's name; scores are computed when first seen
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        model, name = self.model, self.score_combo.currentText()
        if not (model.ready() and name and self.isVisible()):
            return
        key = (id(model.predictions), model.predictions.num_done, name)
        if key != self._key:
            self._key = key
            self.info.setText(f"Computing {name}…")
            self.job.submit(_compute, name, model.dataset, model.predictions)

    def _computed(self, result: tuple[str, np.ndarray]) -> None:
        self.name, self.values = result
        counts, edges = ranking.histogram(self.values, BINS)
        worst_high = ranking.higher_is_worse(self.model.task, self.name)
        self.plot.set_histogram(counts, edges, self.name, worst_high)
        defined = self.values[~np.isnan(self.values)]
        mean = f" · mean {defined.mean():.4f}" if defined.size else ""
        worst = "highest" if worst_high else "lowest"
        self.info.setText(f"{defined.size:,} samples{mean} · worst first = {worst} {self.name} first")

    def select_bar(self, b: int) -> None:
        lo, hi = self.plot.edges[b], self.plot.edges[b + 1]
        self.model.select(f"{self.name} {lo:.3g}–{hi:.3g}", ranking.in_bin(self.values, self.plot.edges, b))

    def select_region(self) -> None:
        if self.values is None:
            return
        lo, hi = self.plot.region.getRegion()
        self.model.select(f"{self.name} {lo:.3g}–{hi:.3g}", ranking.in_range(self.values, lo, hi))

    def worst_first(self) -> None:
        if self.values is None:
            return
        order = ranking.worst_first(self.values, ranking.higher_is_worse(self.model.task, self.name))
        self.model.select(f"worst first by {self.name}", order, ordered=True)

    def _clicked(self, event) -> None:
        if event.button() == Qt.LeftButton and self.values is not None:
            b = self.plot.bar_at(event.scenePos())
            if b is not None:
                self.select_bar(b)

    def csv_rows(self) -> list[list]:
        edges, counts = self.plot.edges, self.plot.counts
        return [["bin low", "bin high", "samples"]] + [[edges[b], edges[b + 1], int(c)] for b, c in enumerate(counts)]
