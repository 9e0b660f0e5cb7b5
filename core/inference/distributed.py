"""One evaluation over several processes, as ``torchrun`` starts them (one per GPU, or CPU shares).

Each rank runs its share of the dataset and rank 0 gathers the predictions. The shares are whole
batches dealt round-robin: every batch a rank runs is exactly a batch a single process would run,
so the numbers, and the files ``evaluate`` writes, are the same as a single-process run's (only
the measured time differs). gloo on the CPU, nccl on CUDA; ``torch.distributed`` does the rest.
The dataset is listed once per job, not once per rank: rank 0 opens it and sends the folder listings it
made as one compressed buffer; the others open it from that (:func:`open_dataset`).
A job's embeddings travel with its predictions: each rank sends the rows of its share, rank 0 writes them into
its store and puts it in place; the other ranks drop theirs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from core.datasets.base import Dataset
from core.datasets.errors import DatasetError
from core.datasets.layouts import open_dataset as open_here
from core.datasets.layouts import open_dataset_from, open_dataset_listed
from core.inference.predictions import Predictions
from core.inference.runner import InferenceJob
from core.models.cards import ModelError

TIMEOUT = timedelta(minutes=30)  # a slow rank (first CUDA start, a large share) is not a dead one


@dataclass(frozen=True)
class Rank:
    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """torchrun (torch.distributed.run) sets RANK and WORLD_SIZE for each process it starts."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def start(device: str | None = None) -> tuple[Rank, str]:
    """Join the process group torchrun prepared; return this process's rank and the device it runs on.

    CUDA (requested, or "auto" with GPUs present): one GPU per process (``cuda:LOCAL_RANK``), nccl.
    Otherwise the CPU with gloo.
    """
    import torch
    import torch.distributed as dist

    rank = Rank(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)))
    wants_cuda = (device or "auto").startswith("cuda") or (device in (None, "auto") and torch.cuda.is_available())
    if wants_cuda:
        if rank.local_rank >= torch.cuda.device_count():
            raise ModelError(f"rank {rank.rank} needs GPU {rank.local_rank}, but {torch.cuda.device_count()} are here")
        torch.cuda.set_device(rank.local_rank)
        run_on, backend = f"cuda:{rank.local_rank}", "nccl"
    else:
        run_on, backend = "cpu", "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=TIMEOUT)
    return rank, run_on


def stop() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def agree(rank: Rank, error: str | None) -> str | None:
    """Tell every rank whether any rank failed (so none waits forever for the others); the first error."""
    import torch.distributed as dist

    errors: list[str | None] = [None] * rank.world_size
    dist.all_gather_object(errors, error)
    return next((f"rank {r}: {e}" if rank.world_size > 1 else e for r, e in enumerate(errors) if e), None)


def open_dataset(rank: Rank | None, path, split: str | None = None, task: str | None = None) -> Dataset:
    """The dataset at ``path``, listed by rank 0 only: the others open it from rank 0's listings (sent as one
    uint8 buffer), so a tree of a million images costs one listing per job, and every rank shares rank 0's
    samples (the shares are cut by index). Without torchrun (``rank`` None) plain ``open_dataset``.
    Every rank calls this; when rank 0 cannot open the dataset the others raise a DatasetError too."""

    if rank is None or rank.world_size == 1:
        return open_here(path, split=split, task=task)
    if rank.is_main:
        try:
            dataset, listed = open_dataset_listed(path, split=split, task=task)
        except Exception:
            _broadcast_bytes(rank, None)  # the others stop waiting and learn it from agree()
            raise
        _broadcast_bytes(rank, listed)
        return dataset
    listed = _broadcast_bytes(rank, None)
    if listed is None:
        raise DatasetError("rank 0 could not open the dataset (it says why)")
    return open_dataset_from(listed, path, split=split, task=task)


