"""Each image's outputs stored on a few threads while the next batch runs (the segmentation runner's writer)."""

from __future__ import annotations

import os


class RecordWriter:
    """Stores images on a few threads while the next batch runs: zlib releases the GIL, and compressing each
    image's probabilities is most of a segmentation run's time once a GPU does the model. At most two batches
    are in flight; a failed write is raised in the job's thread at the next batch or at :meth:`close`."""

    def __init__(self, threads: int | None = None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=threads or max(1, min(8, os.cpu_count() or 1)))
        self.current: list = []
        self.previous: list = []

    def submit(self, fn, *args) -> None:
        self.current.append(self.pool.submit(fn, *args))

    def batch_done(self) -> None:
        _wait(self.previous)
        self.previous, self.current = self.current, []

    def close(self) -> None:
        try:
            _wait(self.previous + self.current)
        finally:
            self.pool.shutdown(wait=True)
            self.previous, self.current = [], []


def _wait(futures: list) -> None:
    """Every write done; the first failure raised once all have ended (none is left running)."""
    failure = None
    for future in futures:
        exc = future.exception()
        failure = failure or exc
    if failure is not None:
        raise failure
