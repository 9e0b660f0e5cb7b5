"""The reliability diagram: accuracy per confidence bin against the diagonal, and the calibration error."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.evaluation import classification
from core.metrics import calibration_bin
from gui.glossary_tips import explain_metrics, metric_tooltip, text_tooltip
from gui.metrics.confusion_widget import compact
from gui.metrics.model import MetricsModel

BAR, CHOSEN = "#6baed6", "#fd8d3c"


def short_count(n: int) -> str:
    """12, 950, 1.2k, 34k, 1.5M: fits under a bar."""
    return compact(n, exact_below=1000)


TITLE = "Bars: accuracy per confidence bin · the number at a bar's foot: its samples"


class ReliabilityPlot(pg.PlotWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMenuEnabled(False)
        self.hideButtons()
        plot = self.getPlotItem()
        plot.setLabel("bottom", "Confidence")
        plot.setLabel("left", "Accuracy")
        plot.getViewBox().setMouseEnabled(x=False, y=False)
        plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
        plot.addLegend(offset=(10, 10))
        self.bars = pg.BarGraphItem(x0=[], width=[], height=[], brush=BAR, pen="w", name="accuracy")
        plot.addItem(self.bars)
        plot.plot([0, 1], [0, 1], pen=pg.mkPen("#555", style=Qt.DashLine), name="perfect calibration")
        self.means = pg.ScatterPlotItem(symbol="o", size=6, brush="#d62728", pen=None, name="mean confidence")
        plot.addItem(self.means)
        self.edges = np.linspace(0, 1, classification.RELIABILITY_BINS + 1)
        self.accuracy = self.count = np.zeros(classification.RELIABILITY_BINS)
        self.count_labels: list[pg.TextItem] = []
        self.chosen: int | None = None
        plot.setTitle(TITLE, size="9pt")

    def set_bins(self, bins: dict) -> None:
        self.edges = np.asarray(bins["edges"])
        self.accuracy = np.nan_to_num(np.asarray(bins["accuracy"], dtype=np.float64))
        self.count = np.asarray(bins["count"], dtype=np.int64)
        filled = self.count > 0
        self.means.setData(np.asarray(bins["confidence"])[filled], self.accuracy[filled])
        self._paint_bars()
        self._label_counts()

    def set_chosen(self, b: int | None) -> None:
        """Mark the bin whose samples the browser shows (None: none)."""
        self.chosen = b
        self._paint_bars()

    def _paint_bars(self) -> None:
        brushes = [CHOSEN if b == self.chosen else BAR for b in range(len(self.edges) - 1)]
        self.bars.setOpts(x0=self.edges[:-1], width=np.diff(self.edges), height=self.accuracy, brushes=brushes)

    def _label_counts(self) -> None:
        """The number of samples at the foot of each bar: an accuracy of 1.0 over 3 samples says little."""
        plot = self.getPlotItem()
        for label in self.count_labels:
            plot.removeItem(label)
        self.count_labels = []
        for b in np.flatnonzero(self.count > 0):
            label = pg.TextItem(short_count(int(self.count[b])), color="#08306b", anchor=(0.5, 1.0))
            label.setPos((self.edges[b] + self.edges[b + 1]) / 2, 0.0)
            label.setToolTip(f"{int(self.count[b]):,} samples")
            plot.addItem(label)
            self.count_labels.append(label)

    def bin_at(self, scene_pos: QPointF) -> int | None:
        x = self.getPlotItem().getViewBox().mapSceneToView(scene_pos).x()
        if not self.edges[0] <= x <= self.edges[-1]:
            return None
        return int(calibration_bin(np.array([x]), len(self.edges) - 1)[0])

    def bin_center(self, b: int) -> QPoint:
        view = self.getPlotItem().getViewBox()
        point = QPointF((self.edges[b] + self.edges[b + 1]) / 2, 0.05)
        return self.mapFromScene(view.mapViewToScene(point))


class ReliabilityView(QWidget):
    """Click a bar to see the samples whose confidence falls in it."""

    def __init__(self, model: MetricsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.label_combo = QComboBox()
        self.label_combo.setToolTip("The label whose present/absent decision is shown")
        self.label_combo.currentIndexChanged.connect(self.refresh)
        self.info = QLabel()
        self.info.setWordWrap(True)
        explain_metrics(self.info)
        self._summary = ""
        self.plot = ReliabilityPlot()
        tip = f"<p>Click a bar to see its samples.</p>{metric_tooltip('Reliability diagram')}{text_tooltip(TITLE)}"
        self.plot.setToolTip(tip)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        top = QHBoxLayout()
        top.addWidget(self.label_combo)
        top.addWidget(self.info, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        model.task_changed.connect(self._fill_labels)
        model.scores_changed.connect(self.refresh)

    def catch_up(self) -> None:
        """Show what the model holds now (a view made after the model changed: the tab's first show)."""
        self._fill_labels()
        self.refresh()

    def _fill_labels(self) -> None:
        self.label_combo.blockSignals(True)
        self.label_combo.clear()
        self.label_combo.addItems(self.model.classes)
        self.label_combo.blockSignals(False)
        self.label_combo.setVisible(self.model.multilabel())

    def label(self) -> int | None:
        return max(self.label_combo.currentIndex(), 0) if self.model.multilabel() else None

    def refresh(self) -> None:
        scores = self.model.scores
        if scores is None:
            self.info.setText("Computing…" if self.model.score_job.busy else "")
            return
        label = self.label()
        bins = scores["reliability"] if label is None else scores["reliability"][label]
        ece = scores["expected_calibration_error"]
        ece = ece if label is None else ece[label]
        self.plot.set_bins(bins)
        self.plot.set_chosen(None)
        what = "top-1 prediction" if label is None else f"label {self.model.classes[label]} (present vs absent)"
        samples = int(np.sum(bins["count"]))
        self._summary = f"Expected calibration error <b>{ece:.4f}</b> · {what} · {samples:,} samples"
        self.info.setText(self._summary + " · click a bar to see its samples")
        self.bins = bins

    def select_bin(self, b: int) -> None:
        model = self.model
        rows, confidence, _correct = classification.calibration_inputs(model.dataset, model.predictions, self.label())
        indices = rows[calibration_bin(confidence, len(self.plot.edges) - 1) == b]
        lo, hi = self.plot.edges[b], self.plot.edges[b + 1]
        self.plot.set_chosen(b)
        self.model.select(f"confidence {lo:.2f}–{hi:.2f}", indices)
        self.info.setText(f"{self._summary} · <b>{len(indices):,} samples</b> of confidence {lo:.2f}–{hi:.2f} shown")

    def _clicked(self, event) -> None:
        if event.button() == Qt.LeftButton and self.model.scores is not None:
            b = self.plot.bin_at(event.scenePos())
            if b is not None:
                self.select_bin(b)

    def csv_rows(self) -> list[list]:
        bins = getattr(self, "bins", None)
        if bins is None:
            return [["bin low", "bin high", "mean confidence", "accuracy", "samples"]]
        rows = zip(bins["edges"][:-1], bins["edges"][1:], bins["confidence"], bins["accuracy"], bins["count"])
        clean = [[lo, hi, "" if np.isnan(c) else c, "" if np.isnan(a) else a, int(n)] for lo, hi, c, a, n in rows]
        return [["bin low", "bin high", "mean confidence", "accuracy", "samples"], *clean]
