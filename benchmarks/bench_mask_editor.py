"""Time per brush-stroke segment on a 2048 x 1024 mask (target < 16 ms, one frame at 60 Hz).

A segment is what one mouse-move event paints: the editor's change plus recolouring only the
changed rectangle for display (palette lookup + blend), which is what the view redraws.
Baseline in the same run: recolouring the whole mask once (what a naive view would redraw).
Run: python benchmarks/bench_mask_editor.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from record import record

from core.masks import MaskEditor

HEIGHT, WIDTH = 1024, 2048
rng = np.random.default_rng(0)
PALETTE = rng.integers(0, 255, (256, 3), dtype=np.uint8)
IMAGE = rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def recolour(mask: np.ndarray, image: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    return (image * (1 - alpha) + PALETTE[mask] * alpha).astype(np.uint8)


def stroke_segments(radius: int, steps: int = 200) -> list[float]:
    editor = MaskEditor(rng.integers(0, 19, (HEIGHT, WIDTH), dtype=np.uint8), num_classes=19)
    times = []
    x, y = 100.0, 100.0
    start = time.perf_counter()
    editor.begin_stroke()  # the mouse press: snapshot for the undo step
    times.append(time.perf_counter() - start)
    for _ in range(steps):
        nx, ny = x + rng.uniform(-4, 12), y + rng.uniform(-4, 8)  # ~10 px per mouse event
        start = time.perf_counter()
        rect = editor.brush(x, y, nx, ny, radius, value=5)
        if not rect.empty:
            recolour(editor.mask[rect.slices], IMAGE[rect.slices])
        times.append(time.perf_counter() - start)
        x, y = nx % WIDTH, ny % HEIGHT
    start = time.perf_counter()
    editor.end_stroke()
    times.append(time.perf_counter() - start)  # closing the stroke (one undo step) counts too
    return times


def main() -> None:
    full = statistics.median(_timed(lambda: recolour(np.zeros((HEIGHT, WIDTH), np.uint8), IMAGE)) for _ in range(5))
    print(f"baseline: recolouring the whole {WIDTH}x{HEIGHT} mask: {full * 1000:.1f} ms")
    worst = 0.0
    for radius in (2, 10, 40):
        times = stroke_segments(radius)
        median, p95 = statistics.median(times), float(np.percentile(times, 95))
        worst = max(worst, p95)
        print(
            f"brush radius {radius:>2}: median {median * 1000:.2f} ms, 95th percentile {p95 * 1000:.2f} ms "
            f"per segment ({median / full:.3f} of a full redraw)"
        )
    verdict = "target met" if worst < 0.016 else "MISSED"
    print(f"target < 16 ms per segment: {verdict} (95th percentile {worst * 1000:.2f} ms)")
    record(
        "mask_editor",
        f"Mask editor: one brush segment on a {WIDTH}×{HEIGHT} mask, with recolouring the changed rectangle",
        f"{worst * 1000:.1f} ms at the 95th percentile (brush radius 2 to 40), {worst / full:.2f}× recolouring "
        f"the whole mask once ({full * 1000:.0f} ms)",
        "< 16 ms",
        worst < 0.016,
        "python benchmarks/bench_mask_editor.py",
    )


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
