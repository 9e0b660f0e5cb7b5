"""Writing what the metrics view shows: tables as CSV, plots as PNG or SVG. Every write is atomic."""

from __future__ import annotations

import csv
import importlib
import io
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QImage

from core.system.files import write_atomic

if TYPE_CHECKING:
    import pyqtgraph as pg

PLOT_FORMATS = {".png": "PNG image (*.png)", ".svg": "SVG drawing (*.svg)"}


def write_csv(path: str | Path, rows: list[list]) -> Path:
    """Rows of cells (numbers keep their full precision) as a CSV file."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    # surrogateescape: a file name that is not UTF-8 is written back as the bytes it was read from
    return _write(Path(path), buffer.getvalue().encode("utf-8", "surrogateescape"))


def write_plot(path: str | Path, plot: pg.PlotWidget, width: int = 1200) -> Path:
    """A plot as PNG (``width`` pixels wide) or SVG, chosen by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise ValueError(f"plots are saved as PNG or SVG, not {path.suffix or 'a file without suffix'}")
    if suffix == ".svg":
        return _write(path, _svg_bytes(plot))
    exporter = _exporters().ImageExporter(plot.getPlotItem())
    exporter.parameters()["width"] = width
    return _write(path, _png_bytes(exporter.export(toBytes=True)))


def _exporters():
    """pyqtgraph's exporters, imported with the first export, not with the metrics pane (start-up)."""
    import pyqtgraph.exporters

    return pyqtgraph.exporters


def _write(path: Path, data: bytes) -> Path:
    """The file written atomically, created under the umask (0644 as a rule) as any file the user saves."""
    write_atomic(path, data)
    return path


def _png_bytes(image: QImage) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("the plot could not be encoded as PNG")
    return bytes(buffer.data())


def _svg_bytes(plot: pg.PlotWidget) -> bytes:
    with _closed_paths_tolerated():
        data = _exporters().SVGExporter(plot.getPlotItem()).export(toBytes=True)
    # a heatmap is a small image scaled up: its cells must stay sharp squares, not blur into each other
    return data.replace(b"<image ", b'<image style="image-rendering:pixelated" ')


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
