"""Lasso, box and nearest-point picks on a 2-D map (core.analysis.selection_geometry)."""

import numpy as np
import pytest
from matplotlib.path import Path

from core.analysis import selection_geometry
from core.analysis.selection_geometry import PointIndex, points_in_box, points_in_polygon

#: A concave "U": a 3 x 3 square with the notch x in (1, 2), y in (1, 3) cut out of its top.
U_SHAPE = np.array([(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)], float)


def test_points_inside_and_outside_a_concave_polygon():
    points = np.array(
        [
            (0.5, 0.5),  # bottom bar
            (0.5, 2.5),  # left arm
            (2.5, 2.5),  # right arm
            (1.5, 0.5),  # under the notch
            (1.5, 2.0),  # in the notch: outside
            (1.5, 2.9),  # in the notch near its open top: outside
            (3.5, 1.0),  # right of everything
            (-0.1, 1.5),  # left of everything
            (1.5, -0.5),  # below
        ]
    )
    assert points_in_polygon(points, U_SHAPE).tolist() == [True] * 4 + [False] * 5


def test_points_on_edges_and_vertices_count_as_inside():
    on_outline = np.array([(0, 1.5), (3, 2), (1.5, 0), (1.5, 1), (1, 2), (2, 2.5), (0.5, 3), (0, 0), (2, 1), (1, 3)])
    assert points_in_polygon(on_outline, U_SHAPE).all()
    slanted = np.array([(0, 0), (4, 1), (1, 4)], float)
    on_slant = np.array([(2, 0.5), (2.5, 2.5), (0.5, 2)])  # on each of the three sides
    assert points_in_polygon(on_slant, slanted).all()
    assert not points_in_polygon(np.array([(2, 0.5 - 1e-6), (2.5 + 1e-6, 2.5)]), slanted).any()


def test_a_ray_through_a_vertex_counts_one_crossing():
    """A point level with a vertex (the ray passes through it) is counted once, not twice."""
    diamond = np.array([(0, -1), (1, 0), (0, 1), (-1, 0)], float)
    points = np.array([(0, 0), (-0.5, 0), (-2, 0), (2, 0), (0, 0.5), (0, 1.5)])
    assert points_in_polygon(points, diamond).tolist() == [True, True, False, False, True, False]
    # the spike of a concave polygon touching the ray's height from below and above
    zigzag = np.array([(0, 0), (4, 0), (4, 2), (3, 1), (2, 2), (1, 1), (0, 2)], float)
    assert points_in_polygon(np.array([(0.5, 1), (2, 1), (3.5, 1), (5, 1), (2, 1.9)]), zigzag).tolist() == [
        True,
        True,
        True,
        False,
        True,
    ]


def test_the_lasso_agrees_with_matplotlib_on_random_concave_polygons():
    rng = np.random.default_rng(0)
    for _ in range(20):
        angles = np.sort(rng.uniform(0, 2 * np.pi, 40))
        radii = rng.uniform(0.2, 1.0, 40)  # a star-shaped, very concave outline
        polygon = np.c_[np.cos(angles) * radii, np.sin(angles) * radii]
        points = rng.uniform(-1.1, 1.1, (5000, 2))
        ours = points_in_polygon(points, polygon)
        theirs = Path(polygon).contains_points(points)
        assert (ours == theirs).all()  # random points are never exactly on an edge, where the rules may differ
        assert 0 < ours.sum() < len(points)


def test_the_index_answers_lassos_as_the_function_does():
    rng = np.random.default_rng(4)
    points = rng.normal(0, 1, (20_000, 2))
    points[rng.random(20_000) < 0.01] = np.nan
    points[:50] = U_SHAPE[rng.integers(0, len(U_SHAPE), 50)] * 0.5  # on the outline's vertices, scaled below
    index = PointIndex(points)
    for polygon in (U_SHAPE * 0.5, U_SHAPE[::-1] - 1.0, np.array([(0, 0), (2, 2), (2, 0), (0, 2)], float)):
        assert index.in_polygon(polygon).tolist() == np.flatnonzero(points_in_polygon(points, polygon)).tolist()
    assert index.in_polygon(U_SHAPE[:2]).tolist() == []
    assert PointIndex(np.zeros((0, 2))).in_polygon(U_SHAPE).tolist() == []


