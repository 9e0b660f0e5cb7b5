"""What the points of the embedding map are coloured by: categories (true class, right/wrong, split...)
or a number (confidence, label-issue score), and the few colours that makes.

A :class:`Colouring` turns into a small table of colours and one index per point into it
(:func:`point_colours`): a number is cut into RAMP_LEVELS steps of a perceptual ramp, so that however many
points there are, the map draws a few hundred distinct symbols at most (they are rendered once and stamped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.masks.overlays import distinct_palette

#: Steps of the colour ramp of a continuous colouring (finer than the eye tells apart on a 5-pixel dot).
RAMP_LEVELS = 64
#: Points without a value (category < 0, NaN number): a light grey that stays visible on white.
MISSING_COLOUR = (190, 190, 190)
#: Tableau's 10 colours (matplotlib's default cycle): tell apart on white, and familiar.
TABLEAU_10 = np.array(
    [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ],
    dtype=np.uint8,
)
#: matplotlib's viridis at 9 stops (perceptually uniform, readable in grey and by most colour-blind eyes).
VIRIDIS_STOPS = np.array(
    [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ],
    dtype=np.float64,
)


@dataclass(frozen=True, eq=False)
class Colouring:
    """One way to colour the map's points. Build with :meth:`categorical` or :meth:`continuous`.

    ``values``: per point, an int code into ``names`` (categorical; below 0 means "none") or a float
    (continuous; NaN means "none"). ``palette``: K x 3 uint8 colours of the categories (default: Tableau's 10,
    then distinct colours). ``value_range``: the numbers at the two ends of the ramp (default: the data's).
    ``on_top``: what is drawn over the rest where points overlap, so that the few that matter are not buried
    in a dense cluster: category names (``("wrong",)``), or for a number "high" or "low" (the points nearest
    that end last). By default, the order of the samples.
    """

    values: np.ndarray
    names: tuple[str, ...] = ()
    palette: np.ndarray | None = None
    value_range: tuple[float, float] | None = None
    kind: str = "categorical"
    on_top: tuple[str, ...] | str = ()

    @classmethod
    def categorical(cls, codes, names, palette=None, on_top=()) -> Colouring:
        """Categories: ``codes[i]`` indexes ``names`` (< 0: the point has none)."""
        names = tuple(str(n) for n in names)
        colours = category_palette(len(names)) if palette is None else np.asarray(palette, np.uint8).reshape(-1, 3)
        if len(colours) < len(names):
            colours = np.concatenate([colours, category_palette(len(names))[len(colours) :]])
        codes = np.asarray(codes, dtype=np.int64).ravel()
        codes = np.where(codes < len(names), codes, -1)  # a code without a name is "none", not a crash
        return cls(codes, names, colours, None, "categorical", tuple(on_top))

    @classmethod
    def continuous(cls, values, value_range: tuple[float, float] | None = None, on_top: str = "") -> Colouring:
        """A number per point (NaN: none), shown on a ramp from ``value_range[0]`` to ``value_range[1]``."""
        if on_top not in ("", "high", "low"):
            raise ValueError(f"on_top is 'high', 'low' or '', not {on_top!r}")
        values = np.asarray(values, dtype=np.float64).ravel()
        if value_range is None:
            finite = values[np.isfinite(values)]
            value_range = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        return cls(values, (), None, (float(value_range[0]), float(value_range[1])), "continuous", on_top)

    @property
    def is_categorical(self) -> bool:
        return self.kind == "categorical"

    def missing(self) -> np.ndarray:
        """Per point: True where it has no value."""
        return self.values < 0 if self.is_categorical else ~np.isfinite(self.values)

    def counts(self) -> np.ndarray:
        """Points per category (categorical only)."""
        return np.bincount(self.values[self.values >= 0], minlength=len(self.names))

    def drawing_order(self) -> np.ndarray:
        """The sample indices in the order they are drawn (a stable order: see ``on_top``)."""
        if self.is_categorical:
            wanted = [self.names.index(name) for name in self.on_top if name in self.names]
            priority = np.isin(self.values, wanted) if wanted else None
        elif self.on_top:
            values = np.nan_to_num(self.values, nan=-np.inf if self.on_top == "high" else np.inf)
            priority = values if self.on_top == "high" else -values
        else:
            priority = None
        return np.arange(len(self.values)) if priority is None else np.argsort(priority, kind="stable")

    def ramp_ticks(self, count: int = 3) -> list[tuple[float, float]]:
        """(position on the ramp in [0, 1], value) of ``count`` evenly spaced ticks, for the colour bar."""
        lo, hi = self.value_range or (0.0, 1.0)
        return [(t, lo + t * (hi - lo)) for t in np.linspace(0.0, 1.0, count)]


def category_palette(count: int) -> np.ndarray:
    """``count`` x 3 uint8: Tableau's 10 first, then the app's distinct colours (CIELab-spread)."""
    if count <= len(TABLEAU_10):
        return TABLEAU_10[:count].copy()
    return np.concatenate([TABLEAU_10, distinct_palette(count)[len(TABLEAU_10) :]])


def ramp(levels: int = RAMP_LEVELS) -> np.ndarray:
    """``levels`` x 3 uint8 colours of viridis, dark (low) to bright (high)."""
    where = np.linspace(0.0, len(VIRIDIS_STOPS) - 1, levels)
    stops = np.arange(len(VIRIDIS_STOPS))
    return np.stack([np.interp(where, stops, VIRIDIS_STOPS[:, c]) for c in range(3)], axis=1).round().astype(np.uint8)


def point_colours(colouring: Colouring) -> tuple[np.ndarray, np.ndarray]:
    """(table, index): a T x 3 uint8 colour table whose last row is MISSING_COLOUR, and per point an index
    into it. Categorical: the category's colour; continuous: the ramp step of the value (clipped to the range)."""
    if colouring.is_categorical:
        table = np.concatenate([colouring.palette[: len(colouring.names)], [MISSING_COLOUR]]).astype(np.uint8)
        index = np.where(colouring.values >= 0, colouring.values, len(table) - 1)
        return table, index.astype(np.int64)
    table = np.concatenate([ramp(), [MISSING_COLOUR]]).astype(np.uint8)
    lo, hi = colouring.value_range
    values = colouring.values
    finite = np.isfinite(values)
    scaled = (np.where(finite, values, lo) - lo) / (hi - lo) if hi > lo else np.zeros(len(values))
    steps = np.clip((scaled * RAMP_LEVELS).astype(np.int64), 0, RAMP_LEVELS - 1)
    return table, np.where(finite, steps, RAMP_LEVELS).astype(np.int64)
