"""Writing what the metrics view shows: tables as CSV, plots as PNG or SVG. Every write is atomic."""

from __future__ import annotations

import csv
import importlib
import os
from contextlib import contextmanager
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # registers pg.exporters

from core.system.files import create_temp_beside

PLOT_FORMATS = {".png": "PNG image (*.png)", ".svg": "SVG drawing (*.svg)"}


def _replace_from_temp(path: Path, write) -> Path:
    """Call ``write(temp_path)`` on a temporary file next to ``path`` (same suffix), then rename it.

    The file is created under the umask (0644 as a rule), as any file the user saves.
    """
    path = Path(path)
    fd, tmp_path = create_temp_beside(path, suffix=path.suffix)
    tmp = str(tmp_path)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_csv(path: str | Path, rows: list[list]) -> Path:
    """Rows of cells (numbers keep their full precision) as a CSV file."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
            csv.writer(handle).writerows(rows)

    return _replace_from_temp(Path(path), write)


def write_plot(path: str | Path, plot: pg.PlotWidget, width: int = 1200) -> Path:
    """A plot as PNG (``width`` pixels wide) or SVG, chosen by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise ValueError(f"plots are saved as PNG or SVG, not {path.suffix or 'a file without suffix'}")
    if suffix == ".svg":
        return _replace_from_temp(path, lambda tmp: _write_svg(tmp, plot))
    exporter = pg.exporters.ImageExporter(plot.getPlotItem())
    exporter.parameters()["width"] = width
    return _replace_from_temp(path, lambda tmp: exporter.export(tmp))


def _write_svg(path: str, plot: pg.PlotWidget) -> None:
    with _closed_paths_tolerated():
        pg.exporters.SVGExporter(plot.getPlotItem()).export(path)
    # a heatmap is a small image scaled up: its cells must stay sharp squares, not blur into each other
    text = Path(path).read_text(encoding="utf-8")
    Path(path).write_text(text.replace("<image ", '<image style="image-rendering:pixelated" '), encoding="utf-8")


@contextmanager
def _closed_paths_tolerated():
    """pyqtgraph 0.14's SVG exporter reads path data as "x,y" pairs and fails (ValueError) on the "Z" that
    closes the paths Qt 6.11 writes (rectangles, symbols; pyqtgraph issue #3485). While exporting, the
    "Z" is dropped before its coordinates are corrected: Qt's closed paths already end where they start.
    """
    module = importlib.import_module("pyqtgraph.exporters.SVGExporter")
    original = module.correctCoordinates

    def correct(node, defs, item, options):
        for element in node.getElementsByTagName("path"):
            data = element.getAttribute("d").split()
            element.setAttribute("d", " ".join(token for token in data if token not in ("Z", "z")))
        return original(node, defs, item, options)

    module.correctCoordinates = correct
    try:
        yield
    finally:
        module.correctCoordinates = original
