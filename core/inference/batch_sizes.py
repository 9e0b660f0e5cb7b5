"""The batch size a run uses: asked for, or "auto", halved on out-of-memory and remembered per model and device.

The sizes that fit are kept in ``batch_sizes.json`` in the user's data folder, so the next run of the same
model on the same GPU starts at a size that fits instead of learning it again from errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from core.models.cards import ModelCard
from core.models.weights import user_data_dir
from core.system.files import write_atomic

AUTO_BATCH = {"cuda": 256, "cpu": 64}
BATCH_CACHE = "batch_sizes.json"


def _batch_cache_path() -> Path:
    return user_data_dir() / BATCH_CACHE


def remembered_batch_sizes() -> dict[str, int]:
    """Batch sizes that fit, by model and device, as the runner learned them from out-of-memory errors."""
    try:
        data = json.loads(_batch_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}


def remember_batch_size(key: str, size: int) -> None:
    sizes = remembered_batch_sizes()
    sizes[key] = int(size)
    path = _batch_cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(sizes, indent=1, sort_keys=True).encode("utf-8"))
    except OSError:
        pass  # a read-only data folder only means learning it again next time


def cache_key(card: ModelCard, device: str, amp: bool) -> str:
    """What a remembered size is valid for: the model, its input size, the precision and the GPU (by model
    and memory, not by index: ``cuda:1`` today may be another card than tomorrow)."""
    import torch

    name = device
    if device.startswith("cuda"):
        index = torch.device(device).index or 0
        props = torch.cuda.get_device_properties(index)
        name = f"{props.name} {props.total_memory >> 20} MiB"
    height, width = card.input_size
    precision = "amp" if amp and device.startswith("cuda") else "fp32"
    return f"{card.architecture}:{card.name}:{height}x{width}:{precision}@{name}"


@dataclass
class BatchFit:
    """The batch size now in use, and what the run learned on the way."""

    size: int
    auto: bool
    key: str
    notes: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, batch_size: int | str | None, key: str, device: str) -> BatchFit:
        """An int is used as it is; "auto" (or None, 0) starts from the remembered size, else a default."""
        if batch_size not in (None, "auto", 0):
            return cls(max(1, int(batch_size)), False, key)
        default = AUTO_BATCH["cuda" if device.startswith("cuda") else "cpu"]
        return cls(remembered_batch_sizes().get(key, default), True, key)

    def shrink(self, size: int) -> None:
        """``size`` did not fit: halve it, say so, and remember the smaller size for the next run."""
        self.size = max(1, size // 2)
        self.notes.append(f"out of memory at {size} images per batch: continuing with {self.size}")
        remember_batch_size(self.key, self.size)
