"""Browsing ImageNet-train size (1,281,167 samples): scroll stalls, filters and sorts, without 1.28M files.

The dataset is a :class:`Dataset` subclass held in memory (sample ids "n<class>_<i>.JPEG", targets,
and a ``load_image`` that synthesises a 32 x 32 image), so the browser runs its real code path: the
grid model, the thumbnail loader's threads, the filter bar, ``visible_rows``. The predictions have
100 classes, not 1000 (1.28M x 1000 float32 scores would be 5 GB; 100 classes make 512 MB), which
changes nothing in the filters' cost, that only read per-sample arrays. A second, multilabel dataset
of the same size (20 tags per sample) measures the tag filter.

Measured:
- scrolling: a 5 ms heartbeat timer on the GUI thread while the grid's scroll bar is dragged from top
  to bottom in 200 steps (``bench_browser_scroll``'s method); the longest gap is the worst stall
  (target under 50 ms). The thumbnail loader's queue length is sampled after each step.
- each filter and sort: from the user's action (the toolbar's control set, the ordered selection made)
  to the grid model's reset and the counts shown, on the GUI thread (target under 200 ms); the median
  of ``REPEATS`` rounds. The worst-first order is sorted on a worker with the scores (the metrics
  pane's ``_compute``), timed apart; the id index is built on a worker when the dataset opens, and the
  GUI thread's longest stall while it builds is measured.
- every figure twice: wall-clock (what the user sees, load included: see ``uptime``) and the GUI
  thread's own CPU time (``time.thread_time``, what the code costs whatever the load).
- the floor, in the same run: one full repaint of the grid's viewport (every tile on screen painted
  from the cache), which every scroll step and every filter has to do at least; ratios are ours / floor.

Run: QT_QPA_PLATFORM=offscreen python benchmarks/bench_browse_scale.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from heartbeat import heartbeat
from PySide6.QtWidgets import QApplication
from record import record

from core.datasets.base import Dataset
from core.evaluation.selection import Selection
from core.inference import Predictions
from gui.app import make_application
from gui.browser import BrowserPane
from gui.metrics.errors_view import _compute as scores_and_order
from gui.state import AppState

N = 1_281_167  # images in ImageNet's training split
CLASSES = 100
TAGS = 20
STEPS = 200
REPEATS = 3


class SyntheticImages(Dataset):
    """N samples in memory; each image is made on demand from its index (no files)."""

    layout = "synthetic (benchmark)"

    def __init__(self, n: int = N, task: str = "multiclass") -> None:
        rng = np.random.default_rng(0)
        ids = [f"n{c:08d}_{i}.JPEG" for i, c in enumerate(rng.integers(0, 10**8, n))]
        labels = {"targets": rng.integers(0, CLASSES, n)}
        classes = [f"class {k}" for k in range(CLASSES)]
        if task == "multilabel":
            labels = {"tags": (rng.random((n, TAGS)) < 0.15).astype(np.uint8)}
            classes = [f"tag {k}" for k in range(TAGS)]
        super().__init__(Path("/memory"), task=task, classes=classes, splits=[], split=None, sample_ids=ids, **labels)

    def load_image(self, index: int) -> np.ndarray:
        image = np.empty((32, 32, 3), dtype=np.uint8)
        image[...] = ((index * 37) % 256, (index * 91) % 256, (index * 13) % 256)
        return image


def predictions_for(dataset: Dataset) -> Predictions:
    """Scores that agree with the label about 70% of the time (float32, N x CLASSES)."""
    rng = np.random.default_rng(1)
    n = len(dataset)
    scores = rng.random((n, CLASSES), dtype=np.float32)
    right = rng.random(n) < 0.7
    scores[np.flatnonzero(right), dataset.targets[right]] += 3.0
    scores /= scores.sum(axis=1, keepdims=True)
    return Predictions(
        task="multiclass",
        classes=list(dataset.classes),
        sample_ids=dataset.sample_ids,
        scores=scores,
        done=np.ones(n, dtype=bool),
    )


def settle(app: QApplication, seconds: float = 0.3) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)


def timed(app: QApplication, action) -> tuple[float, float]:
    """(wall ms, GUI-thread CPU ms) from ``action()`` (a user's action on the GUI thread) to the events it posted
    handled."""
    start, cpu = time.perf_counter(), time.thread_time()
    action()
    app.processEvents()
    return (time.perf_counter() - start) * 1000, (time.thread_time() - cpu) * 1000


def beats(app: QApplication, work, seconds_after: float = 0.3) -> tuple[float, float]:
    """(longest wall gap, longest GUI-thread CPU time between two beats) in ms, of a 5 ms heartbeat timer on the
    GUI thread while ``work()`` drives it."""
    wall, cpu = heartbeat(app, work, seconds_after)
    return max(wall, default=0.0), max(cpu, default=0.0)


def scroll(app: QApplication, pane: BrowserPane) -> tuple[float, float, int]:
    """(longest GUI-thread stall in ms: wall, CPU; largest thumbnail queue seen) over a drag of the scroll bar."""
    bar = pane.view.verticalScrollBar()
    queued = [0]

    def drag() -> None:
        for step in range(STEPS + 1):
            bar.setValue(bar.minimum() + (bar.maximum() - bar.minimum()) * step // STEPS)
            deadline = time.perf_counter() + 0.02  # ~50 scroll events per second, a fast drag
            while time.perf_counter() < deadline:
                app.processEvents()
                time.sleep(0.001)
            queued[0] = max(queued[0], len(pane.loader._pending))  # decodes asked for, not yet landed

    wall, cpu = beats(app, drag)
    return wall, cpu, queued[0]


def floor(app: QApplication, pane: BrowserPane) -> tuple[float, float]:
    """(wall ms, CPU ms), median of 10: one full repaint of the grid's viewport, its tiles in the cache."""
    settle(app, 0.5)  # the tiles on screen decoded
    viewport = pane.view.viewport()
    times = [timed(app, viewport.repaint) for _ in range(10)]
    return float(np.median([t[0] for t in times])), float(np.median([t[1] for t in times]))


def filters(app: QApplication, state: AppState, pane: BrowserPane, order: np.ndarray) -> list[tuple[str, tuple]]:
    """(name, (wall ms, CPU ms)) of each filter and sort of a multiclass dataset with predictions."""
    bar = pane.filters
    out = [("wrong only", timed(app, lambda: bar.wrong_only.setChecked(True)))]
    out.append(("wrong only off", timed(app, lambda: bar.wrong_only.setChecked(False))))
    out.append(("class = 42", timed(app, lambda: pane.set_class_filter(42))))
    out.append(("class = 42 + wrong only", timed(app, lambda: bar.wrong_only.setChecked(True))))
    out.append(("all classes", timed(app, lambda: pane.set_class_filter(None))))
    out.append(("all again (wrong only off)", timed(app, lambda: bar.wrong_only.setChecked(False))))
    out.append(("search '_12345'", timed(app, lambda: pane.set_search("_12345"))))
    out.append(("search '.jpeg' (all match)", timed(app, lambda: pane.set_search(".jpeg"))))
    out.append(("search '1' (most match)", timed(app, lambda: pane.set_search("1"))))
    out.append(("search cleared", timed(app, lambda: pane.set_search(""))))
    sort = lambda: state.set_selection(Selection.of("worst first by confidence", order, ordered=True))  # noqa: E731
    out.append(("sort by confidence (least first)", timed(app, sort)))
    out.append(("sorted + class = 42", timed(app, lambda: pane.set_class_filter(42))))
    out.append(("sorted, all classes", timed(app, lambda: pane.set_class_filter(None))))
    out.append(("back to dataset order", timed(app, lambda: state.set_selection(None))))
    return out


def rounds(measure) -> list[tuple[str, tuple[float, float]]]:
    """``measure()`` REPEATS times: the median wall and CPU ms of each step."""
    runs = [measure() for _ in range(REPEATS)]
    return [
        (name, (float(np.median([r[k][1][0] for r in runs])), float(np.median([r[k][1][1] for r in runs]))))
        for k, (name, _) in enumerate(runs[0])
    ]


def tag_filters(app: QApplication, pane: BrowserPane) -> list[tuple[str, tuple[float, float]]]:
    out = [("tag filter: has tag 3", timed(app, lambda: pane.set_tag_filter([3], [])))]
    out.append(("tag filter: has 3, lacks 5", timed(app, lambda: pane.set_tag_filter([3], [5]))))
    out.append(("tag filter cleared", timed(app, lambda: pane.set_tag_filter([], []))))
    return out


def open_pane(app: QApplication, dataset: Dataset) -> tuple[AppState, BrowserPane, tuple[float, float]]:
    """The pane with ``dataset`` open; also the GUI thread's longest stall while the id index builds."""
    state = AppState()
    pane = BrowserPane(state)
    pane.resize(1200, 900)
    pane.show()
    opened = timed(app, lambda: state.set_dataset(dataset))
    start = time.perf_counter()

    def wait_for_index() -> None:
        while pane.ids.search is None and time.perf_counter() - start < 60:
            app.processEvents()
            time.sleep(0.002)

    stall = beats(app, wait_for_index)
    print(f"id index built on a worker in {time.perf_counter() - start:.1f} s; GUI-thread stall meanwhile "
          f"{stall[0]:.0f} ms (CPU {stall[1]:.0f} ms)")  # fmt: skip
    settle(app)
    return state, pane, opened


def report(results, base: tuple[float, float], scrolls: list[tuple[str, float, float]]) -> tuple[float, float]:
    """Print every figure; return the longest scroll stall and the slowest filter/sort/search (wall ms)."""
    print(f"floor: one full repaint of the grid {base[0]:.0f} ms (CPU {base[1]:.0f} ms)")
    print(f"  {'':<36} {'wall':>7}  {'CPU':>7}  {'wall/floor':>10}  {'CPU/floor':>9}")
    for name, wall, cpu in scrolls:
        print(f"  {name:<36} {wall:5.0f} ms {cpu:5.0f} ms {wall / base[0]:10.1f} {cpu / base[1]:10.1f}")
    for name, (wall, cpu) in results:
        print(f"  {name:<36} {wall:5.0f} ms {cpu:5.0f} ms {wall / base[0]:10.1f} {cpu / base[1]:10.1f}")
    stall = max(wall for _, wall, _ in scrolls)
    stall_cpu = max(cpu for _, _, cpu in scrolls)
    worst = max(wall for _, (wall, _) in results)
    worst_cpu = max(cpu for _, (_, cpu) in results)
    print(f"load: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} CPUs")
    print(f"scroll target < 50 ms: {'met' if stall < 50 else 'MISSED'} (wall {stall:.0f} ms), "
          f"{'met' if stall_cpu < 50 else 'MISSED'} in CPU ({stall_cpu:.0f} ms); "
          f"filter/sort target < 200 ms: {'met' if worst < 200 else 'MISSED'} (slowest wall {worst:.0f} ms), "
          f"{'met' if worst_cpu < 200 else 'MISSED'} in CPU ({worst_cpu:.0f} ms)")  # fmt: skip
    return stall, worst


def slowest(results, word: str) -> float:
    """The slowest wall ms of the steps whose name holds ``word`` (filters: the class, tag and wrong-only ones)."""
    return max(wall for name, (wall, _) in results if word in name)


def main() -> None:
    app = make_application()  # as the app runs: its GIL switch interval too
    start = time.perf_counter()
    dataset = SyntheticImages()
    print(f"{len(dataset):,} samples, {CLASSES} classes (made in {time.perf_counter() - start:.1f} s)")
    state, pane, opened = open_pane(app, dataset)
    print(f"dataset shown in the browser: {opened[0]:.0f} ms (CPU {opened[1]:.0f} ms)")
    base = floor(app, pane)
    stall, stall_cpu, queued = scroll(app, pane)
    print(f"thumbnail queue <= {queued} while scrolling")
    predictions = predictions_for(dataset)
    shown = timed(app, lambda: state.set_predictions(predictions))
    settle(app)
    print(f"predictions shown: {shown[0]:.0f} ms (CPU {shown[1]:.0f} ms)")
    stall_p, stall_p_cpu, _ = scroll(app, pane)
    start = time.perf_counter()
    _name, _values, order = scores_and_order("confidence", dataset, state.predictions)  # the worker's job
    print(f"confidence and its worst-first order, on the metrics pane's worker: {time.perf_counter() - start:.2f} s")
    results = rounds(lambda: filters(app, state, pane, order))
    pane.shutdown()
    pane.close()
    tagged = SyntheticImages(task="multilabel")
    _state, tag_pane, _ = open_pane(app, tagged)
    results += rounds(lambda: tag_filters(app, tag_pane))
    tag_pane.shutdown()
    scrolls = [("scroll, longest stall", stall, stall_cpu), ("scroll with predictions, longest stall", stall_p,
               stall_p_cpu)]  # fmt: skip
    stall, worst = report(results, base, scrolls)
    search = slowest(results, "search")
    sort = slowest(results, "sort")
    filtered = max(wall for name, (wall, _) in results if "search" not in name and "sort" not in name)
    record(
        "browse_scale",
        f"Browsing {len(dataset):,} samples: filters (wrong only, a class, a tag, cleared) / search by id / sort "
        "by confidence / longest scroll stall",
        f"slowest {filtered:.0f} ms / {search:.0f} ms / {sort:.0f} ms / {stall:.0f} ms; {worst / base[0]:.1f}× / "
        f"{stall / base[0]:.1f}× one full repaint of the grid ({base[0]:.0f} ms)",
        "< 200 ms each / < 50 ms",
        worst < 200 and stall < 50,
        "QT_QPA_PLATFORM=offscreen python benchmarks/bench_browse_scale.py",
    )


if __name__ == "__main__":
    main()
