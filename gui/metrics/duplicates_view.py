"""The Analysis tab's "Duplicates" view: exact and near duplicate pairs, side by side, and the leaks among them.

One list item per pair (exact copies first, then the closest), painted by :class:`PairDelegate`: both
thumbnails large enough to compare, each side's id and split, the distance and a badge ("exact", "near",
"LEAK across splits"), and "Exclude A" / "Exclude B" for the samples of the open split. No widget per pair:
10,000 pairs scroll like ten. A slider moves the near-duplicate threshold (cosine distance, on a log scale
around the value calibrated on the data) and the pairs are found again from the neighbours the analysis
kept, without a new search.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QSlider,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from core.analysis.duplicates import DuplicatePairs
from core.analysis.rows import AnalysisRows
from core.evaluation.selection import Selection
from gui.metrics.analysis_model import AnalysisModel
from gui.metrics.analysis_samples import RowThumbnails, excluded_marks, label_of, set_excluded

THUMB = 112  # pixels: two digits side by side, big enough to see a changed pixel
PAD = 6
BUTTON_WIDTH = 96
#: The slider's steps; its middle is the calibrated threshold, each end RANGE times further.
SLIDER_STEPS, RANGE = 200, 30.0
#: Cosine distance is at most 2: past it every pair of neighbours would count.
MAX_DISTANCE = 2.0
DEBOUNCE_MS = 150
SIDES = "AB"
LEAK_COLOUR, EXACT_COLOUR, NEAR_COLOUR = QColor("#c62828"), QColor("#1565c0"), QColor("#616161")


def slider_distance(value: int, calibrated: float) -> float:
    """The threshold at slider ``value``: the calibrated one in the middle, RANGE times less or more at the ends."""
    exponent = (value - SLIDER_STEPS / 2) / (SLIDER_STEPS / 2)
    return min(MAX_DISTANCE, calibrated * RANGE**exponent)


def distance_slider(distance: float, calibrated: float) -> int:
    """The slider value nearest to ``distance`` (the inverse of :func:`slider_distance`)."""
    exponent = np.log(max(distance, 1e-12) / calibrated) / np.log(RANGE)
    return int(np.clip(round(SLIDER_STEPS / 2 * (1 + exponent)), 0, SLIDER_STEPS))


class PairsModel(QAbstractListModel):
    """The pairs shown, closest first; ``leaks_only`` keeps the pairs across splits."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.pairs: DuplicatePairs | None = None
        self.rows: AnalysisRows | None = None
        self.leaks_only = False
        self.shown = np.zeros(0, np.int64)  # indices into ``pairs``
        self.group_size = np.zeros(0, np.int64)  # members per group number

    def set_pairs(self, pairs: DuplicatePairs | None, rows: AnalysisRows | None) -> None:
        self.beginResetModel()
        self.pairs, self.rows = pairs, rows
        self.group_size = np.zeros(0, np.int64) if pairs is None else np.bincount(pairs.group) + 1
        self._filter()
        self.endResetModel()

    def set_leaks_only(self, on: bool) -> None:
        self.beginResetModel()
        self.leaks_only = on
        self._filter()
        self.endResetModel()

    def _filter(self) -> None:
        if self.pairs is None:
            self.shown = np.zeros(0, np.int64)
        else:
            keep = self.pairs.leak if self.leaks_only else np.ones(len(self.pairs), bool)
            self.shown = np.flatnonzero(keep)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.shown)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or self.rows is None:
            return None
        a, b = self.sides(index.row())
        if role == Qt.ToolTipRole:
            rows = self.rows
            return "\n".join(f"{s}: {rows.sample_id(r)} ({rows.split(r) or 'no split'})" for s, r in zip(SIDES, (a, b)))
        if role in (Qt.DisplayRole, Qt.AccessibleTextRole):
            return f"{self.rows.sample_id(a)} ~ {self.rows.sample_id(b)}"
        return None

    def pair(self, row: int) -> int:
        """The index into ``pairs`` of list row ``row``."""
        return int(self.shown[row])

    def sides(self, row: int) -> tuple[int, int]:
        """The analysis rows (A, B) of list row ``row``."""
        k = self.pair(row)
        return int(self.pairs.a[k]), int(self.pairs.b[k])

    def members(self) -> list[int]:
        """The analysis rows of the shown pairs, in list order, each once."""
        if not len(self.shown):
            return []
        both = np.stack([self.pairs.a[self.shown], self.pairs.b[self.shown]], axis=1).ravel()
        _, first = np.unique(both, return_index=True)
        return both[np.sort(first)].tolist()


