"""Which device a run uses, and how a failure of the device is told apart from a failure of the model."""

from __future__ import annotations

from core.models.cards import ModelError


def pick_device(requested: str | None = None) -> str:
    """The device to run on: the one asked for, else CUDA, else Apple MPS, else the CPU."""
    import torch

    if requested and requested != "auto":
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise ModelError("CUDA was asked for but no CUDA GPU is available")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def available_devices() -> list[str]:
    """Every device a run can use here, the default first."""
    import torch

    devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return [*devices, "cpu"]


def is_out_of_memory(exc: BaseException) -> bool:
    """The device ran out of memory: a smaller batch may fit."""
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def device_failed(exc: BaseException) -> bool:
    """The GPU itself failed (a driver error, a device that went away): not the model's fault."""
    import torch

    accelerator_error = getattr(torch, "AcceleratorError", ())
    return isinstance(exc, accelerator_error) or "CUDA error" in str(exc) or "CUDA driver" in str(exc)
