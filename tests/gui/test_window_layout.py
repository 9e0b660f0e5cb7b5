"""The window at the sizes people have: every demo after its model ran, every table readable.

A cell is elided when its text (plus the item view's margins, and its icon) is wider than its
column: Qt then draws "0.8…" in place of "0.812".
"""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QStyle, QTableView

from gui.main_window import MainWindow
from main import DEMO_DATASET

DEMOS = ("digits", "faces", "scene_tags", "scenes")
SIZES = ((1280, 720), (1366, 768), (1920, 1080))
MEASURED_ROWS = 200


def elided_cells(window) -> list[str]:
    """Every shown table cell or header whose text does not fit its column, described for a failure message."""
    found = []
    for view in window.findChildren(QTableView):
        if view.isVisible():
            found += _elided_in(view)
    return found


def _elided_in(view: QTableView) -> list[str]:
    model, header = view.model(), view.horizontalHeader()
    style = view.style()
    margin = 2 * (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1)
    icon = style.pixelMetric(QStyle.PixelMetric.PM_SmallIconSize, None, view) + margin // 2
    found = []
    for column in range(model.columnCount()):
        if header.isSectionHidden(column):
            continue
        width = header.sectionSize(column)
        title = model.headerData(column, header.orientation())
        if title and header.sectionSizeHint(column) > width:
            found.append(f"{type(view).__name__} header {title!r}: needs {header.sectionSizeHint(column)}, has {width}")
        for row in range(min(model.rowCount(), MEASURED_ROWS)):
            index = model.index(row, column)
            text = index.data()
            if text in (None, ""):
                continue
            font = index.data(Qt.ItemDataRole.FontRole) or view.font()
            needed = QFontMetrics(font).horizontalAdvance(str(text)) + margin
            if index.data(Qt.ItemDataRole.DecorationRole) is not None:
                needed += icon
            if needed > width:
                found.append(f"{type(view).__name__} [{row}, {column}] {text!r}: needs {needed}px, has {width}px")
    return found


def settle(qtbot, window) -> None:
    """Wait until no worker runs and every coalescing timer has fired."""

    def idle() -> bool:
        QApplication.processEvents()
        return QThreadPool.globalInstance().activeThreadCount() == 0 and not window.is_busy()

    qtbot.waitUntil(idle, timeout=60_000)
    qtbot.wait(300)  # the metrics follow a run after a short coalescing delay
    QApplication.processEvents()


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    """Copies of the bundled demos: project stores and saved runs go beside the copies."""
    root = tmp_path_factory.mktemp("demos")
    for name in DEMOS:
        shutil.copytree(DEMO_DATASET.parent / name, root / name)
    return root


@pytest.fixture
def window(qtbot):
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(*SIZES[0])
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.runner.cancel()
    qtbot.waitUntil(lambda: not win.runner.is_running(), timeout=30_000)


def open_and_run(qtbot, window, folder) -> None:
    window.open_dataset(str(folder))
    qtbot.waitUntil(lambda: window.state.dataset is not None, timeout=30_000)
    with qtbot.waitSignal(window.runner.run_finished, timeout=120_000):
        assert window.runner.start_run()
    settle(qtbot, window)


def metrics_tabs(window) -> list[int]:
    tabs = window.metrics.tabs
    return [i for i in range(tabs.count()) if tabs.isTabVisible(i)]


@pytest.mark.parametrize("demo", DEMOS)
def test_no_table_cell_is_elided_at_common_window_sizes(qtbot, window, demos, demo):
    open_and_run(qtbot, window, demos / demo)
    problems = []
    for width, height in SIZES:
        window.resize(width, height)
        for tab in metrics_tabs(window):
            window.metrics.tabs.setCurrentIndex(tab)
            settle(qtbot, window)
            assert window.width() == width and window.height() == height
            title = window.metrics.tabs.tabText(tab)
            problems += [f"{width}x{height} {title}: {cell}" for cell in elided_cells(window)]
    assert not problems, "\n".join(problems[:20])
