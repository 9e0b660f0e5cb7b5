"""The window at the sizes people have: every demo after its model ran, every table readable.

A cell is elided when its text (plus the item view's margins, and its icon) is wider than its
column: Qt then draws "0.8…" in place of "0.812".
"""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QStyle, QTableView, QWidget

from cvlens.cli import DEMO_DATASET
from gui.main_window import MainWindow

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
def window(open_window):
    """A shown, active main window of the first size, with nothing open."""
    return open_window(size=SIZES[0])


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


def overlapping(widgets) -> list[tuple[str, str]]:
    """Pairs of shown widgets (named by their text or class) whose rectangles on screen overlap."""
    shown = [w for w in widgets if w.isVisible() and w.width() > 0]
    rects = [(w, w.rect().translated(w.mapTo(w.window(), w.rect().topLeft()))) for w in shown]
    name = lambda w: getattr(w, "text", lambda: "")() or type(w).__name__  # noqa: E731
    return [
        (name(a), name(b))
        for i, (a, ra) in enumerate(rects)
        for b, rb in rects[i + 1 :]
        if ra.intersects(rb) and not a.isAncestorOf(b) and not b.isAncestorOf(a)
    ]


def test_the_window_has_a_minimum_size(qtbot, window):
    window.resize(400, 300)
    qtbot.wait(50)
    assert window.width() >= 960 and window.height() >= 600


def test_the_window_remembers_its_geometry_and_pane_sizes(qtbot, window):
    window.resize(1111, 777)
    qtbot.wait(50)
    window.panes.setSizes([400, 711])
    panes = window.panes.sizes()
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.restore_layout()
    again.show()
    qtbot.waitExposed(again)
    assert (again.width(), again.height()) == (1111, 777)
    assert again.panes.sizes() == panes


def test_hiding_the_runner_gives_the_metrics_its_height_and_is_remembered(qtbot, window):
    window.resize(1366, 768)
    qtbot.wait(50)
    before = window.metrics.height()
    window.runner_action.trigger()  # View > Model Runner (Ctrl+Shift+R)
    qtbot.waitUntil(lambda: window.metrics.height() > before + 150)
    assert not window.runner.isVisible() and not window.runner_action.isChecked()
    window.save_layout()
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.restore_layout()
    again.show()
    qtbot.waitExposed(again)
    assert not again.runner.isVisible() and not again.runner_action.isChecked()
    again.runner_action.trigger()
    assert again.runner.isVisible()


def test_a_first_window_has_no_layout_to_restore(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    assert not window.restore_layout()


def test_at_1024x700_the_browser_controls_keep_their_size_and_never_overlap(qtbot, window, demos, tmp_path):
    folder = tmp_path / "scenes"
    shutil.copytree(demos / "scenes", folder)
    for image in sorted((folder / "images" / "test").iterdir())[:3]:
        image.write_bytes(b"not an image")  # "⚠ 3 unreadable" beside the sample count
    window.resize(1024, 700)
    window.open_dataset(str(folder))
    qtbot.waitUntil(lambda: window.state.dataset is not None, timeout=30_000)
    bar = window.browser.filters
    qtbot.waitUntil(lambda: bar.failed.isVisible() and "3 unreadable" in bar.failed.text(), timeout=30_000)
    name = "true background → predicted a class with a rather long name (most pixels first)"
    from core.evaluation.selection import Selection

    window.state.set_selection(Selection.of(name, [0, 1, 2], ordered=True))
    settle(qtbot, window)
    assert (window.width(), window.height()) == (1024, 700)
    assert bar.opacity.width() >= 100
    controls = [w for w in bar.findChildren(QWidget) if w.parent() in (bar, bar.mask_row) or w.isWidgetType()]
    leaves = [w for w in controls if not w.findChildren(QWidget) or isinstance(w, (QComboBox, QLineEdit))]
    assert not overlapping(leaves)
    assert bar.selection_chip.text() == f"{name} (3)"


def test_at_1024x700_the_threshold_slider_keeps_its_size(qtbot, window, demos):
    window.resize(1024, 700)
    open_and_run(qtbot, window, demos / "faces")  # binary: a threshold on p(non-face)
    assert window.metrics.threshold.isVisible()
    assert (window.width(), window.height()) == (1024, 700)
    assert window.metrics.threshold.slider.width() >= 100


def test_the_first_window_fits_a_laptop_screen_and_is_centred_on_a_large_one():
    from gui.main_window import DEFAULT_HEIGHT, DEFAULT_WIDTH
    from gui.widgets import first_geometry

    size = (DEFAULT_WIDTH, DEFAULT_HEIGHT)
    laptop = first_geometry(0, 0, 1366, 740, size)  # 1366x768 less a 28 px panel
    assert (laptop.width(), laptop.height()) == (1366, 740) and (laptop.x(), laptop.y()) == (0, 0)
    large = first_geometry(0, 0, 2560, 1400, size)
    assert (large.width(), large.height()) == (DEFAULT_WIDTH, DEFAULT_HEIGHT)
    assert large.center().x() in (1279, 1280) and large.center().y() in (699, 700)
