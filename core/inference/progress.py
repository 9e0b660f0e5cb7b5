"""What every job yields per batch, and how the CLI and the tests drive a job to its end.

Shared by :class:`~core.inference.runner.InferenceJob` and :class:`~core.inference.segmentation.SegmentationJob`:
``run()`` is a generator of :class:`Progress`; stopping it between two yields is cancelling.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    done: int  # samples handled so far in this job (predicted or failed)
    total: int
    failed: int
    elapsed: float  # seconds since this run started
    images_per_s: float
    device: str
    batch_size: int = 0  # images per forward pass now (it shrinks when the device runs out of memory)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def eta(self) -> float:
        """Seconds left at the current rate (inf before the first batch)."""
        if self.images_per_s <= 0:
            return float("inf")
        return max(self.total - self.done, 0) / self.images_per_s


def run_to_end(job, on_progress=None):
    """Drive a job's generator to the end (CLI, tests) and return what it filled; ``on_progress`` sees
    each Progress. ``job``: anything whose ``run()`` yields Progress and returns its predictions."""
    gen = job.run()
    while True:
        try:
            progress = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(progress)
