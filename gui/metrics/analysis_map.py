"""The Analysis tab's Map: the run's embeddings laid out in 2-D, linked to the browser both ways.

The :class:`~gui.metrics.map_view.MapView` shows the analysis' layout (the PCA at once, then PaCMAP or UMAP)
coloured by true or predicted class, right / wrong, confidence, label quality, label issues, outlier score or
split. A lasso, a box or a legend click selects the browser's samples; the browser's selection (from any view)
is highlighted here; a click opens a sample; hovering shows its thumbnail. Rows of other splits (kept runs of
the same model, for leaks) are on the map too: they are said, not opened, since the browser shows one split.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.analysis.rows import NOT_OPEN, AnalysisRows
from core.evaluation.selection import Selection
from gui.metrics.analysis_model import AnalysisModel
from gui.metrics.analysis_samples import RowThumbnails, label_of, prediction_of
from gui.metrics.map_colours import Colouring
from gui.metrics.map_view import MapView

#: The hover card's thumbnail (pixels, longest side).
CARD_THUMB = 112
RIGHT_WRONG = ("wrong", "right")
RIGHT_WRONG_PALETTE = ((214, 39, 40), (44, 160, 44))
ISSUE_NAMES = ("label issue", "no issue")
ISSUE_PALETTE = ((214, 39, 40), (170, 170, 170))
SELECTION_PREFIX = "map: "


def colourings(analysis, classes: list[str]) -> dict[str, Colouring]:
    """What the map offers under "Colour by" for this analysis (what its findings so far allow)."""
    inp = analysis.input
    probs = np.asarray(inp.probabilities, dtype=np.float32) if inp.probabilities is not None else None
    out: dict[str, Colouring] = {}
    predicted = None
    if probs is not None and not inp.multilabel:
        finite = inp.predicted & np.isfinite(probs).all(axis=1)
        predicted = np.where(finite, np.argmax(np.nan_to_num(probs, nan=-1.0), axis=1), -1)
    labels = None if inp.labels is None or inp.multilabel else np.asarray(inp.labels, dtype=np.int64)
    if labels is not None:
        out["True class"] = Colouring.categorical(labels, classes)
    if predicted is not None:
        out["Predicted class"] = Colouring.categorical(predicted, classes)
    if labels is not None and predicted is not None:
        right = np.where((labels >= 0) & (predicted >= 0), (labels == predicted).astype(np.int64), -1)
        out["Right / wrong"] = Colouring.categorical(right, RIGHT_WRONG, RIGHT_WRONG_PALETTE, on_top=("wrong",))
    if probs is not None:
        confidence = np.where(inp.predicted, np.nanmax(np.where(np.isfinite(probs), probs, np.nan), axis=1), np.nan)
        out["Confidence"] = Colouring.continuous(confidence, (0.0, 1.0), on_top="low")
    issues = analysis.label_issues
    quality = getattr(issues, "quality", None)
    if quality is not None:
        out["Label quality"] = Colouring.continuous(quality, (0.0, 1.0), on_top="low")
        flagged = np.where(np.isfinite(quality), 1, -1)
        flagged[np.asarray(issues.indices, dtype=np.int64)] = 0
        out["Label issues"] = Colouring.categorical(flagged, ISSUE_NAMES, ISSUE_PALETTE, on_top=("label issue",))
    if analysis.outliers is not None:
        out["Outlier score"] = Colouring.continuous(analysis.outliers.score, on_top="high")
    names = sorted(set(inp.splits.tolist()))
    if len(names) > 1:
        out["Split"] = Colouring.categorical(np.searchsorted(names, inp.splits), names)
    return out


class AnalysisMap(QWidget):
    """The map sub-tab: a MapView fed by the AnalysisModel, selecting and following the browser."""

    def __init__(self, model: AnalysisModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model, self.state = model, model.state
        self.rows: AnalysisRows | None = None
        self.row_of_index = np.zeros(0, np.int64)  # per sample of the open dataset: its row (-1: none)
        self.thumbnails = RowThumbnails(CARD_THUMB, self, capacity=200)
        self.thumbnails.ready.connect(self._thumbnail_ready)
        self.map = MapView(thumbnail=self.thumbnails.thumbnail, describe=self.describe)
        self.map.sample_clicked.connect(self.open_row)
        self.map.selection_made.connect(self.select_rows)
        self.map.selection_cleared.connect(self._cleared)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.map)
        self.is_issue = np.zeros(0, bool)  # per row: a label issue
        model.reset.connect(self.clear)
        model.found.connect(self._on_found)
        self.state.selection_changed.connect(self._follow_selection)
        self.clear()

    def clear(self) -> None:
        self.rows = None
        self.is_issue = np.zeros(0, bool)
        self.row_of_index = np.zeros(0, np.int64)
        self.thumbnails.set_rows(None)
        self.map.set_points(np.zeros((0, 2), np.float32), {})

    def _on_found(self, stage: str) -> None:
        analysis = self.model.analysis
        if analysis is None or analysis.coords is None:
            return
        if self.rows is not self.model.rows:
            self.rows = self.model.rows
            self.thumbnails.set_rows(self.rows)
            self.row_of_index = self.rows.rows_of_open()
        self.is_issue = np.zeros(len(analysis), bool)
        if analysis.label_issues is not None:
            self.is_issue[np.asarray(analysis.label_issues.indices, dtype=np.int64)] = True
        offered = colourings(analysis, list(analysis.input.classes))
        offered.update(self._image_scores(len(analysis)))
        self.map.set_points(analysis.coords, offered)
        self._follow_selection(self.state.selection)

    def _image_scores(self, rows: int) -> dict[str, Colouring]:
        """A segmenter's per-image mean IoU, for the rows of the open split (where its run scored the masks)."""
        scores = getattr(self.state.predictions, "per_image_scores", None)
        if scores is None or self.rows is None:
            return {}
        mean_iou = np.asarray(scores()["mean_iou"], dtype=np.float64)
        values = np.full(rows, np.nan)
        opened = np.flatnonzero(self.row_of_index >= 0)
        values[self.row_of_index[opened]] = mean_iou[opened]
        return {"Mean IoU": Colouring.continuous(values, (0.0, 1.0), on_top="low")}

    # -- map -> browser -------------------------------------------------------------------------------
    def describe(self, row: int) -> str:
        rows = self.rows
        if rows is None:
            return ""
        parts = [rows.sample_id(row)]
        if not rows.is_open(row):
            parts.append(f"split {rows.split(row)}")
        label, predicted = label_of(self.state, rows, row), prediction_of(rows, row)
        if label:
            parts.append(f"label {label}")
        if predicted:
            parts.append(f"predicted {predicted}")
        if row < len(self.is_issue) and self.is_issue[row]:
            parts.append("label issue")
        return " · ".join(parts)

    def open_row(self, row: int) -> None:
        if self.rows is None:
            return
        index = self.rows.open_index(row)
        if index == NOT_OPEN:
            self.state.message.emit(f"{self.rows.sample_id(row)} is in the {self.rows.split(row)} split: open it there")
            return
        self.state.select_sample(index)

    def select_rows(self, rows: np.ndarray) -> None:
        """A lasso, box or legend click: its samples of the open split become the browser's selection."""
        if self.rows is None:
            return
        indices = self.rows.open_indices(rows)
        others = len(rows) - len(indices)
        if not len(rows):
            self.state.set_selection(None)
            return
        self.state.set_selection(Selection.of(f"{SELECTION_PREFIX}{len(indices):,} samples", indices))
        if others:
            self.state.message.emit(f"{others:,} of the points selected are of other splits: the browser shows one")

    def _cleared(self) -> None:
        selection = self.state.selection
        if selection is not None and selection.name.startswith(SELECTION_PREFIX):
            self.state.set_selection(None)

    # -- browser -> map ------------------------------------------------------------------------------------
    def _follow_selection(self, selection) -> None:
        """Another view's selection is highlighted on the map; the map's own keeps its ringed points."""
        if self.rows is None or len(self.map.coords) == 0:
            return
        if selection is None:
            self.map.highlight(None)
            return
        indices = np.asarray(selection.indices, dtype=np.int64)
        indices = indices[(indices >= 0) & (indices < len(self.row_of_index))]
        rows = self.row_of_index[indices]
        self.map.highlight(rows[rows >= 0])

    def _thumbnail_ready(self, row: int) -> None:
        pixmap = self.thumbnails.thumbnail(row)
        if pixmap is not None:
            self.map.set_thumbnail(row, pixmap)

    def shutdown(self) -> None:
        self.thumbnails.shutdown()
