"""The "Error types" tab: TIDE's six kinds of error (Bolya et al. 2020) of a detection run.

Left, how many errors of each kind there are at the score threshold (all classes, or the detections predicted as
one class and that class's missed objects); right, the mAP@0.5 the run would gain if that kind alone were fixed
(over every detection, so it does not move with the threshold). A click on a kind's bar selects its objects.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.glossary_tips import text_tooltip

KINDS = ("classification", "localization", "both", "duplicate", "background", "missed")
WHAT = {
    "classification": "right place (IoU ≥ the threshold with an object of another class), wrong class",
    "localization": "right class, box off (IoU between 0.1 and the threshold)",
    "both": "wrong class and box off",
    "duplicate": "right class and place, but the object was already found by a higher score",
    "background": "on no object (IoU under 0.1 with every object)",
    "missed": "an object no detection found (and no other error explains)",
}
BAR_COLOURS = {"count": "#9ecae1", "delta": "#fdae6b"}
ALL_CLASSES = "all classes"


class KindBars(pg.PlotWidget):
    """Horizontal bars, one per kind (the first at the top), each labelled with its value; a click names the kind."""

    kind_clicked = Signal(str)

    def __init__(self, title: str, colour: str, names: bool, parent=None) -> None:
        axis = pg.AxisItem("left")
        axis.setTicks([[(k, kind if names else "") for k, kind in enumerate(KINDS)]])
        super().__init__(parent, axisItems={"left": axis}, background="w")
        self.setMenuEnabled(False)
        self.hideButtons()
        plot = self.getPlotItem()
        plot.invertY(True)
        plot.setTitle(title, size="9pt", color="#333")
        self.setToolTip(text_tooltip(title))
        plot.getViewBox().setMouseEnabled(x=False, y=False)
        if not names:
            axis.setWidth(4)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=[], width=[], brush=colour, pen="w")
        plot.addItem(self.bars)
        self.texts: list[pg.TextItem] = []
        self.values = np.zeros(len(KINDS))
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_values(self, values, texts: list[str]) -> None:
        values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
        self.values = values
        y = np.arange(len(KINDS))
        self.bars.setOpts(x0=np.zeros(len(y)), y=y, height=np.full(len(y), 0.6), width=values)
        plot = self.getPlotItem()
        for text in self.texts:
            plot.removeItem(text)
        self.texts = []
        top = float(values.max()) if len(values) and values.max() > 0 else 1.0
        for k, text in enumerate(texts):
            item = pg.TextItem(text, color="#222", anchor=(0, 0.5))
            item.setPos(values[k], k)
            plot.addItem(item)
            self.texts.append(item)
        plot.setRange(xRange=(0, top * 1.35), yRange=(-0.6, len(KINDS) - 0.4), padding=0)

    def kind_at(self, scene_pos: QPointF) -> str | None:
        point = self.getPlotItem().getViewBox().mapSceneToView(scene_pos)
        k = round(point.y())
        inside = self.getPlotItem().getViewBox().sceneBoundingRect().contains(scene_pos)
        return KINDS[k] if inside and 0 <= k < len(KINDS) else None

    def bar_center(self, kind: str) -> QPoint:
        """Widget position of a kind's row, just right of the axis (for tests and keyboard use)."""
        view = self.getPlotItem().getViewBox()
        x = view.viewRange()[0][1] * 0.05
        return self.mapFromScene(view.mapViewToScene(QPointF(x, KINDS.index(kind))))

    def _clicked(self, event) -> None:
        if event.button() == Qt.LeftButton:
            kind = self.kind_at(event.scenePos())
            if kind is not None:
                self.kind_clicked.emit(kind)


class DetectionErrors(QWidget):
    """The counts and the mAP gained side by side, a class picker above them."""

    kind_clicked = Signal(str, object)  # kind, class index or None (all classes)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary: dict | None = None
        self.class_counts: np.ndarray | None = None  # C x 6, at the score threshold
        self.class_combo = QComboBox(
            toolTip="The errors of the detections predicted as one class (and its missed objects)"
        )
        self.class_combo.currentIndexChanged.connect(lambda _i: self._show())
        self.counts = KindBars("Errors at the score threshold", BAR_COLOURS["count"], names=True)
        self.delta = KindBars("mAP@0.5 gained if fixed (all classes)", BAR_COLOURS["delta"], names=False)
        self.plot = self.counts  # the export saves this
        for bars in (self.counts, self.delta):
            bars.kind_clicked.connect(lambda kind: self.kind_clicked.emit(kind, self.class_index()))
            bars.setToolTip(
                "<br>".join(f"<b>{kind}</b>: {what}" for kind, what in WHAT.items())
                + "<br><i>Click a bar: its objects</i>"
                + bars.toolTip()  # the glossary's entries of the metrics its title names
            )
        self.caption = QLabel(wordWrap=True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Class:"))
        top.addWidget(self.class_combo, 1)
        plots = QHBoxLayout()
        plots.addWidget(self.counts, 3)
        plots.addWidget(self.delta, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(plots, 1)
        layout.addWidget(self.caption)

    def class_index(self) -> int | None:
        index = self.class_combo.currentIndex()
        return None if index <= 0 else index - 1

    def show_summary(self, summary: dict | None, class_counts: np.ndarray | None = None) -> None:
        """The ``errors`` of a metrics.json dict; ``class_counts`` (C x 6) for the class picker."""
        self.summary, self.class_counts = summary, class_counts
        classes = [] if summary is None else list(summary["classes"])
        names = [self.class_combo.itemText(i) for i in range(1, self.class_combo.count())]
        if names != classes:
            self.class_combo.blockSignals(True)
            self.class_combo.clear()
            self.class_combo.addItems([ALL_CLASSES, *classes])
            self.class_combo.blockSignals(False)
        self._show()

    def kind_counts(self) -> list[int]:
        """The counts shown: of all classes, or of the class picked."""
        if self.summary is None:
            return [0] * len(KINDS)
        c = self.class_index()
        if c is not None and self.class_counts is not None:
            return [int(v) for v in self.class_counts[c]]
        return [int(self.summary["errors"]["counts"].get(kind, 0)) for kind in KINDS]

    def deltas(self) -> list[float]:
        if self.summary is None:
            return [float("nan")] * len(KINDS)
        delta = self.summary["errors"].get("delta_map") or {}
        return [float("nan") if delta.get(kind) is None else float(delta[kind]) for kind in KINDS]

    def _show(self) -> None:
        counts, deltas = self.kind_counts(), self.deltas()
        self.counts.set_values(counts, [f" {n:,}" for n in counts])
        self.delta.set_values(deltas, [" —" if np.isnan(d) else f" +{d:.3f}" for d in deltas])
        if self.summary is None:
            self.caption.setText("")
            return
        errors = self.summary["errors"]
        self.caption.setText(
            f"At score ≥ {errors['score_threshold']:.3f} and IoU ≥ {errors['iou_threshold']:.2f} · "
            "TIDE (Bolya et al. 2020): each kind's gain fixes it alone, over every detection · click a bar: its objects"
        )

    def csv_rows(self) -> list[list]:
        return [
            ["kind", "count", "delta_map_50"],
            *[[k, n, d] for k, n, d in zip(KINDS, self.kind_counts(), self.deltas())],
        ]
