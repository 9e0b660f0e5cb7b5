"""Help > About: the version, the libraries in use (torch, CUDA, Qt) and the data folder, copyable."""

from __future__ import annotations

import html

import pyqtgraph
import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from core.system.about import about_rows

SUMMARY = "CV Lens: browse computer-vision datasets, run models on them and see where they fail."


def qt_rows() -> list[tuple[str, str]]:
    """The Qt binding and the Qt library it runs on (they can differ), and pyqtgraph."""
    return [("PySide6", PySide6.__version__), ("Qt", qVersion()), ("pyqtgraph", pyqtgraph.__version__)]


def about_text() -> str:
    """The About box's rich text: the summary and a table of (name, value)."""
    cells = "".join(
        f"<tr><td><b>{html.escape(name)}</b>&nbsp;&nbsp;</td><td>{html.escape(value)}</td></tr>"
        for name, value in about_rows(qt_rows())
    )
    return f"<p>{html.escape(SUMMARY)}</p><table>{cells}</table>"


def about_box(parent: QWidget | None = None) -> QMessageBox:
    """The About box, its text selectable (for a bug report)."""
    box = QMessageBox(parent)
    box.setWindowTitle("About CV Lens")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_text())
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    return box