class PairDelegate(QStyledItemDelegate):
    """Paints a pair side by side; a click on a thumbnail opens that sample, on a button excludes it."""

    side_clicked = Signal(int, int)  # list row, side (0 = A, 1 = B)
    exclude_clicked = Signal(int, int)  # list row, side

    def __init__(self, view: DuplicatesView) -> None:
        super().__init__(view)
        self.view = view

    def sizeHint(self, option, index) -> QSize:
        line = option.fontMetrics.height()
        return QSize(2 * THUMB + 3 * PAD + 2 * BUTTON_WIDTH + PAD, THUMB + 2 * line + 3 * PAD)

    def geometry(self, rect: QRect, line: int) -> dict[str, QRect]:
        """Where each part of the item lies (painting and clicks share it)."""
        top = rect.top() + PAD
        parts = {}
        for side in (0, 1):
            left = rect.left() + PAD + side * (THUMB + PAD)
            parts[f"thumb{side}"] = QRect(left, top, THUMB, THUMB)
            parts[f"caption{side}"] = QRect(left, top + THUMB + 2, THUMB, 2 * line)
        info_left = rect.left() + 2 * THUMB + 4 * PAD
        width = max(2 * BUTTON_WIDTH + PAD, rect.right() - PAD - info_left)
        parts["info"] = QRect(info_left, top, width, THUMB - line - 2 * PAD)
        button_top = top + THUMB - line - PAD
        for side in (0, 1):
            left = info_left + side * (BUTTON_WIDTH + PAD)
            parts[f"button{side}"] = QRect(left, button_top, BUTTON_WIDTH, line + 2 * PAD)
        return parts

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        model = index.model()
        painter.save()
        if option.state & QStyle.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight().color().lighter(170))
        line = option.fontMetrics.height()
        parts = self.geometry(option.rect, line)
        sides = model.sides(index.row())
        excluded = [self.view.is_excluded(r) for r in sides]
        for side, row in enumerate(sides):
            self._paint_thumb(painter, parts[f"thumb{side}"], row, excluded[side])
            self._paint_caption(painter, parts[f"caption{side}"], option, row, side, excluded[side])
        self._paint_info(painter, parts["info"], option, model.pair(index.row()), line)
        for side, row in enumerate(sides):
            self._paint_button(painter, parts[f"button{side}"], option, row, side, excluded[side])
        painter.setPen(option.palette.mid().color())
        painter.drawLine(option.rect.bottomLeft(), option.rect.bottomRight())
        painter.restore()

    def _paint_thumb(self, painter: QPainter, rect: QRect, row: int, excluded: bool) -> None:
        painter.fillRect(rect, QColor("#202020"))
        pixmap = self.view.thumbnails.thumbnail(row)
        if pixmap is None:
            painter.setPen(QColor("#e0e0e0"))
            error = self.view.thumbnails.error(row)
            painter.drawText(rect.adjusted(4, 4, -4, -4), Qt.AlignCenter | Qt.TextWordWrap, error or "…")
            return
        target = QRect(0, 0, pixmap.width(), pixmap.height())
        target.moveCenter(rect.center())
        painter.setOpacity(0.3 if excluded else 1.0)
        painter.drawPixmap(target, pixmap)
        painter.setOpacity(1.0)
        if excluded:
            band = QRect(rect.left(), rect.center().y() - 10, rect.width(), 20)
            painter.fillRect(band, LEAK_COLOUR)
            painter.setPen(Qt.white)
            painter.drawText(band, Qt.AlignCenter, "EXCLUDED")

    def _paint_caption(self, painter: QPainter, rect: QRect, option, row: int, side: int, excluded: bool) -> None:
        rows = self.view.rows
        metrics, line = option.fontMetrics, option.fontMetrics.height()
        painter.setPen(option.palette.text().color())
        name = metrics.elidedText(f"{SIDES[side]} · {rows.sample_id(row)}", Qt.ElideMiddle, rect.width())
        painter.drawText(QRect(rect.left(), rect.top(), rect.width(), line), Qt.AlignLeft, name)
        split = rows.split(row) or "no split"
        if not rows.is_open(row):
            painter.setPen(LEAK_COLOUR)  # the side the open dataset does not show
        text = f"{split} · excluded" if excluded else split
        painter.drawText(QRect(rect.left(), rect.top() + line, rect.width(), line), Qt.AlignLeft, text)

    def _paint_info(self, painter: QPainter, rect: QRect, option, k: int, line: int) -> None:
        pairs = self.view.pairs.pairs
        x = rect.left()
        for text, colour in _badges(bool(pairs.exact[k]), bool(pairs.leak[k])):
            width = option.fontMetrics.horizontalAdvance(text) + 12
            badge = QRect(x, rect.top(), width, line + 4)
            painter.setPen(Qt.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(Qt.white)
            painter.drawText(badge, Qt.AlignCenter, text)
            x += width + PAD
        painter.setPen(option.palette.text().color())
        distance = f"cosine distance {pairs.distance[k]:.4f}"
        size = int(self.view.pairs.group_size[pairs.group[k]])
        group = f" · one of a group of {size}" if size > 2 else ""
        top = rect.top() + line + 10
        painter.drawText(QRect(rect.left(), top, rect.width(), line), Qt.AlignLeft, distance + group)
        sides = (int(pairs.a[k]), int(pairs.b[k]))
        labels = [self.view.label(row) for row in sides]
        for side, row in enumerate(sides):
            text = f"{SIDES[side]}: {self.view.rows.sample_id(row)} · {self.view.rows.split(row) or 'no split'}"
            text += f" · label {labels[side]}" if labels[side] else ""
            if side == 1 and labels[0] != labels[1]:
                painter.setPen(LEAK_COLOUR)  # the same picture with two labels: one of them is wrong
                text += " (labels differ)"
            place = QRect(rect.left(), top + (side + 1) * line, rect.width(), line)
            painter.drawText(place, Qt.AlignLeft, option.fontMetrics.elidedText(text, Qt.ElideMiddle, rect.width()))

    def _paint_button(self, painter: QPainter, rect: QRect, option, row: int, side: int, excluded: bool) -> None:
        button = QStyleOptionButton()
        button.rect = rect
        button.text = f"{'Include' if excluded else 'Exclude'} {SIDES[side]}"
        enabled = self.view.can_exclude(row)
        button.state = QStyle.State_Raised | (QStyle.State_Enabled if enabled else QStyle.State_None)
        button.palette = QPalette(option.palette)
        if not enabled:  # greyed as a disabled push button is
            button.palette.setCurrentColorGroup(QPalette.Disabled)
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.CE_PushButton, button, painter, widget)

    def helpEvent(self, event, view, option, index: QModelIndex) -> bool:
        """Over a button: what it does, or why it cannot; elsewhere: both sides' ids and splits."""
        parts = self.geometry(option.rect, option.fontMetrics.height())
        for side, row in enumerate(index.model().sides(index.row())):
            if parts[f"button{side}"].contains(event.pos()):
                QToolTip.showText(event.globalPos(), self.view.exclude_tip(row), view)
                return True
        return super().helpEvent(event, view, option, index)

    def editorEvent(self, event, model, option, index: QModelIndex) -> bool:
        if event.type() != QEvent.MouseButtonRelease or event.button() != Qt.LeftButton:
            return False
        parts = self.geometry(option.rect, option.fontMetrics.height())
        position = event.position().toPoint()
        for side in (0, 1):
            if parts[f"button{side}"].contains(position):
                self.exclude_clicked.emit(index.row(), side)
                return True
            if parts[f"thumb{side}"].contains(position):
                self.side_clicked.emit(index.row(), side)
                return True
        return False


