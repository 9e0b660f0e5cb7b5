"""The embedding map widget (gui.metrics.map_view): colourings, hover, click, lasso, box, highlight."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.path import Path
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPixmap
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gui.metrics.map_colours import MISSING_COLOUR, TABLEAU_10, Colouring, ramp
from gui.metrics.map_parts import fit_thumbnail
from gui.metrics.map_points import DIM, NORMAL, SELECTED
from gui.metrics.map_view import MapView
from tests.gui.helpers import qimage_array

#: Three clusters far apart (points 0-29 around (0, 0), 30-59 around (10, 0), 60-89 around (5, 8)), then two
#: samples without a position.
CENTRES = np.array([(0, 0), (10, 0), (5, 8)], float)


def three_clusters(seed: int = 0) -> tuple[np.ndarray, dict[str, Colouring]]:
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(3), 30)
    coords = np.concatenate([CENTRES[cluster] + rng.uniform(-1, 1, (90, 2)), np.full((2, 2), np.nan)])
    truth = np.r_[cluster, 0, 1]
    right = np.r_[(rng.random(90) < 0.8).astype(int), 1, 0]
    confidence = np.r_[np.linspace(0, 1, 90), np.nan, 0.5]
    colourings = {
        "True class": Colouring.categorical(truth, ["cat", "dog", "fox"]),
        "Right / wrong": Colouring.categorical(right, ["wrong", "right"], [(214, 39, 40), (44, 160, 44)]),
        "Confidence": Colouring.continuous(confidence, (0.0, 1.0)),
    }
    return coords.astype(np.float32), colourings


@pytest.fixture
def view(qtbot) -> MapView:
    widget = MapView(thumbnail=None, describe=lambda i: f"sample {i}")
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.show()
    qtbot.waitExposed(widget)
    coords, colourings = three_clusters()
    widget.set_points(coords, colourings)
    return widget


def send_mouse(widget, kind, pos: QPointF, button=Qt.NoButton, buttons=Qt.NoButton, keys=Qt.NoModifier) -> None:
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(QPointF(pos))), button, buttons, keys)
    QApplication.sendEvent(widget, event)


def drag_through(widget, points: list[QPointF], keys=Qt.NoModifier) -> None:
    """A left-button drag through ``points`` (QTest's mouseMove does not hold the button in Qt 6), at the
    pace of a hand: pyqtgraph drops moves that come faster than its mouseRateLimit (100 a second)."""
    send_mouse(widget, QEvent.MouseButtonPress, points[0], Qt.LeftButton, Qt.LeftButton, keys)
    for point in points[1:]:
        QTest.qWait(12)
        send_mouse(widget, QEvent.MouseMove, point, Qt.NoButton, Qt.LeftButton, keys)
    send_mouse(widget, QEvent.MouseButtonRelease, points[-1], Qt.LeftButton, Qt.NoButton, keys)


def pixel_at(view: MapView, index: int) -> tuple[int, int, int]:
    """The colour drawn at the centre of sample ``index``'s dot."""
    image = qimage_array(view.plot.viewport().grab())
    pos = view.point_position(index)
    return tuple(int(v) for v in image[pos.y(), pos.x()])


def lone_point_view(qtbot, colourings) -> MapView:
    """A map of three points far apart, so that each dot's pixels are its own."""
    widget = MapView()
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_points(np.array([(0, 0), (10, 0), (5, 8)], np.float32), colourings)
    return widget


# -- colourings ---------------------------------------------------------------------------
def test_colour_by_switches_every_points_colour(view):
    colourings = three_clusters()[1]
    assert view.colour_combo.count() == 3 and view.colour_combo.currentText() == "True class"
    truth = colourings["True class"].values
    assert (view.point_colours() == TABLEAU_10[truth]).all()
    view.colour_combo.setCurrentText("Right / wrong")
    right = colourings["Right / wrong"].values
    expected = np.array([(214, 39, 40), (44, 160, 44)], np.uint8)[right]
    assert (view.point_colours() == expected).all()
    view.set_colouring("Confidence")
    colours = view.point_colours()
    assert (colours[0] == ramp()[0]).all() and (colours[89] == ramp()[-1]).all()
    assert (colours[90] == MISSING_COLOUR).all()  # no value: grey
    assert view.legend.currentWidget() is view.legend.bar
    column = qimage_array(view.legend.bar.grab())[:, 10].astype(int)  # through the ramp, top to bottom
    distance = np.abs(column[:, None] - ramp()[None].astype(int)).sum(axis=2)  # to each step of the ramp
    on_ramp = np.flatnonzero(distance.min(axis=1) < 12)
    steps = distance[on_ramp].argmin(axis=1)
    assert len(on_ramp) > 50 and steps[0] > 55 and steps[-1] < 8  # the high values on top


def test_the_drawn_dots_take_the_colouring(qtbot):
    colourings = {
        "class": Colouring.categorical([0, 1, 2], ["a", "b", "c"]),
        "score": Colouring.continuous([0.0, 1.0, np.nan], (0.0, 1.0)),
    }
    widget = lone_point_view(qtbot, colourings)
    assert pixel_at(widget, 0) == tuple(TABLEAU_10[0]) and pixel_at(widget, 1) == tuple(TABLEAU_10[1])
    widget.set_colouring("score")
    assert pixel_at(widget, 0) == tuple(ramp()[0]) and pixel_at(widget, 1) == tuple(ramp()[-1])
    assert pixel_at(widget, 2) == MISSING_COLOUR


def test_the_points_that_matter_are_drawn_over_the_others(qtbot):
    """Two samples at the same place: the one of an ``on_top`` category, or nearest the ``on_top`` end of a
    number, is the one seen, whatever the order of the samples."""
    widget = lone_point_view(qtbot, {})
    coords = np.array([(0, 0), (0, 0), (10, 0), (5, 8)], np.float32)
    red, green = (214, 39, 40), (44, 160, 44)
    widget.set_points(
        coords,
        {
            "plain": Colouring.categorical([1, 0, 0, 0], ["right", "wrong"], [green, red]),
            "wrong on top": Colouring.categorical([1, 0, 0, 0], ["right", "wrong"], [green, red], on_top=["wrong"]),
            "low on top": Colouring.continuous([0.0, 1.0, 0.5, 0.5], (0.0, 1.0), on_top="low"),
            "high on top": Colouring.continuous([0.0, 1.0, 0.5, 0.5], (0.0, 1.0), on_top="high"),
        },
    )
    widget.set_colouring("plain")
    assert pixel_at(widget, 0) == green  # the later sample
    widget.set_colouring("wrong on top")
    assert pixel_at(widget, 0) == red
    widget.set_colouring("low on top")
    assert pixel_at(widget, 0) == tuple(ramp()[0])
    widget.set_colouring("high on top")
    assert pixel_at(widget, 0) == tuple(ramp()[-1])
    with pytest.raises(ValueError, match="on_top"):
        Colouring.continuous([1.0], on_top="middle")


def test_the_legend_counts_categories_and_a_click_selects_one(view, qtbot):
    legend = view.legend.categories
    rows = [legend.item(r).text() for r in range(legend.count())]
    assert rows == ["cat (30)", "dog (30)", "fox (30)"]  # the samples without a position are not counted
    with qtbot.waitSignal(view.selection_made) as signal:
        qtbot.mouseClick(legend.viewport(), Qt.LeftButton, pos=legend.visualItemRect(legend.item(1)).center())
    assert signal.args[0].tolist() == list(range(30, 60))
    assert not legend.selectedItems()  # the map shows the selection; no row stays marked after Esc
    with qtbot.waitSignal(view.selection_made) as signal:
        rect = legend.visualItemRect(legend.item(2))
        qtbot.mouseClick(legend.viewport(), Qt.LeftButton, Qt.ControlModifier, rect.center())
    assert signal.args[0].tolist() == list(range(30, 90))
    view.set_colouring("Right / wrong")
    assert legend.item(0).text().startswith("wrong (")


def test_a_colouring_of_the_wrong_length_is_refused(view):
    with pytest.raises(ValueError, match="3 values for 92 points"):
        view.set_points(np.zeros((92, 2)), {"bad": Colouring.categorical([0, 1, 0], ["a", "b"])})


# -- selecting ------------------------------------------------------------------------------
def test_a_lasso_selects_exactly_the_points_inside(view, qtbot):
    rng = np.random.default_rng(3)
    coords = np.concatenate([rng.uniform(-2, 12, (3000, 2)), [(np.nan, 5.0), (5.0, np.nan)]]).astype(np.float32)
    view.set_points(coords, {})
    concave = np.array([(0, 0), (10, 0), (10, 10), (7, 10), (7, 3), (3, 3), (3, 10), (0, 10)], float)
    with qtbot.waitSignal(view.selection_made) as signal:
        view.select_polygon(concave)
    expected = np.flatnonzero(Path(concave).contains_points(np.nan_to_num(coords, nan=-99)))
    assert signal.args[0].tolist() == expected.tolist()
    assert 1000 < len(expected) < 3000
    looks = view.looks()
    assert (looks[expected] == SELECTED).all() and (np.delete(looks, expected) == NORMAL).all()


def test_a_lasso_drawn_with_the_mouse_selects_the_cluster_it_surrounds(view, qtbot):
    view.mode_buttons["lasso"].click()
    assert view.view.mode == "lasso" and not view.mode_buttons["pan"].isChecked()
    to_screen = view.plot.mapFromScene
    centre = to_screen(view.view.mapViewToScene(QPointF(*CENTRES[1])))  # the cluster of points 30-59
    radius = (to_screen(view.view.mapViewToScene(QPointF(*CENTRES[0]))) - centre).manhattanLength() * 0.15
    circle = [QPointF(centre) + QPointF(np.cos(a) * radius, np.sin(a) * radius) for a in np.linspace(0, 2 * np.pi, 40)]
    drawn = []
    view.view.lasso_drawn.connect(lambda polygon, keys: drawn.append(polygon))
    with qtbot.waitSignal(view.selection_made) as signal:
        drag_through(view.plot.viewport(), circle)
    assert signal.args[0].tolist() == list(range(30, 60))
    assert len(drawn) == 1 and len(drawn[0]) > 30  # the lasso's outline, in data coordinates
    assert np.allclose(np.hypot(*(drawn[0] - CENTRES[1]).T), 1.5, atol=0.1)  # 1.5 data units around the centre
    assert not view.view.outline.isVisible()


def test_shift_adds_a_box_to_the_selection_and_escape_clears(view, qtbot):
    view.set_mode("box")

    def box_around(centre: np.ndarray) -> list[QPointF]:
        """Screen points from 1.5 data units below left of a cluster's centre to as much above right."""
        corners = [centre - 1.5, centre, centre + 1.5]
        return [QPointF(view.plot.mapFromScene(view.view.mapViewToScene(QPointF(*c)))) for c in corners]

    with qtbot.waitSignal(view.selection_made) as signal:
        drag_through(view.plot.viewport(), box_around(CENTRES[0]))
    assert signal.args[0].tolist() == list(range(30))
    with qtbot.waitSignal(view.selection_made) as signal:
        drag_through(view.plot.viewport(), box_around(CENTRES[2]), keys=Qt.ShiftModifier)
    assert signal.args[0].tolist() == [*range(30), *range(60, 90)]
    assert "60 selected" in view.status.text()
    with qtbot.waitSignal(view.selection_cleared):
        qtbot.keyClick(view.plot.viewport(), Qt.Key_Escape)
    assert len(view.selected) == 0 and (view.looks()[:90] == NORMAL).all()


def test_a_drag_in_pan_mode_moves_the_map_and_selects_nothing(view, qtbot):
    before = view.view.viewRange()
    emitted = []
    view.selection_made.connect(emitted.append)
    start = QPointF(view.point_position(0))
    drag_through(view.plot.viewport(), [start, start + QPointF(30, 0), start + QPointF(60, 0)])
    assert view.view.viewRange()[0] != before[0] and not emitted


def test_samples_without_a_position_are_never_drawn_or_selected(view):
    view.set_colouring("True class")
    assert view.select_box((-100, -100), (100, 100)).tolist() == list(range(90))
    assert view.select(np.array([0, 90, 91])).tolist() == [0]  # asked for by index: still not on the map
    assert len(view.points._xy) == 90
    assert "2 without a position" in view.status.text()


# -- pointer ----------------------------------------------------------------------------------
def test_a_click_on_a_point_opens_that_sample(view, qtbot):
    target = view.point_position(65)
    nearest = view.point_at(view.plot.mapToScene(target))
    with qtbot.waitSignal(view.sample_clicked) as signal:
        qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, pos=target)
    assert signal.args == [nearest]
    clicked = []
    view.sample_clicked.connect(clicked.append)
    empty = view.plot.mapFromScene(view.view.mapViewToScene(QPointF(5, -6)))  # far from every cluster
    qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, pos=empty)
    assert clicked == []