def test_a_self_crossing_lasso_follows_the_even_odd_rule():
    bow_tie = np.array([(0, 0), (2, 2), (2, 0), (0, 2)], float)  # two triangles meeting at (1, 1)
    points = np.array([(0.2, 1), (1.8, 1), (1, 0.2), (1, 1.8)])
    assert points_in_polygon(points, bow_tie).tolist() == [True, True, False, False]


def test_nan_points_are_never_selected_and_degenerate_lassos_select_nothing():
    points = np.array([(0.5, 0.5), (np.nan, 0.5), (0.5, np.nan), (1.5, 1.5)])
    square = np.array([(0, 0), (2, 0), (2, 2), (0, 2)], float)
    assert points_in_polygon(points, square).tolist() == [True, False, False, True]
    assert not points_in_polygon(points, square[:2]).any()  # a line encloses nothing
    assert not points_in_polygon(points, np.zeros((0, 2))).any()
    assert points_in_polygon(np.zeros((0, 2)), square).shape == (0,)
    # a closing repeat of the first vertex, repeated vertices and a NaN vertex change nothing
    messy = np.array([(0, 0), (0, 0), (2, 0), (np.nan, 1), (2, 2), (0, 2), (0, 0)], float)
    assert points_in_polygon(points, messy).tolist() == [True, False, False, True]


def test_box_selection_includes_its_edges_and_takes_corners_in_any_order():
    points = np.array([(0, 0), (1, 1), (2, 2), (3, 3), (np.nan, 1)])
    assert points_in_box(points, (2, 2), (1, 0)).tolist() == [False, True, True, False, False]


@pytest.mark.parametrize("chunk", [selection_geometry.PAIRS_PER_CHUNK, 5_000])
def test_a_lasso_over_100k_points_with_many_vertices(chunk, monkeypatch):
    """212,000 (point, edge) pairs in one step, or in 43 (the time is benchmarks/bench_map_view.py's)."""
    monkeypatch.setattr(selection_geometry, "PAIRS_PER_CHUNK", chunk)
    rng = np.random.default_rng(1)
    points = rng.normal(0, 1, (100_000, 2))
    angles = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    radii = 1 + 0.3 * np.sin(7 * angles)
    lasso = np.c_[np.cos(angles) * radii, np.sin(angles) * radii]
    inside = points_in_polygon(points, lasso)
    assert (inside == Path(lasso).contains_points(points)).all()
    assert (PointIndex(points).in_polygon(lasso) == np.flatnonzero(inside)).all()


def test_nearest_point_within_a_radius_in_pixels():
    points = np.array([(0, 0), (10, 0), (np.nan, np.nan), (10, 5)], float)
    index = PointIndex(points)
    assert index.nearest(9, 0.1, pixel=(1, 1), radius_px=3) == 1
    assert index.nearest(5, 0, pixel=(1, 1), radius_px=3) is None
    # (10, 5) is 3 data units right of (7, 5): 3 pixels when a pixel is one unit, 6 when it is half a unit
    assert index.nearest(7, 5, pixel=(1, 1), radius_px=3) == 3
    assert index.nearest(7, 5, pixel=(0.5, 1), radius_px=3) is None
    assert index.nearest(7, 5, pixel=(0.5, 2), radius_px=3) is None  # y's scale does not help along x
    assert index.nearest(10, 2, pixel=(1, 2), radius_px=3) == 1  # 1.0 pixel from (10, 0), 1.5 from (10, 5)
    assert index.nearest(np.nan, 0, pixel=(1, 1), radius_px=3) is None
    assert PointIndex(np.zeros((0, 2))).nearest(0, 0, pixel=(1, 1), radius_px=3) is None


@pytest.mark.parametrize("n", [100_000])
def test_nearest_point_agrees_with_a_linear_scan(n):
    rng = np.random.default_rng(2)
    points = rng.normal(0, 1, (n, 2))
    index = PointIndex(points)
    for x, y in rng.normal(0, 1, (50, 2)):
        found = index.nearest(x, y, pixel=(0.01, 0.01), radius_px=5)
        distance = np.hypot(points[:, 0] - x, points[:, 1] - y) / 0.01
        expected = int(np.argmin(distance)) if distance.min() <= 5 else None
        assert found == expected