def _pairs_text(count: int) -> str:
    return f"{count:,} pair" + ("" if count == 1 else "s")


def _badges(exact: bool, leak: bool) -> list[tuple[str, QColor]]:
    kind = ("exact", EXACT_COLOUR) if exact else ("near", NEAR_COLOUR)
    return [kind, ("LEAK across splits", LEAK_COLOUR)] if leak else [kind]


class DuplicatesView(QWidget):
    """Duplicate pairs and leaks of the analysis, a threshold slider, exclusion and "Show in browser"."""

    def __init__(self, model: AnalysisModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model, self.state = model, model.state
        self.rows: AnalysisRows | None = None
        self._excluded: np.ndarray | None = None
        self.thumbnails = RowThumbnails(THUMB, self)
        self.pairs = PairsModel(self)
        self.list = QListView()
        self.list.setModel(self.pairs)
        self.delegate = PairDelegate(self)
        self.list.setItemDelegate(self.delegate)
        self.list.setUniformItemSizes(True)
        self.list.setVerticalScrollMode(QListView.ScrollPerPixel)
        self.list.verticalScrollBar().setSingleStep(24)
        self.list.verticalScrollBar().valueChanged.connect(lambda _v: self.thumbnails.drop_pending())
        self.thumbnails.ready.connect(lambda _row: self.list.viewport().update())
        self.delegate.side_clicked.connect(self.open_side)
        self.delegate.exclude_clicked.connect(self.toggle_excluded)
        self._build_controls()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._controls)
        layout.addLayout(self._summary_row)
        layout.addWidget(self.list, 1)
        model.reset.connect(self.clear)
        model.found.connect(self._on_found)
        model.duplicates_changed.connect(self._show_pairs)
        model.cancelled.connect(self._on_stopped)
        model.failed.connect(lambda _text: self._on_stopped())
        self.state.labels_changed.connect(self._on_labels_changed)
        self.state.project_changed.connect(lambda _p: self._on_labels_changed(None))
        self.clear()

    def _build_controls(self) -> None:
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setValue(SLIDER_STEPS // 2)
        self.slider.setMinimumWidth(120)
        self.slider.setToolTip(
            "Near duplicates: pairs whose embeddings lie closer than this cosine distance.\n"
            "The middle is calibrated on the data (0.13 x the median distance to the nearest neighbour)."
        )
        self.slider.valueChanged.connect(self._on_slider)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self._apply_threshold)
        self.threshold_label = QLabel()
        self.threshold_label.setMinimumWidth(
            QLabel().fontMetrics().horizontalAdvance("≤ 0.00000 (calibrated) · 10,000 pairs")
        )
        self.reset_button = QPushButton("Reset to calibrated")
        self.reset_button.clicked.connect(self.reset_threshold)
        self.leaks_only = QCheckBox("Leaks only")
        self.leaks_only.setToolTip("Only the pairs whose two samples lie in different splits")
        self.leaks_only.toggled.connect(self._on_leaks_only)
        self.show_button = QPushButton("Show in browser")
        self.show_button.setToolTip("Select every sample of the shown pairs in the browser, pair by pair")
        self.show_button.clicked.connect(self.show_in_browser)
        self.summary = QLabel(wordWrap=True)
        self._controls = QHBoxLayout()
        self._controls.addWidget(QLabel("Near if closer than"))
        self._controls.addWidget(self.slider, 1)
        self._controls.addWidget(self.threshold_label)
        self._controls.addWidget(self.reset_button)
        self._summary_row = QHBoxLayout()
        self._summary_row.addWidget(self.summary, 1)
        self._summary_row.addWidget(self.leaks_only)
        self._summary_row.addWidget(self.show_button)

    # -- the analysis' news ---------------------------------------------------------------------------
    def clear(self) -> None:
        """A new analysis started (or none is shown): no pairs until its duplicates are found."""
        self._debounce.stop()
        self.rows = None
        self.thumbnails.set_rows(None)
        self.pairs.set_pairs(None, None)
        for widget in (self.slider, self.reset_button, self.leaks_only, self.show_button):
            widget.setEnabled(False)
        self.threshold_label.setText("")
        running = self.model.running
        self.summary.setText("Finding duplicates…" if running else "Analyse to find duplicates and leaks.")

    def _on_stopped(self) -> None:
        if self.pairs.pairs is None:
            self.summary.setText("Analyse to find duplicates and leaks.")

    def _on_found(self, stage: str) -> None:
        analysis = self.model.analysis
        if stage != "duplicates" or analysis is None or analysis.duplicates is None:
            return
        self.rows = AnalysisRows(self.state.dataset, analysis.input)
        self.thumbnails.set_rows(self.rows)
        self._on_labels_changed(None)
        for widget in (self.slider, self.reset_button, self.leaks_only, self.show_button):
            widget.setEnabled(True)
        self._set_slider(analysis.max_distance)
        self._show_pairs()

    def _show_pairs(self) -> None:
        analysis = self.model.analysis
        if analysis is None or analysis.duplicates is None or self.rows is None:
            return
        self.pairs.set_pairs(analysis.duplicates, self.rows)
        self._show_threshold(analysis.max_distance)
        self.summary.setText(self._summary_text())

    def _summary_text(self) -> str:
        pairs = self.pairs.pairs
        exact, leaks = int(pairs.exact.sum()), int(pairs.leak.sum())
        if not len(pairs):
            return "No duplicates at this threshold: move the slider right to find pairs further apart."
        text = f"<b>{_pairs_text(len(pairs))}</b>: {exact:,} exact, {len(pairs) - exact:,} near"
        text += (
            f", <b style='color:{LEAK_COLOUR.name()}'>{leaks:,} {'leak' if leaks == 1 else 'leaks'} across splits</b>"
            if leaks
            else ", no leaks"
        )
        splits = sorted(set(self.rows.input.splits.tolist()))
        if len(splits) < 2:
            text += f" (the analysis covers one split: {splits[0] or 'the dataset'})"
        if self.leaks_only.isChecked():
            text += f" · {len(self.pairs.shown):,} shown"
        return text

    def _on_labels_changed(self, _indices) -> None:
        self._excluded = excluded_marks(self.state)
        self.list.viewport().update()

    # -- the threshold -----------------------------------------------------------------------------------
    def _set_slider(self, distance: float) -> None:
        calibrated = self.model.analysis.calibrated_distance
        self.slider.blockSignals(True)
        self.slider.setValue(distance_slider(distance, calibrated))
        self.slider.blockSignals(False)
        self._show_threshold(distance)

    def _show_threshold(self, distance: float, pending: bool = False) -> None:
        analysis = self.model.analysis
        calibrated = analysis is not None and np.isclose(distance, analysis.calibrated_distance)
        text = f"≤ {distance:.4g}" + (" (calibrated)" if calibrated else "")
        count = len(self.pairs.pairs) if self.pairs.pairs is not None else 0
        self.threshold_label.setText(f"{text} · {'… pairs' if pending else _pairs_text(count)}")

    def _on_slider(self, value: int) -> None:
        analysis = self.model.analysis
        if analysis is None or analysis.calibrated_distance is None:
            return
        self._show_threshold(slider_distance(value, analysis.calibrated_distance), pending=True)
        self._debounce.start()  # the pairs are found again once the user stops dragging

    def _apply_threshold(self) -> None:
        analysis = self.model.analysis
        if analysis is not None and analysis.calibrated_distance is not None:
            self.model.set_max_distance(slider_distance(self.slider.value(), analysis.calibrated_distance))

    def reset_threshold(self) -> None:
        analysis = self.model.analysis
        if analysis is None or analysis.calibrated_distance is None:
            return
        self._debounce.stop()
        self._set_slider(analysis.calibrated_distance)
        self.model.set_max_distance(analysis.calibrated_distance)

    def _on_leaks_only(self, on: bool) -> None:
        self.pairs.set_leaks_only(on)
        if self.pairs.pairs is not None:
            self.summary.setText(self._summary_text())

    # -- what the user does with a pair -----------------------------------------------------------------
    def is_excluded(self, row: int) -> bool:
        index = self.rows.open_index(row) if self.rows is not None else -1
        return index >= 0 and self._excluded is not None and bool(self._excluded[index])

    def label(self, row: int) -> str:
        return label_of(self.state, self.rows, row)

    def exclude_tip(self, row: int) -> str:
        name = self.rows.sample_id(row)
        if not self.rows.is_open(row):
            return f"{name} is in the {self.rows.split(row)} split: open that split to exclude it"
        if not self.can_exclude(row):
            return "The project store is read-only: samples cannot be excluded"
        if self.is_excluded(row):
            return f"Count {name} in metrics and exports again (undo: Ctrl+Z)"
        return f"Leave {name} out of metrics and exports (undo: Ctrl+Z)"

    def can_exclude(self, row: int) -> bool:
        project = self.state.project
        return self.rows is not None and self.rows.is_open(row) and project is not None and not project.read_only

    def open_side(self, list_row: int, side: int) -> None:
        """Show that side's sample in the browser's sample view (only samples of the open split can be)."""
        row = self.pairs.sides(list_row)[side]
        index = self.rows.open_index(row)
        if index < 0:
            split = self.rows.split(row)
            self.state.message.emit(f"{self.rows.sample_id(row)} is in the {split} split: open it to see the sample")
            return
        self.state.select_sample(index)

    def toggle_excluded(self, list_row: int, side: int) -> bool:
        """Exclude that side's sample (or take the mark back): one undo step."""
        row = self.pairs.sides(list_row)[side]
        if not self.can_exclude(row):
            self.state.message.emit(f"{self.rows.sample_id(row)} is not in the open split: it cannot be excluded here")
            return False
        excluded = not self.is_excluded(row)
        what = f"{'exclude' if excluded else 'include again'} duplicate {self.rows.sample_id(row)}"
        return set_excluded(self.state, [self.rows.open_index(row)], excluded, what)

    def show_in_browser(self) -> None:
        """Select every sample of the shown pairs in the browser, in the list's order."""
        if self.rows is None:
            return
        indices = self.rows.open_indices(self.pairs.members())
        name = "leaks" if self.leaks_only.isChecked() else "duplicates"
        self.state.set_selection(Selection.of(f"{name} ({len(self.pairs.shown):,} pairs)", indices, ordered=True))

    def shutdown(self) -> None:
        self._debounce.stop()
        self.thumbnails.shutdown()