def test_hover_shows_the_samples_thumbnail_and_description(view, qtbot):
    asked = []

    def thumbnail(index: int) -> QImage:
        asked.append(index)
        image = QImage(40, 30, QImage.Format_RGB32)
        image.fill(QColor("red"))
        return image

    view.thumbnail = thumbnail
    coords = view.coords.copy()
    coords[7] = (-20, -20)  # alone, so that the pointer over it finds exactly it
    view.set_points(coords, view.colourings)
    send_mouse(view.plot.viewport(), QEvent.MouseMove, QPointF(view.point_position(7)))
    qtbot.waitUntil(lambda: view.card.isVisible(), timeout=2000)
    assert asked == [7]
    assert view.card.text.text() == "sample 7" and not view.card.image.pixmap().isNull()
    assert view.plot.rect().contains(view.card.geometry())  # inside the map, even at its corner
    away = view.plot.mapFromScene(view.view.mapViewToScene(QPointF(5, -6)))
    send_mouse(view.plot.viewport(), QEvent.MouseMove, QPointF(away))
    qtbot.waitUntil(lambda: not view.card.isVisible(), timeout=2000)
    send_mouse(view.plot.viewport(), QEvent.MouseMove, QPointF(view.point_position(7)))
    qtbot.waitUntil(lambda: view.card.isVisible(), timeout=2000)
    QApplication.sendEvent(view.plot.viewport(), QEvent(QEvent.Leave))  # off to the legend or the status line
    assert not view.card.isVisible()


