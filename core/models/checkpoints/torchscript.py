"""TorchScript archives: a model whose code is TorchScript, interpreted by torch, not Python that could run."""

from __future__ import annotations

from pathlib import Path

from core.models.cards import ModelError
from core.models.weights import check_archive


def load_torchscript(path: Path):
    """A TorchScript archive: its code is TorchScript, interpreted by torch, not Python that could run."""
    import torch  # deferred: importing core.models must not load torch (start-up time)

    check_archive(Path(path))
    try:
        return torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as exc:  # torch.jit raises RuntimeError or its own errors for a damaged archive
        raise ModelError(f"{Path(path).name} is not a TorchScript model CV Lens can read: {exc}") from None
