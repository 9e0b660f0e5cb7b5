"""Batches made ready for the device one step ahead: while the model runs batch k, batch k+1 is prepared.

The standard overlap of input and compute. A thread takes the loader's batches and prepares each one for the
device (``prepare``: JPEG decoding on the device, the copy to it), a few batches ahead of the model. On CUDA it
works on a CUDA stream of its own: the host-to-device copy comes from pinned host memory and does not block,
the nvJPEG decoding of the next batch runs on that stream (TorchCodec waits for its own stream only, not for
the model's), and the model's stream waits for an event recorded after the batch, not for the whole device.
On a CPU the same thread prepares the next batch while the model computes, with the same functions, so the
batches and the predictions are the same as without it.

The thread starts no work of its own beyond one loader: cancelling (closing the generator) stops it, drops
what it prepared and waits for the batch it is preparing, so nothing is left running.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable

_END = object()


class _Failed:
    """An exception of the preparing thread, raised again in the consumer's thread at the batch it belongs to."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class DeviceFeed:
    """``prepare(batch)`` for each of ``batches``, ``ahead`` batches ahead of the consumer, on a thread.

    ``prepare`` returns (indices, tensor or None, failures); the tensor is on ``device`` and ready to use
    in the consumer's thread (on CUDA its stream waits for it).
    """

    def __init__(self, batches: Iterable, prepare: Callable, device: str, ahead: int = 2) -> None:
        self.batches, self.prepare, self.device, self.ahead = batches, prepare, device, max(1, ahead)

    def __iter__(self):
        ready: queue.Queue = queue.Queue(maxsize=self.ahead)
        stop = threading.Event()
        thread = threading.Thread(target=self._fill, args=(ready, stop), name="cvlens-device-feed", daemon=True)
        thread.start()
        try:
            while (item := ready.get()) is not _END:
                if isinstance(item, _Failed):
                    raise item.error
                yield self._received(*item)
        finally:  # the end, an error or a cancel: stop the thread before the caller goes on
            stop.set()
            with contextlib.suppress(queue.Empty):
                while True:
                    ready.get_nowait()  # frees a put that waits for room
            thread.join()

    def _fill(self, ready: queue.Queue, stop: threading.Event) -> None:
        import torch

        batches = None
        try:  # whatever fails here reaches the consumer, which would otherwise wait for ever
            batches = iter(self.batches)
            stream = _side_stream(self.device)
            with torch.inference_mode(), _on_stream(stream):  # both are per thread: this thread's own
                for batch in batches:
                    prepared = self.prepare(batch)
                    if not _put(ready, stop, (prepared, _event_after(stream))) or stop.is_set():
                        return
            _put(ready, stop, _END)
        except BaseException as exc:  # a loader that failed, a GPU that went away: the consumer raises it
            _put(ready, stop, _Failed(exc))
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # reading threads and worker processes of the loader end here

    def _received(self, prepared, event):
        """The batch, usable on the consumer's CUDA stream: that stream waits for the event recorded after it."""
        if event is None:
            return prepared
        import torch

        consumer = torch.cuda.current_stream(torch.device(self.device))
        consumer.wait_event(event)
        batch = prepared[1]
        if batch is not None:  # allocated on the feed's stream: not reused before the consumer's stream is done
            batch.record_stream(consumer)
        return prepared


def _put(ready: queue.Queue, stop: threading.Event, item) -> bool:
    """Put ``item`` when there is room; False when the consumer stopped first."""
    while not stop.is_set():
        try:
            ready.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def _side_stream(device: str):
    """A CUDA stream for the feed, on the run's GPU; None elsewhere."""
    import torch

    if torch.device(device).type != "cuda":
        return None
    return torch.cuda.Stream(device=torch.device(device))


def _on_stream(stream):
    import torch

    return torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()


def _event_after(stream):
    """An event recorded on the feed's stream after the batch's work (None on a CPU)."""
    return stream.record_event() if stream is not None else None


def to_device(batch, device: str, memory_format=None):
    """A CPU batch on the run device: on CUDA from pinned memory, without blocking the host (the feed's event
    says when it has arrived); elsewhere a plain copy, or the batch itself."""
    import torch

    layout = memory_format or torch.contiguous_format
    if torch.device(device).type == "cuda" and batch.device.type == "cpu" and not batch.is_pinned():
        batch = batch.pin_memory()
    return batch.to(device, non_blocking=True, memory_format=layout)