def test_no_card_while_a_button_is_held(view, qtbot):
    asked = []
    view.thumbnail = lambda index: asked.append(index)
    view.set_mode("lasso")
    viewport, start = view.plot.viewport(), QPointF(view.point_position(3))
    send_mouse(viewport, QEvent.MouseButtonPress, start + QPointF(30, 0), Qt.LeftButton, Qt.LeftButton)
    send_mouse(viewport, QEvent.MouseMove, start, Qt.NoButton, Qt.LeftButton)
    QTest.qWait(300)  # resting on a point, past the hover delay, while drawing
    assert asked == [] and not view.card.isVisible()
    send_mouse(viewport, QEvent.MouseButtonRelease, start, Qt.LeftButton, Qt.NoButton)


def test_small_thumbnails_are_enlarged_sharp_and_large_ones_shrunk():
    small = QImage(28, 28, QImage.Format_RGB32)
    small.fill(QColor("black"))
    small.setPixel(0, 0, QColor("white").rgb())
    enlarged = fit_thumbnail(QPixmap.fromImage(small))
    assert enlarged.width() == 112  # 4 x 28: the largest whole factor within 128
    pixels = qimage_array(enlarged)
    assert (pixels[:4, :4] == 255).all() and (pixels[4:, 4:] == 0).all()  # one pixel became a sharp 4 x 4 block
    large = QPixmap(640, 480)
    assert fit_thumbnail(large).size().toTuple() == (128, 96)