def _broadcast_bytes(rank: Rank, data: bytes | None) -> bytes | None:
    """Rank 0's ``data`` on every rank (None stays None): a length, then the bytes as one uint8 tensor."""
    import torch
    import torch.distributed as dist

    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    size = torch.tensor([-1 if data is None else len(data)], dtype=torch.int64, device=device)
    dist.broadcast(size, src=0)
    if int(size.item()) < 0:
        return None
    if rank.is_main:
        buffer = torch.frombuffer(bytearray(data), dtype=torch.uint8).to(device)
    else:
        buffer = torch.empty(int(size.item()), dtype=torch.uint8, device=device)
    dist.broadcast(buffer, src=0)
    return buffer.cpu().numpy().tobytes()


def barrier() -> None:
    import torch.distributed as dist

    dist.barrier()


def shard(todo: np.ndarray, batch_size: int, rank: Rank) -> np.ndarray:
    """This rank's samples: batches ``rank, rank + world, ...`` of ``todo`` cut as one process would cut it."""
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    mine = batches[rank.rank :: rank.world_size]
    return np.concatenate(mine) if mine else np.empty(0, dtype=np.int64)


def _payload(job: InferenceJob, mine: np.ndarray, error: str | None, seconds: float) -> dict:
    preds = job.predictions
    return {
        "indices": mine,
        "scores": preds.scores[mine],
        "done": preds.done[mine],
        "errors": {i: preds.errors[i] for i in mine.tolist() if i in preds.errors},
        "seconds": seconds,
        "error": error,
        "embeddings": job.embedding_run.rows(mine) if job.embedding_run is not None else None,
    }


def _merge(job: InferenceJob, payloads: list[dict]) -> None:
    preds = job.predictions
    for payload in payloads:
        preds.scores[payload["indices"]] = payload["scores"]
        preds.done[payload["indices"]] = payload["done"]
        preds.errors.update(payload["errors"])
        if payload["embeddings"] is not None:  # the rows of the samples the rank predicted
            job.embedding_run.write(payload["indices"][payload["done"]], payload["embeddings"][payload["done"]])
    preds.errors = dict(sorted(preds.errors.items()))  # the order a single process records them in


def run_shard(job: InferenceJob, rank: Rank, on_progress=None) -> Predictions | None:
    """Run this rank's share of ``job`` and gather everything on rank 0.

    Rank 0 returns the merged predictions (also left in ``job.predictions``), the others None. A rank
    whose model fails still sends what it did; rank 0 then raises a ModelError naming the rank, and
    the merged predictions up to each rank's last good batch stay in ``job.predictions``.
    """
    import torch
    import torch.distributed as dist

    mine = shard(job.predictions.pending(), job.batch_size, rank)
    before = job.predictions.seconds
    error = None
    try:
        for progress in job.run(mine):
            if on_progress is not None:
                on_progress(progress)
    except ModelError as exc:
        error = str(exc)
    payload = _payload(job, mine, error, job.predictions.seconds - before)
    gathered: list[dict] | None = [{}] * rank.world_size if rank.is_main else None
    dist.gather_object(payload, gathered, dst=0)
    if not rank.is_main:
        if job.embedding_run is not None:  # sent to rank 0, which writes the file
            job.embedding_run.abort()
        return None
    assert gathered is not None
    _merge(job, gathered)
    job.predictions.seconds = before + max(p["seconds"] for p in gathered)  # the ranks ran side by side
    job.predictions.device = torch.device(job.device).type  # "cuda" for cuda:0..N, as a single run says
    failures = [f"rank {r}: {p['error']}" for r, p in enumerate(gathered) if p["error"]]
    if job.embedding_run is not None:
        if failures:  # a failed run leaves no embeddings, as in one process
            job.embedding_run.abort()
        elif not len(job.predictions.pending()):
            job.embedding_run.finish()
    if failures:
        raise ModelError("; ".join(failures))
    return job.predictions


def all_gather(rank: Rank, obj) -> list:
    """``obj`` of every rank, in rank order, on every rank."""
    import torch.distributed as dist

    out: list = [None] * rank.world_size
    dist.all_gather_object(out, obj)
    return out


def gather(rank: Rank, obj) -> list | None:
    """``obj`` of every rank, in rank order, on rank 0; None on the others."""
    import torch.distributed as dist

    out: list | None = [None] * rank.world_size if rank.is_main else None
    dist.gather_object(obj, out, dst=0)
    return out
