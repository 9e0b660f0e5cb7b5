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
  to the grid model's reset and the counts shown, on the GUI thread (target under 200 ms).

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

from bench_browser_scroll import heartbeat_gaps
from PySide6.QtWidgets import QApplication

from core.datasets.base import Dataset
from core.evaluation import ranking
from core.evaluation.selection import Selection
from core.inference import Predictions
from gui.browser import BrowserPane
from gui.state import AppState

N = 1_281_167  # images in ImageNet's training split
CLASSES = 100
TAGS = 20
STEPS = 200


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


def timed(app: QApplication, action) -> float:
    """ms from ``action()`` (a user's action on the GUI thread) to the events it posted handled."""
    start = time.perf_counter()
    action()
    app.processEvents()
    return (time.perf_counter() - start) * 1000


def scroll(app: QApplication, pane: BrowserPane) -> tuple[float, int]:
    """(longest GUI-thread stall in ms, largest thumbnail queue seen) over a drag of the scroll bar."""
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

    gaps = heartbeat_gaps(app, drag)
    return max(gaps), queued[0]


def filters(app: QApplication, state: AppState, pane: BrowserPane, dataset: Dataset) -> list[tuple[str, float]]:
    """ms of each filter and sort of a multiclass dataset with predictions."""
    bar = pane.filters
    out = [("wrong only", timed(app, lambda: bar.wrong_only.setChecked(True)))]
    out.append(("wrong only off", timed(app, lambda: bar.wrong_only.setChecked(False))))
    out.append(("class = 42", timed(app, lambda: pane.set_class_filter(42))))
    out.append(("class = 42 + wrong only", timed(app, lambda: bar.wrong_only.setChecked(True))))
    out.append(("all classes", timed(app, lambda: pane.set_class_filter(None))))
    out.append(("all again (wrong only off)", timed(app, lambda: bar.wrong_only.setChecked(False))))
    out.append(("search '_12345'", timed(app, lambda: pane.set_search("_12345"))))
    out.append(("search '.jpeg' (all match)", timed(app, lambda: pane.set_search(".jpeg"))))
    out.append(("search cleared", timed(app, lambda: pane.set_search(""))))
    confidence = ranking.sample_scores("confidence", dataset, state.predictions)  # a worker's job in the app

    def sort() -> None:
        order = ranking.worst_first(confidence, ranking.higher_is_worse("multiclass", "confidence"))
        state.set_selection(Selection.of("worst first by confidence", order, ordered=True))

    out.append(("sort by confidence (least first)", timed(app, sort)))
    out.append(("sorted + class = 42", timed(app, lambda: pane.set_class_filter(42))))
    out.append(("sorted, all classes", timed(app, lambda: pane.set_class_filter(None))))
    out.append(("back to dataset order", timed(app, lambda: state.set_selection(None))))
    return out


def tag_filters(app: QApplication, pane: BrowserPane) -> list[tuple[str, float]]:
    out = [("tag filter: has tag 3", timed(app, lambda: pane.set_tag_filter([3], [])))]
    out.append(("tag filter: has 3, lacks 5", timed(app, lambda: pane.set_tag_filter([3], [5]))))
    out.append(("tag filter cleared", timed(app, lambda: pane.set_tag_filter([], []))))
    return out


def open_pane(app: QApplication, dataset: Dataset) -> tuple[AppState, BrowserPane, float]:
    state = AppState()
    pane = BrowserPane(state)
    pane.resize(1200, 900)
    pane.show()
    opened = timed(app, lambda: state.set_dataset(dataset))
    settle(app)
    return state, pane, opened


def main() -> None:
    app = QApplication.instance() or QApplication([])
    start = time.perf_counter()
    dataset = SyntheticImages()
    print(f"{len(dataset):,} samples, {CLASSES} classes (made in {time.perf_counter() - start:.1f} s)")
    state, pane, opened = open_pane(app, dataset)
    print(f"dataset shown in the browser: {opened:.0f} ms")
    stall, queued = scroll(app, pane)
    print(f"scrolling without predictions: longest GUI-thread stall {stall:.0f} ms, thumbnail queue <= {queued}")
    predictions = predictions_for(dataset)
    shown = timed(app, lambda: state.set_predictions(predictions))
    settle(app)
    print(f"predictions shown: {shown:.0f} ms")
    stall_p, queued_p = scroll(app, pane)
    print(f"scrolling with predictions: longest GUI-thread stall {stall_p:.0f} ms, thumbnail queue <= {queued_p}")
    results = filters(app, state, pane, dataset)
    pane.shutdown()
    pane.close()
    tagged = SyntheticImages(task="multilabel")
    _state, tag_pane, _ = open_pane(app, tagged)
    results += tag_filters(app, tag_pane)
    tag_pane.shutdown()
    worst = max(ms for _, ms in results)
    for name, ms in results:
        print(f"  {name:<36} {ms:7.0f} ms")
    print(f"scroll target < 50 ms: {'met' if max(stall, stall_p) < 50 else 'MISSED'}; "
          f"filter/sort target < 200 ms: {'met' if worst < 200 else 'MISSED'} (slowest {worst:.0f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