def test_a_thumbnail_can_arrive_later_and_a_failing_one_is_said(view, qtbot):
    view.thumbnail = lambda index: None  # loading in the background
    send_mouse(view.plot.viewport(), QEvent.MouseMove, QPointF(view.point_position(0)))
    qtbot.waitUntil(lambda: view.card.isVisible(), timeout=2000)
    shown = view.card.index
    assert not view.card.image.isVisible()
    late = QImage(50, 50, QImage.Format_RGB32)
    late.fill(QColor("blue"))
    view.set_thumbnail(shown + 1, late)  # another sample's: not this card's
    assert not view.card.image.isVisible()
    view.set_thumbnail(shown, late)
    assert view.card.image.isVisible() and view.card.image.pixmap().width() == 100  # enlarged 2x, sharp

    def broken(index: int):
        raise OSError("cannot identify image file 'bad.png'")

    view.thumbnail = broken
    send_mouse(view.plot.viewport(), QEvent.MouseMove, QPointF(view.point_position(60)))
    qtbot.waitUntil(lambda: view.card.index not in (None, shown), timeout=2000)
    assert "no thumbnail: cannot identify image file 'bad.png'" in view.card.text.text()
    assert not view.card.image.isVisible()


def test_hover_waits_for_the_pointer_to_rest(view, qtbot):
    asked = []
    view.thumbnail = lambda index: asked.append(index)
    for k in range(30):  # a sweep across the first cluster, faster than the hover delay
        send_mouse(view.plot.viewport(), QEvent.MouseMove, QPointF(view.point_position(k)))
    qtbot.wait(300)
    assert len(asked) == 1


