"""ONNX models behind the interface the runner uses for torch modules, run by onnxruntime.

onnxruntime and torch are imported when a model is opened or called: importing ``core.models``
must not load them (start-up time), and onnxruntime is optional.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.models.cards import ModelError


class OnnxModel:
    """An ONNX model behind the interface the runner uses: ``to(device)``, ``eval()``, ``model(batch)``.

    onnxruntime runs it with the CUDA provider when the device is a GPU and the provider is installed,
    else on the CPU. A model exported with a fixed batch size is fed in chunks of that size.
    """

    def __init__(self, path: Path, device: str = "cpu", batch: int | None = None) -> None:
        self.path = Path(path)
        self.device = "cpu"
        self.session = None
        #: Images per call when the model's graph only works for that many (an internal reshape that
        #: fixes the batch although the input is declared dynamic); None: as the input declares.
        self.batch = batch
        self.to(device)

    def to(self, device=None, *args, **kwargs) -> OnnxModel:
        device = str(device) if device is not None and not isinstance(device, bool) else self.device
        if self.session is not None and device == self.device:
            return self
        import onnxruntime as ort

        providers: list = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            index = int(device.split(":")[1]) if ":" in device else 0
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": index}))
        try:
            self.session = ort.InferenceSession(str(self.path), providers=providers)
        except Exception as exc:  # onnxruntime's own exception types
            raise ModelError(f"{self.path.name} is not an ONNX model CV Lens can run: {exc}") from None
        self.device = device
        return self

    def eval(self) -> OnnxModel:
        return self

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    @property
    def input_shape(self) -> list:
        return list(self.session.get_inputs()[0].shape)

    @property
    def output_shape(self) -> list:
        return list(self.session.get_outputs()[0].shape)

    def __call__(self, batch):
        import torch

        inp = self.session.get_inputs()[0]
        dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
        array = batch.detach().float().cpu().numpy().astype(dtype, copy=False)
        fixed = inp.shape[0] if isinstance(inp.shape[0], int) and inp.shape[0] > 0 else self.batch or len(array)
        outs = [self.session.run(None, {inp.name: array[i : i + fixed]})[0] for i in range(0, len(array), fixed)]
        return torch.from_numpy(np.concatenate(outs).astype(np.float32, copy=False)).to(batch.device)


def load_onnx(path: Path, device: str = "cpu", batch: int | None = None) -> OnnxModel:
    """The ONNX model in ``path``, ready to run; a ModelError that says what to install without onnxruntime."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ModelError(f"{Path(path).name} is an ONNX model: install the 'onnxruntime' package to run it") from None
    return OnnxModel(path, device, batch)
