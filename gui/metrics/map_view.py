"""The embedding map: every sample as a point of a 2-D layout, coloured by what the owner offers.

Hover a point to see its sample (thumbnail and a line of text from the owner's callbacks), click it to
open it (``sample_clicked``), draw a lasso or a box, or click a category in the legend, to select points
(``selection_made``); Escape or "Clear" clears (``selection_cleared``). ``highlight`` shows another
selection (the browser's) by dimming the other points.

Rows of the coordinates with a NaN are samples without a position (no embedding): never drawn, never
selected, counted in the status line. The geometry (lasso, box, nearest point) is core's
:mod:`core.analysis.selection_geometry`; the drawing is :class:`~gui.metrics.map_points.MapPointsItem`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.analysis.selection_geometry import PointIndex, points_in_box
from gui.metrics.map_colours import Colouring, point_colours
from gui.metrics.map_parts import HoverCard, MapLegend
from gui.metrics.map_points import DIM, NORMAL, SELECTED, MapPointsItem, MapViewBox

#: The pointer must rest this long (ms) before the card asks for a thumbnail: no decoding while sweeping.
HOVER_DELAY_MS = 60
#: A hover or click finds a point within this many pixels of the pointer.
PICK_RADIUS_PX = 6
#: The legend's starting width (pixels): names of a dozen characters and their counts.
LEGEND_WIDTH = 150
MODES = (
    ("pan", "Pan", "Drag to move the map; the wheel or a right drag zooms (in every mode; a middle drag pans)"),
    ("lasso", "Lasso", "Draw around points to select them (Shift or Ctrl: add to the selection)"),
    ("box", "Box", "Drag a rectangle to select the points in it (Shift or Ctrl: add to the selection)"),
)

#: Called on the GUI thread when the pointer rests on a point: return a cached thumbnail, or None and hand
#: it over later with ``set_thumbnail`` (decoding a large image here would stall the hover).
ThumbnailFn = Callable[[int], "QImage | QPixmap | None"]
DescribeFn = Callable[[int], str]


class MapView(QWidget):
    """A scatter of the samples' 2-D layout with colourings, hover cards, click, lasso, box and legend."""

    sample_clicked = Signal(int)
    selection_made = Signal(object)  # np.ndarray of sample indices, sorted (empty: the lasso caught none)
    selection_cleared = Signal()

    def __init__(
        self, thumbnail: ThumbnailFn | None = None, describe: DescribeFn | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.thumbnail, self.describe = thumbnail, describe
        self.coords = np.zeros((0, 2), np.float32)
        self.shown = np.zeros(0, bool)  # per sample: it has a position
        self.colourings: dict[str, Colouring] = {}
        self.selected = np.zeros(0, np.int64)
        self.highlighted: np.ndarray | None = None
        self._colour = np.zeros(0, np.int64)  # per sample, its row of the colour table
        self._table = np.zeros((1, 3), np.uint8)
        self._index = PointIndex(self.coords)
        self._orders: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # colouring -> drawing order, coordinates
        self._build()
        self._hover_at: QPointF | None = None
        self._hover_timer = QTimer(self, singleShot=True, interval=HOVER_DELAY_MS, timeout=self._hover)
        self.plot.scene().sigMouseMoved.connect(self._pointer_moved)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.plot.viewport().installEventFilter(self)
        QShortcut(QKeySequence(Qt.Key_Escape), self, self.clear_selection, context=Qt.WidgetWithChildrenShortcut)
        self._update_status()

    def _build(self) -> None:
        self.colour_combo = QComboBox(toolTip="What the colour of a point shows")
        self.colour_combo.currentTextChanged.connect(self.set_colouring)
        self._build_plot()
        self.legend = MapLegend()
        self.legend.categories.category_clicked.connect(self._category_clicked)
        splitter = QSplitter()
        splitter.addWidget(self.plot)
        splitter.addWidget(self.legend)
        splitter.setStretchFactor(0, 1)
        splitter.setCollapsible(0, False)
        splitter.setSizes([10_000, LEGEND_WIDTH])  # the map takes what the legend does not need
        self.status = QLabel()
        # the line never widens the pane (it would push a 600-pixel pane wider); its full text is in its tooltip
        self.status.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._toolbar())
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)

    def _build_plot(self) -> None:
        """The plot: the points, the ring around the hovered one, and the card over it."""
        self.view = MapViewBox()
        self.view.setAspectLocked(True)  # distances on the map mean the same across and up
        self.view.lasso_drawn.connect(lambda polygon, keys: self.select_polygon(polygon, add=_adding(keys)))
        self.view.box_drawn.connect(lambda corners, keys: self.select_box(*corners, add=_adding(keys)))
        self.plot = pg.PlotWidget(viewBox=self.view, background="w")
        self.plot.hideButtons()
        for side in ("left", "bottom"):
            self.plot.getPlotItem().hideAxis(side)  # the map's axes have no units worth reading
        self.points = MapPointsItem()
        self.view.addItem(self.points)
        self.hover_ring = pg.ScatterPlotItem(size=14, pen=pg.mkPen("k", width=2), brush=None)
        self.hover_ring.setZValue(10)
        self.view.addItem(self.hover_ring, ignoreBounds=True)
        self.card = HoverCard(self.plot)

    def _toolbar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Colour by:"))
        bar.addWidget(self.colour_combo, 1)
        group = QButtonGroup(self)  # one mode at a time
        self.mode_buttons: dict[str, QToolButton] = {}
        for mode, text, tip in MODES:
            button = QToolButton(text=text, toolTip=tip, checkable=True, autoRaise=True)
            button.setChecked(mode == "pan")
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            group.addButton(button)
            bar.addWidget(button)
            self.mode_buttons[mode] = button
        self.clear_button = QPushButton("Clear", toolTip="Clear the selection (Esc)")
        self.clear_button.clicked.connect(self.clear_selection)
        self.fit_button = QPushButton("Fit", toolTip="Show all the points")
        self.fit_button.clicked.connect(self.fit)
        bar.addWidget(self.clear_button)
        bar.addWidget(self.fit_button)
        return bar

    # -- what is shown -----------------------------------------------------------------
    def set_points(self, coords: np.ndarray, colourings: dict[str, Colouring]) -> None:
        """A new layout (N x 2; rows with a NaN are not drawn) and the colourings offered ("Colour by").

        A layout of the same samples (the final map after the PCA) keeps the selection and the highlight."""
        coords = np.asarray(coords, dtype=np.float32).reshape(-1, 2)
        for name, colouring in colourings.items():
            if len(colouring.values) != len(coords):
                raise ValueError(f"colouring {name!r} has {len(colouring.values)} values for {len(coords)} points")
        if len(coords) != len(self.coords):  # other samples: the selection and highlight meant others
            self.selected, self.highlighted = np.zeros(0, np.int64), None
        self.coords = coords
        self.shown = np.isfinite(coords).all(axis=1)
        self._orders = {}
        self.selected = self.selected[self.shown[self.selected]]
        self.colourings = dict(colourings)
        self._index = PointIndex(coords)
        self.card.dismiss()
        self.hover_ring.setData([], [])
        previous = self.colour_combo.currentText()
        self.colour_combo.blockSignals(True)
        self.colour_combo.clear()
        self.colour_combo.addItems(list(self.colourings))
        if previous in self.colourings:
            self.colour_combo.setCurrentText(previous)
        self.colour_combo.blockSignals(False)
        self.set_colouring(self.colour_combo.currentText())
        self._update_status()
        self.fit()

    def set_colouring(self, name: str) -> None:
        """Colour the points by the colouring of this name (a key of those given to set_points)."""
        if name in self.colourings and self.colour_combo.currentText() != name:
            self.colour_combo.setCurrentText(name)  # which comes back here through currentTextChanged
            return
        colouring = self.colourings.get(name)
        if colouring is None:
            self._table, self._colour = np.array([[31, 119, 180]], np.uint8), np.zeros(len(self.coords), np.int64)
        else:
            self._table, self._colour = point_colours(colouring)
            self.legend.set_colouring(name, colouring, self.shown)
        self.legend.setVisible(colouring is not None)
        self._redraw()

    def highlight(self, indices: np.ndarray | None) -> None:
        """Show these samples (the browser's selection) in full colour and dim the others; None: no dimming."""
        self.highlighted = None if indices is None else _valid(indices, len(self.coords))
        self._redraw()
        self._update_status()

    def fit(self) -> None:
        """Zoom to show every point."""
        if self.shown.any():
            self.view.autoRange(padding=0.05)

    def set_mode(self, mode: str) -> None:
        """ "pan", "lasso" or "box": what a left drag on the map does."""
        self.view.mode = mode
        self._update_status()
        self.mode_buttons[mode].setChecked(True)

    def looks(self) -> np.ndarray:
        """Per sample: DIM, NORMAL or SELECTED, as drawn (NaN rows included)."""
        look = np.full(len(self.coords), NORMAL, np.int8)
        if self.highlighted is not None:
            look[:] = DIM
            look[self.highlighted] = NORMAL
        look[self.selected] = SELECTED
        return look

    def point_colours(self) -> np.ndarray:
        """Per sample: its colour (N x 3 uint8) in the current colouring."""
        return self._table[self._colour]

    def _redraw(self) -> None:
        shown, xy = self._drawing_order()
        self.points.set_points(xy, self._colour[shown], self.looks()[shown], self._table)

    def _drawing_order(self) -> tuple[np.ndarray, np.ndarray]:
        """(the samples with a position, in the current colouring's drawing order; their coordinates),
        cached per colouring: the coordinates stay the same array, so the points item keeps its bounds."""
        name = self.colour_combo.currentText()
        if name not in self._orders:
            colouring = self.colourings.get(name)
            order = colouring.drawing_order() if colouring is not None else np.arange(len(self.coords))
            ids = order[self.shown[order]]
            self._orders[name] = (ids, np.ascontiguousarray(self.coords[ids]))
        return self._orders[name]

    # -- selecting -----------------------------------------------------------------------
    def select_polygon(self, polygon: np.ndarray, add: bool = False) -> np.ndarray:
        """Select the points inside ``polygon`` (M x 2, data coordinates); emits ``selection_made``."""
        return self.select(self._index.in_polygon(polygon), add=add)

    def select_box(self, corner_a, corner_b, add: bool = False) -> np.ndarray:
        """Select the points in the box with these opposite corners (data coordinates)."""
        return self.select(np.flatnonzero(points_in_box(self.coords, corner_a, corner_b)), add=add)

    def select(self, indices: np.ndarray, add: bool = False) -> np.ndarray:
        """Select these samples (those with a position), or add them to the selection; emits and returns it."""
        indices = _valid(indices, len(self.coords))
        indices = indices[self.shown[indices]]
        self.selected = np.union1d(self.selected, indices) if add else indices
        self._redraw()
        self._update_status()
        self.selection_made.emit(self.selected.copy())
        return self.selected

    def clear_selection(self) -> None:
        """No point selected any more; emits ``selection_cleared``."""
        if not len(self.selected):
            return
        self.selected = np.zeros(0, np.int64)
        self._redraw()
        self._update_status()
        self.selection_cleared.emit()

    def _category_clicked(self, code: int, add: bool) -> None:
        colouring = self.colourings[self.colour_combo.currentText()]
        members = colouring.values < 0 if code < 0 else colouring.values == code
        self.select(np.flatnonzero(members), add=add)

    def _update_status(self) -> None:
        parts = [f"{int(self.shown.sum()):,} points"]
        if not self.shown.all():
            parts.append(f"{int((~self.shown).sum()):,} without a position")
        if len(self.selected):
            parts.append(f"{len(self.selected):,} selected")
        if self.highlighted is not None:
            parts.append(f"{len(self.highlighted):,} highlighted")
        hint = {"pan": "drag: pan, wheel: zoom", "lasso": "draw around points", "box": "drag a box"}
        text = " · ".join(parts) + f" — {hint[self.view.mode]}; Esc clears"
        self.status.setText(text)
        self.status.setToolTip(text)

    # -- pointer -----------------------------------------------------------------------
    def point_at(self, scene_pos: QPointF) -> int | None:
        """The sample whose point is under a scene position (within PICK_RADIUS_PX pixels), if any."""
        data = self.view.mapSceneToView(scene_pos)
        pixel = self.view.viewPixelSize()
        return self._index.nearest(data.x(), data.y(), pixel, PICK_RADIUS_PX)

    def point_position(self, index: int) -> QPoint:
        """Where sample ``index``'s point is, in the coordinates of the plot's viewport (for tests)."""
        x, y = (float(v) for v in self.coords[index])
        return self.plot.mapFromScene(self.view.mapViewToScene(QPointF(x, y)))

    def _pointer_moved(self, scene_pos: QPointF) -> None:
        self._hover_at = scene_pos
        self._hover_timer.start()

    def _hover(self) -> None:
        # during a lasso or a pan the card would be in the way
        index = None if self._hover_at is None or self.view.dragging else self.point_at(self._hover_at)
        if index is None:
            self.card.dismiss()
            self.hover_ring.setData([], [])
            return
        self.hover_ring.setData([float(self.coords[index, 0])], [float(self.coords[index, 1])])
        if index != self.card.index:
            image, text = self._sample_card(index)
            self.card.show_sample(index, image, text, self.plot.mapFromScene(self._hover_at))

    def _sample_card(self, index: int) -> tuple[QImage | QPixmap | None, str]:
        """The owner's thumbnail and line for a sample; a callback that fails (a broken image file) says so
        on the card instead of breaking the hover."""
        try:
            text = self.describe(index) if self.describe else f"sample {index}"
        except Exception as error:  # the owner's code on a sample: any failure is that sample's
            text = f"sample {index} (no description: {error})"
        try:
            return (self.thumbnail(index) if self.thumbnail else None), text
        except Exception as error:
            return None, f"{text}\nno thumbnail: {error}"

    def set_thumbnail(self, index: int, image: QImage | QPixmap | None) -> None:
        """A thumbnail that ``thumbnail(index)`` could not give at once (it returned None and started
        loading it): shown if the card is still on that sample."""
        self.card.set_image(index, image)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.plot.viewport() and event.type() == QEvent.Leave:
            self._pointer_left()
        return super().eventFilter(watched, event)

    def _pointer_left(self) -> None:
        """The pointer left the map (for the legend, the toolbar or another pane): no card stays behind."""
        self._hover_timer.stop()
        self._hover_at = None
        self.card.dismiss()
        self.hover_ring.setData([], [])

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton or event.double():
            return
        index = self.point_at(event.scenePos())
        if index is not None:
            self.sample_clicked.emit(index)


def _adding(modifiers) -> bool:
    """Shift or Ctrl held: the new points join the selection instead of replacing it."""
    return bool(modifiers & (Qt.ShiftModifier | Qt.ControlModifier))


def _valid(indices, count: int) -> np.ndarray:
    """Sorted unique int64 indices within [0, count)."""
    indices = np.asarray(indices, dtype=np.int64).ravel()
    if len(indices) > 1 and not (np.diff(indices) > 0).all():  # a selection from the geometry is sorted already
        indices = np.unique(indices)
    return indices[(indices >= 0) & (indices < count)]