# -- highlight --------------------------------------------------------------------------------
def test_highlight_dims_the_other_points(qtbot):
    colourings = {"class": Colouring.categorical([0, 0, 0], ["a"])}
    widget = lone_point_view(qtbot, colourings)
    bright = pixel_at(widget, 1)
    widget.highlight(np.array([0]))
    assert widget.looks().tolist() == [NORMAL, DIM, DIM]
    assert pixel_at(widget, 0) == bright
    dimmed = pixel_at(widget, 1)
    assert sum(dimmed) > sum(bright) + 200  # faded toward white
    assert "1 highlighted" in widget.status.text()
    widget.highlight(None)
    assert pixel_at(widget, 1) == bright and (widget.looks() == NORMAL).all()


def test_a_new_layout_of_the_same_samples_keeps_the_selection(view):
    view.select(np.arange(10))
    view.highlight(np.arange(5))
    coords, colourings = three_clusters(seed=1)
    view.set_points(coords, colourings)  # the final map after the PCA
    assert view.selected.tolist() == list(range(10)) and view.highlighted.tolist() == list(range(5))
    view.set_points(coords[:50], {})  # other samples
    assert len(view.selected) == 0 and view.highlighted is None


def test_an_empty_map(qtbot):
    widget = MapView()
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.show()
    widget.set_points(np.zeros((0, 2), np.float32), {})
    widget.plot.grab()
    assert widget.select_polygon(np.array([(0, 0), (1, 0), (0, 1)])).tolist() == []
    assert widget.point_at(QPointF(10, 10)) is None
    assert widget.colour_combo.count() == 0 and "0 points" in widget.status.text()
    widget.set_points(np.full((3, 2), np.nan, np.float32), {})  # nothing with a position
    widget.plot.grab()
    assert "3 without a position" in widget.status.text()


def test_a_panned_map_looks_as_if_drawn_afresh(qtbot):
    """Pans scroll a cached picture and paint only the strips they expose: after many, the map must show
    what a fresh paint of the same view shows, with nothing missing or doubled at the strips' edges."""
    rng = np.random.default_rng(5)
    coords = rng.normal(0, 3, (20_000, 2)).astype(np.float32)
    colourings = {"class": Colouring.categorical(rng.integers(0, 5, 20_000), list("abcde"))}
    panned = lone_point_view(qtbot, {})
    panned.set_points(coords, colourings)
    panned.view.scaleBy((0.3, 0.3))
    panned.plot.grab()
    painted = []
    original = panned.points._on_screen
    panned.points._on_screen = lambda t, areas: painted.append(len(original(t, areas)[2])) or original(t, areas)
    for step in range(12):
        panned.view.translateBy(x=0.37 * (-1) ** (step // 6), y=0.21)
        panned.plot.grab()
    fresh = lone_point_view(qtbot, {})
    fresh.set_points(coords, colourings)
    fresh.view.setRange(rect=panned.view.viewRect(), padding=0)
    assert np.allclose(fresh.view.viewRange(), panned.view.viewRange())
    a, b = (qimage_array(v.plot.grab()).astype(int) for v in (panned, fresh))
    # The cache moves by whole pixels and a strip is drawn where its points are, so a dot may sit a pixel
    # off and jog by one at a strip's edge: a pixel matches when one of its fresh neighbours has its colour.
    # A strip left out or drawn twice would leave whole blocks unmatched.
    b = np.pad(b, ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = a.shape[:2]
    shifted = [b[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    unmatched = np.min([np.abs(a - s).sum(axis=2) for s in shifted], axis=0) > 60
    h, w = (h // 8) * 8, (w // 8) * 8
    per_block = unmatched[:h, :w].reshape(h // 8, 8, w // 8, 8).mean(axis=(1, 3))
    assert unmatched.mean() < 0.08 and per_block.max() < 0.5
    full = len(fresh.points._xy)
    assert painted and max(painted) < full / 4  # strips, not the whole map
