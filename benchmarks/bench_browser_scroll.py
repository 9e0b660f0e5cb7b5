"""The longest stall of the GUI thread while scrolling the browser through a large dataset.

A heartbeat timer fires every 5 ms on the GUI thread; the benchmark scrolls the thumbnail grid
from top to bottom in page-sized steps (as a user dragging the scroll bar does) with real
thumbnail decoding on the loader's threads, and reports the longest gap between two heartbeats
(target: under 50 ms) and the median. The baseline in the same run is the same heartbeat with an
idle window. Datasets: CIFAR-10-sized (60,000 images of 32 x 32) and a folder of 100,000 images.
Run: QT_QPA_PLATFORM=offscreen python benchmarks/bench_browser_scroll.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from heartbeat import heartbeat
from PySide6.QtWidgets import QApplication
from record import record

from core.datasets.base import Dataset
from gui.browser import BrowserPane
from gui.state import AppState

STEPS = 200


class ArrayImages(Dataset):
    """60,000 images of 32 x 32 held in one array, as the CIFAR reader holds them."""

    layout = "CIFAR-like arrays"

    def __init__(self, n: int = 60_000) -> None:
        rng = np.random.default_rng(0)
        self.pixels = rng.integers(0, 255, (n, 32, 32, 3), dtype=np.uint8)
        super().__init__(
            Path("/memory"), task="multiclass", classes=[str(i) for i in range(10)], splits=[], split=None,
            sample_ids=[f"{i:06d}" for i in range(n)], targets=rng.integers(0, 10, n),
        )  # fmt: skip

    def load_image(self, index: int) -> np.ndarray:
        return self.pixels[index]


def image_folder(root: Path, n: int = 100_000) -> Path:
    """n small PNGs in 10 class folders (the same bytes, written fast)."""
    import cv2

    _, data = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (24, 24, 3), dtype=np.uint8))
    payload = data.tobytes()
    for c in range(10):
        folder = root / str(c)
        folder.mkdir(parents=True)
        for i in range(n // 10):
            (folder / f"{i:06d}.png").write_bytes(payload)
    return root


def heartbeat_gaps(app: QApplication, work, seconds_after: float = 0.3) -> list[float]:
    """Gaps between 5 ms heartbeats on the GUI thread while ``work()`` drives it, in ms."""
    return heartbeat(app, work, seconds_after)[0]


def scroll_through(app: QApplication, pane: BrowserPane) -> None:
    bar = pane.view.verticalScrollBar()
    for step in range(STEPS + 1):
        bar.setValue(bar.minimum() + (bar.maximum() - bar.minimum()) * step // STEPS)
        deadline = time.perf_counter() + 0.02  # ~50 scroll events per second, like a fast drag
        while time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.001)


def measure(app: QApplication, dataset: Dataset) -> tuple[float, float]:
    state = AppState()
    pane = BrowserPane(state)
    pane.resize(900, 900)
    pane.show()
    state.set_dataset(dataset)
    for _ in range(50):
        app.processEvents()
        time.sleep(0.01)
    gaps = heartbeat_gaps(app, lambda: scroll_through(app, pane))
    pane.shutdown()
    pane.close()
    return max(gaps), statistics.median(gaps)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    idle = heartbeat_gaps(app, lambda: None, seconds_after=1.0)
    print(f"baseline, idle window: longest gap {max(idle):.0f} ms, median {statistics.median(idle):.0f} ms")
    worst, longest_of = 0.0, []
    with tempfile.TemporaryDirectory() as tmp:
        from core.datasets import open_dataset

        cases = [("60,000 images in arrays (CIFAR-10 size)", ArrayImages())]
        start = time.perf_counter()
        folder = open_dataset(image_folder(Path(tmp) / "folder"))
        print(f"(wrote and opened a folder of {len(folder):,} images in {time.perf_counter() - start:.1f} s)")
        cases.append((f"folder of {len(folder):,} images", folder))
        for name, dataset in cases:
            longest, median = measure(app, dataset)
            worst = max(worst, longest)
            longest_of.append(longest)
            print(f"{name}: longest GUI-thread stall {longest:.0f} ms, median gap {median:.0f} ms while scrolling")
    print(f"target < 50 ms: {'target met' if worst < 50 else 'MISSED'} (longest {worst:.0f} ms)")
    arrays, files = longest_of
    floor = max(idle)
    record(
        "browser_scroll",
        f"Longest GUI-thread stall while scrolling the grid through 60,000 array images / {len(folder):,} files",
        f"{arrays:.0f} ms / {files:.0f} ms, {arrays / floor:.1f}× / {files / floor:.1f}× an idle window's longest "
        f"heartbeat gap ({floor:.0f} ms)",
        "< 50 ms",
        worst < 50,
        "python benchmarks/bench_browser_scroll.py",
    )


if __name__ == "__main__":
    main()
