"""A model made as fast as its device allows: channels_last, ``torch.compile``, autocast, cuDNN autotuning.

Each is an option of the job; none may change the predictions beyond float rounding, and none may end
a run: a compile that fails is noted and the run goes on with the plain model.
"""

from __future__ import annotations

import contextlib


def fast_model(model, device: str, *, channels_last: bool, compile: bool | str, notes: list[str]):
    """``model`` (already on ``device``, in eval mode) as the job calls it; what went wrong goes into ``notes``."""
    import torch
    from torch import nn

    if device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True  # batches keep one shape: let cuDNN pick its fastest kernels
    runnable = model
    is_module = isinstance(runnable, nn.Module)
    if is_module and channels_last:
        runnable = runnable.to(memory_format=torch.channels_last)
    if is_module and compile and not isinstance(runnable, torch.jit.ScriptModule):
        backend = compile if isinstance(compile, str) else "inductor"
        try:
            runnable = torch.compile(runnable, backend=backend)
        except Exception as exc:  # an unknown backend, a platform torch.compile does not support
            notes.append(f"torch.compile failed ({type(exc).__name__}: {exc}): ran without it")
    return runnable


def autocast_for(model, device: str, amp: bool):
    """Autocast on CUDA (bfloat16 where the GPU has it, else float16) for a plain torch module; else nothing
    (TorchScript and ONNX models run in the precision they were exported in)."""
    import torch
    from torch import nn

    plain_module = isinstance(model, nn.Module) and not isinstance(model, torch.jit.ScriptModule)
    if not (amp and device.startswith("cuda") and plain_module):
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)
