"""Start-up: the window's frame is on screen before numpy, pyqtgraph, OpenCV, core or torch are imported, and
its panes, built after that first paint, make the same window as one built at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QMenu

from gui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "torchvision", "numpy", "pyqtgraph", "cv2", "scipy", "superqt", "core")

FRAME = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from gui.main_window import MainWindow
window = MainWindow(build_panes=False)
window.show()
app.processEvents()
print(" ".join(name for name in {heavy!r} if name in sys.modules) or "none")
"""


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, *code], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)


def test_the_window_frame_is_shown_without_the_heavy_imports():
    out = _run(["-c", FRAME.format(heavy=HEAVY)])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["none"], f"imported before the first paint: {out.stdout}"


def test_the_launch_paints_the_window_before_torch_then_its_panes(tmp_path):
    """`python main.py` as a user runs it (the bench hook reports the paints, then quits; "panes": before the
    dataset, which would write its project store next to the bundled demo)."""
    out = _run(["main.py"], CVLENS_BENCH_STARTUP="panes", XDG_CONFIG_HOME=str(tmp_path), HOME=str(tmp_path))
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert "painted" in lines and "ready" in lines, out.stdout + out.stderr[-2000:]
    assert lines["painted"].endswith("torch_imported=False")
    assert lines["ready"].endswith("torch_imported=False")  # the panes wait for nothing of the model code
    painted, ready = (float(lines[key].split()[0]) for key in ("painted", "ready"))
    assert painted < ready


PANES = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from gui.main_window import MainWindow
window = MainWindow(build_panes=False)
window.show()
app.processEvents()
window.build_panes()
app.processEvents()
print(" ".join(name for name in {modules!r} if name in sys.modules) or "none")
"""
#: What the panes' first paint does without: torch, scipy (the analysis map's KD-tree), superqt (its import brings
#: qtpy's Qt modules: a worker's first start imports it, gui.workers), pyqtgraph (the canvases, the class chart and
#: the confusion matrices make their plots with their first image, show or matrix), the modules of the tabs that
#: are not shown (each tab's view is made when first shown: gui.lazy_tab).
NOT_FOR_THE_PANES = (
    "torch",
    "scipy",
    "superqt",
    "pyqtgraph",
    "gui.metrics.curves_view",
    "gui.metrics.reliability_view",
    "gui.metrics.analysis_view",
    "gui.metrics.analysis_map",
    "gui.metrics.detection_curves",
    "gui.metrics.pixel_issues_view",
)


def test_the_panes_are_painted_without_torch_scipy_or_the_hidden_tabs_views():
    out = _run(["-c", PANES.format(modules=NOT_FOR_THE_PANES)])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["none"], f"imported for the panes: {out.stdout}"


def _menus(window: MainWindow) -> list[tuple[str, list]]:
    """The menu bar's menus, each with its actions' texts (a submenu's as a nested pair)."""

    def entries(menu: QMenu) -> list:
        return [entries_of(action) for action in menu.actions()]

    def entries_of(action):
        return (action.text(), entries(action.menu())) if action.menu() else action.text()

    return [entries_of(action) for action in window.menuBar().actions()]


def test_panes_built_after_the_first_paint_make_the_same_window(qtbot):
    whole = MainWindow()
    qtbot.addWidget(whole)
    window = MainWindow(build_panes=False)
    qtbot.addWidget(window)
    assert not window.built and all(not actions for _title, actions in _menus(window))  # there, empty
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.panes_built):
        window.build_panes()
    assert window.built and window.panes.isVisible() and window.runner.isVisible()
    assert _menus(window) == _menus(whole)
    assert len(_menus(window)) == 6
    assert window.panes.sizes()[0] > 0  # the first-show split of the width was made
    _wait_for_devices(qtbot, window)


def _wait_for_devices(qtbot, window: MainWindow) -> None:
    """The shown runner lists the devices (importing torch) on a worker: let it answer before the window goes."""
    qtbot.waitUntil(lambda: window.runner.device_combo.count() > 1, timeout=60_000)


def test_the_remembered_pane_sizes_wait_for_the_panes(qtbot):
    first = MainWindow()
    qtbot.addWidget(first)
    first.resize(1200, 800)
    first.show()
    qtbot.waitExposed(first)
    first.panes.setSizes([300, 900])
    _wait_for_devices(qtbot, first)
    first.show_runner(False)
    sizes = first.panes.sizes()
    first.close()
    window = MainWindow(build_panes=False)
    qtbot.addWidget(window)
    assert window.restore_layout()
    window.show()
    qtbot.waitExposed(window)
    window.build_panes()
    qtbot.wait(50)
    assert window.panes.sizes() == sizes
    assert not window.runner.isVisible() and not window.runner_action.isChecked()
    window.show_runner(True)
    _wait_for_devices(qtbot, window)


def test_a_window_closed_before_its_panes_keeps_the_remembered_pane_sizes(qtbot):
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.panes.setSizes([300, 900])
    _wait_for_devices(qtbot, first)
    first.close()
    remembered = {key: first.settings.value(key) for key in ("window/panes", "window/right")}
    early = MainWindow(build_panes=False)
    qtbot.addWidget(early)
    early.show()
    qtbot.waitExposed(early)
    early.close()
    assert {key: early.settings.value(key) for key in remembered} == remembered
    assert not early.built  # closing did not build the panes to save them


def test_the_dataset_opens_after_the_panes_are_painted(qtbot):
    """Opening starts a worker (whose first start imports superqt): the panes are on screen before it starts."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from gui.app import _after_first_paint

    painted, opened = [], []

    class Paints(QObject):
        def eventFilter(self, watched, event) -> bool:
            if event.type() == QEvent.Type.Paint:
                painted.append(True)
            return False

    paints = Paints()
    window = MainWindow(build_panes=False)
    qtbot.addWidget(window)
    window.when_built(lambda: window.panes.installEventFilter(paints))
    _after_first_paint(QApplication.instance(), window, lambda: opened.append(bool(painted)))
    window.show()
    qtbot.waitUntil(lambda: bool(opened), timeout=10_000)
    assert opened == [True]  # the panes had been painted when the opening started
    _wait_for_devices(qtbot, window)
