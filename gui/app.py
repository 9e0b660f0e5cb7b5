"""Starting the application: QApplication, the main window, and the --screenshot mode."""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtWidgets import QApplication

from gui.workers import torch_import_under_way

APP_NAME = "CV Lens"
SCREENSHOT_TIMEOUT_MS = 120_000
#: The panes are built after the window's first paint, or this long after the start, whichever comes first.
PANES_LATEST_MS = 3000
#: How long (s) a thread waits for the GIL before asking its holder to hand it over. Every Qt call releases
#: the GIL: while a worker thread runs Python (decodes, the id index) the GUI thread waited up to Python's
#: default 5 ms after each one, and a grid paint makes hundreds of them.
GIL_SWITCH_S = 0.0005
#: At quit, how long the workers still running get to stop, and how long more an import of torch under way on
#: one of them gets to finish (it takes ~5 s on 2 cores, cold).
QUIT_WAIT_S, TORCH_IMPORT_WAIT_S = 5.0, 60.0


def _install_excepthook(window) -> None:
    """An exception that escapes a slot is shown in the window, not only printed in a terminal."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(text)
        try:
            window.show_error("Unexpected error", f"{kind.__name__}: {value}", details=text)
        except Exception:  # the window itself is gone: fall back to the default hook
            previous(kind, value, tb)

    sys.excepthook = hook


def make_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    sys.setswitchinterval(GIL_SWITCH_S)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("CV Lens")
    return app


def run_app(
    dataset: str | None = None,
    split: str | None = None,
    model: str | None = None,
    screenshot: str | None = None,
    size: str = "1500x950",
) -> int:
    """The window on screen first (its frame: Qt's import and little else), then its panes, then the dataset."""
    app = make_application()
    from gui.main_window import MainWindow

    window = MainWindow(build_panes=bool(screenshot))  # --screenshot drives the panes at once
    _install_excepthook(window)
    if screenshot:
        width, height = (int(v) for v in size.lower().split("x"))
        window.remembers_layout = False
        window.resize(width, height)
        _ScreenshotDirector(window, Path(screenshot), model).arm()
    elif not window.restore_layout():
        from gui.main_window import DEFAULT_HEIGHT, DEFAULT_WIDTH
        from gui.widgets import place_on_screen

        place_on_screen(window, DEFAULT_WIDTH, DEFAULT_HEIGHT)
    opening = (lambda: window.open_dataset(dataset, split=split, model=model)) if dataset else None
    _after_first_paint(app, window, opening)
    window.show()
    code = app.exec()
    _wait_for_workers(QThreadPool.globalInstance())
    return code


def _wait_for_workers(pool: QThreadPool) -> None:
    """As the app quits: no queued worker starts, the running ones get QUIT_WAIT_S to finish, and an import of
    torch under way gets TORCH_IMPORT_WAIT_S more (cut short by the interpreter's exit, it prints a traceback)."""
    pool.clear()
    start = time.monotonic()
    while not pool.waitForDone(100):
        waited = time.monotonic() - start
        if waited > QUIT_WAIT_S + TORCH_IMPORT_WAIT_S or (waited > QUIT_WAIT_S and not torch_import_under_way()):
            break


def _after_first_paint(app: QApplication, window, open_dataset) -> None:
    """The panes on the turn after the window's first paint, then ``open_dataset()`` (if not None) on the turn
    after theirs; with CVLENS_BENCH_STARTUP, the bench's report of the paints on the way as well ("panes": without
    the dataset)."""
    from gui.widgets import FirstPaint

    bench = os.environ.get("CVLENS_BENCH_STARTUP")
    if bench == "panes":
        open_dataset = None
    if open_dataset is not None:  # before the report's: of two filters on the panes, Qt runs the last one first
        window.when_built(lambda: _after_panes_paint(window, open_dataset))
    after_paint = _report_start(window, open_dataset is not None) if bench else window.build_panes
    if not window.built:
        if not bench:  # a window never exposed (minimised, another desktop) builds them anyway
            QTimer.singleShot(PANES_LATEST_MS, window.build_panes)
        FirstPaint(window.centralWidget(), after_paint)


def _after_panes_paint(window, callback) -> None:
    """``callback()`` once: on the turn after the panes' first paint (opening a dataset starts a worker, whose
    first start imports superqt: the panes' paint need not wait for it), or PANES_LATEST_MS after they were built
    if they are not painted by then (a minimised window)."""
    from gui.widgets import FirstPaint

    done = []

    def once() -> None:
        if not done:
            done.append(True)
            callback()

    FirstPaint(window.panes, once)
    QTimer.singleShot(PANES_LATEST_MS, once)


def _report_start(window, opens: bool):
    """benchmarks/bench_startup.py: print when the window's frame was first on screen ("painted"), when its panes
    were ("ready"), each with whether torch was imported by then, and when the dataset's first thumbnails were
    ("shown"; at once when no dataset opens), then quit. Returns what follows the frame's first paint."""
    from gui.widgets import FirstPaint

    def report(what: str) -> None:
        print(f"{what} {time.time():.6f} torch_imported={'torch' in sys.modules}", flush=True)

    def painted() -> None:
        report("painted")
        window.build_panes()

    def built() -> None:
        FirstPaint(window.panes, ready)
        if opens:
            window.browser.loader.thumbnail_ready.connect(thumbnail_ready)
            window.state.error.connect(failed)

    def ready() -> None:
        report("ready")
        if not opens:
            shown()

    def thumbnail_ready(_index: int) -> None:  # the first one: the grid's next paint shows it
        window.browser.loader.thumbnail_ready.disconnect(thumbnail_ready)
        FirstPaint(window.browser.view.viewport(), shown)

    def shown() -> None:
        report("shown")
        window.close()  # as a user closes it: the runner's and the browser's workers are stopped, then the app quits

    def failed(*_args) -> None:  # a dataset that does not open ends the report too
        report("failed")
        window.close()

    window.when_built(built)
    return painted


class _ScreenshotDirector:
    """Drives the window for --screenshot: wait for the dataset, run the model, wait, grab, quit."""

    def __init__(self, window, path: Path, model: str | None) -> None:
        self.window = window
        self.path = path
        self.model = model
        self.exit_code = 0

    def arm(self) -> None:
        state = self.window.state
        state.dataset_changed.connect(self._on_dataset)
        self.window.runner.run_finished.connect(self._on_run_finished)
        self.window.runner.run_failed.connect(lambda _msg: self._grab_when_idle(code=1))
        state.error.connect(lambda *_: self._grab_when_idle(code=1) if state.dataset is None else None)
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, lambda: self._grab_when_idle(code=1))

    def _on_dataset(self, dataset) -> None:
        if dataset is None:
            return
        # Let the runner list the models that fit, then start the default one.
        QTimer.singleShot(0, self._start_run)

    def _start_run(self) -> None:
        if not self.window.runner.start_run():
            self._grab_when_idle(code=0)

    def _on_run_finished(self) -> None:
        # Show the first misclassified sample (else the first one) in the sample view.
        state = self.window.state
        if state.dataset is not None and len(state.dataset):
            from core.evaluation.selection import wrong

            misses = (
                wrong(state.dataset.targets, state.predictions.predicted).indices
                if state.dataset.targets is not None
                else []
            )
            state.select_sample(int(misses[0]) if len(misses) else 0)
        self._grab_when_idle(code=0)

    def _grab_when_idle(self, code: int, waited_ms: int = 0) -> None:
        self.exit_code = max(self.exit_code, code)
        pools = (QThreadPool.globalInstance(), self.window.browser.sample_view.pool)  # the sample decodes on its own
        busy = any(pool.activeThreadCount() > 0 for pool in pools) or self.window.is_busy()
        if busy and waited_ms < 20_000:
            QTimer.singleShot(100, lambda: self._grab_when_idle(code, waited_ms + 100))
            return
        QApplication.processEvents()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ok = self.window.grab().save(str(self.path))
        print(f"screenshot {'written to' if ok else 'FAILED:'} {self.path}", file=sys.stderr)
        QApplication.instance().exit(self.exit_code if ok else 1)
