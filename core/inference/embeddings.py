"""Embeddings: one feature vector per sample, captured in the same forward pass as the predictions.

A classifier's embedding is the input of its last linear layer (the pooled features a ResNet's ``fc`` reads,
the 4096 values of a VGG's last hidden layer, what a MobileNet's head reads after its Dropout), found from the
architecture by :func:`find_embedding_layer` and read by a forward pre-hook. A segmenter's is its bottleneck
(the U-Net's deepest encoder level, a torchvision segmenter's backbone), global-average pooled per image
(:func:`find_bottleneck`). An ONNX model gives one when it has an output named for it ("embedding",
"features", ...: :func:`onnx_embedding_output`); TorchScript models and others give none, and say so.

:class:`EmbeddingCapture` hooks the layer while a ``with`` block lasts and keeps each pass's rows (float16,
detached, on the CPU); a job takes them after each successful batch and writes them into an
:class:`EmbeddingStore`, an N x D float16 ``.npy`` file memory-mapped while written, renamed into place when
complete, and read back memory-mapped and read-only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.models.cards import ModelError
from core.system.files import create_temp_beside

#: Submodules that only train (auxiliary classifiers): their linear layers are no embedding.
AUXILIARY = ("AuxLogits", "aux1", "aux2", "aux_classifier")
#: ONNX output names that carry an embedding (matched as whole words, case-insensitive).
ONNX_NAMES = re.compile(r"(^|[^a-z])(embedding|embeddings|features|feature|penultimate|pooled)([^a-z]|$)", re.I)
FLOAT16_MAX = 65504.0


class NoEmbeddings(ModelError):
    """The model gives no embeddings; the message says why (:func:`no_embeddings_reason`)."""


@dataclass(frozen=True)
class EmbeddingLayer:
    """Where a model's embedding is read: ``name`` of ``module``; ``reads`` "input" (a linear layer's input)
    or "pooled output" (a feature map averaged over its height and width)."""

    name: str
    module: object
    reads: str

    @property
    def dim(self) -> int | None:
        """The embedding's length, when the architecture says it (else known after the first batch)."""
        if self.reads == "input":
            return int(self.module.in_features)
        from torch import nn

        convs = [m for m in self.module.modules() if isinstance(m, nn.Conv2d)]
        return int(convs[-1].out_channels) if convs else None


def _inside(name: str, prefixes: list[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def find_embedding_layer(model) -> tuple[str, object] | None:
    """(name, module) of the last ``nn.Linear`` of a classifier, whose input is the embedding; None when the
    model has none (a segmenter, a network whose head is a convolution, a TorchScript or ONNX model).

    Auxiliary heads (Inception's ``AuxLogits``, GoogLeNet's ``aux1``/``aux2``) are passed over, and so are the
    projections inside attention blocks, which ``nn.MultiheadAttention`` applies without calling them.
    """
    import torch
    from torch import nn

    if not isinstance(model, nn.Module) or isinstance(model, torch.jit.ScriptModule):
        return None
    modules = list(model.named_modules())
    attention = [n for n, m in modules if isinstance(m, nn.MultiheadAttention)]
    found = None
    for name, module in modules:
        parts = name.split(".")
        if isinstance(module, nn.Linear) and not set(parts) & set(AUXILIARY) and not _inside(name, attention):
            found = (name, module)
    return found


def find_bottleneck(model) -> tuple[str, object] | None:
    """(name, module) of a segmenter's bottleneck: the U-Net's deepest encoder level, a torchvision
    segmenter's ``backbone``; None for other models."""
    from torch import nn

    from core.models.unet import UNet

    if isinstance(model, UNet):
        return f"down.{len(model.down) - 1}", model.down[-1]
    backbone = getattr(model, "backbone", None)
    if isinstance(model, nn.Module) and isinstance(backbone, nn.Module) and hasattr(model, "classifier"):
        return "backbone", backbone
    return None


def embedding_layer(model, layer: str | None = None) -> EmbeddingLayer | None:
    """Where ``model``'s embedding is read (see the module docstring), or the named ``layer``: a linear layer's
    input, any other module's output pooled. None when the model gives none."""
    from torch import nn

    if layer is not None:
        modules = dict(model.named_modules()) if isinstance(model, nn.Module) else {}
        if not layer or layer not in modules:
            raise ModelError(f"the model has no layer {layer!r}")
        module = modules[layer]
        return EmbeddingLayer(layer, module, "input" if isinstance(module, nn.Linear) else "pooled output")
    found = find_embedding_layer(model)
    if found is not None:
        return EmbeddingLayer(*found, "input")
    found = find_bottleneck(model)
    return EmbeddingLayer(*found, "pooled output") if found is not None else None


def onnx_embedding_output(model) -> str | None:
    """The name of an ONNX model's output that holds an embedding (2-D, named for it), if it has one."""
    session = getattr(model, "session", None)
    if session is None:
        return None
    for output in session.get_outputs()[1:]:  # the first is the class scores
        if len(output.shape) == 2 and ONNX_NAMES.search(output.name):
            return output.name
    return None


def no_embeddings_reason(model) -> str | None:
    """Why ``model`` gives no embeddings, or None when it gives them."""
    import torch

    if type(model).__name__ == "OnnxModel":
        if onnx_embedding_output(model) is not None:
            return None
        return "this ONNX model gives no embeddings: it has no output named 'embedding' or 'features'"
    if isinstance(model, torch.jit.ScriptModule):
        return "a TorchScript model gives no embeddings: its layers cannot be hooked"
    if embedding_layer(model) is None:
        return "this model gives no embeddings: it has no linear head and no known bottleneck"
    return None


def _rows(tensor):
    """A batch's features -> N x D float16 on the CPU (a feature map averaged over its height and width)."""
    import torch

    if isinstance(tensor, dict):  # torchvision backbones: {"out": ..., "aux": ...}, LR-ASPP's {"low", "high"}
        tensor = tensor["out"] if "out" in tensor else list(tensor.values())[-1]
    tensor = tensor.detach()
    if tensor.ndim > 2:
        tensor = tensor.float().mean(dim=tuple(range(2, tensor.ndim)))
    rows = tensor.flatten(1).clamp(-FLOAT16_MAX, FLOAT16_MAX).to(torch.float16)  # no inf from bfloat16 values
    return rows.cpu()


class EmbeddingCapture:
    """Collects ``model``'s embedding rows of every forward pass while the ``with`` block lasts.

    ``layer`` names the layer to read instead of the one found. After each successful forward pass call
    :meth:`take` for its rows; a pass that failed (out of memory, then retried smaller) is dropped with
    :meth:`clear`. NoEmbeddings (a ModelError) when the model gives none (the message says why). Enter the block before
    the first call of a ``torch.compile``-d model: a hook added later is not in the traced graph. For an ONNX
    model enter it after ``model.to(device)``: the capture reads the session that is current then.
    """

    def __init__(self, model, layer: str | None = None) -> None:
        self.model = model
        self._onnx_output = onnx_embedding_output(model) if type(model).__name__ == "OnnxModel" else None
        self.layer = None if self._onnx_output else embedding_layer(model, layer)
        if self.layer is None and self._onnx_output is None:
            raise NoEmbeddings(no_embeddings_reason(model) or "this model gives no embeddings")
        self._blocks: list = []
        self._undo = None

    @property
    def layer_name(self) -> str:
        return self._onnx_output or self.layer.name

    @property
    def dim(self) -> int | None:
        """The embedding's length when known before a pass (a linear layer's input, the U-Net's channels)."""
        if self._onnx_output is not None:
            shape = next(o.shape for o in self.model.session.get_outputs() if o.name == self._onnx_output)
            return shape[1] if isinstance(shape[1], int) else None
        return self.layer.dim

    def __enter__(self) -> EmbeddingCapture:
        if self._onnx_output is not None:
            self._undo = _tap_session(self.model, self._onnx_output, self._blocks.append)
        elif self.layer.reads == "input":
            handle = self.layer.module.register_forward_pre_hook(lambda _m, args: self._blocks.append(_rows(args[0])))
            self._undo = handle.remove
        else:
            handle = self.layer.module.register_forward_hook(lambda _m, _a, out: self._blocks.append(_rows(out)))
            self._undo = handle.remove
        return self

    def __exit__(self, *exc) -> None:
        if self._undo is not None:
            self._undo()
            self._undo = None

    def take(self) -> np.ndarray:
        """The rows captured since the last take or clear, N x D float16, and forget them."""
        import torch

        blocks, self._blocks[:] = list(self._blocks), []
        if not blocks:
            return np.zeros((0, self.dim or 0), np.float16)
        return torch.cat(blocks).numpy() if not isinstance(blocks[0], np.ndarray) else np.concatenate(blocks)

    def clear(self) -> None:
        self._blocks.clear()


def _tap_session(model, name: str, sink):
    """Make ``model``'s onnxruntime session hand output ``name`` to ``sink`` on each run; returns the undo."""
    session = model.session

    class Tap:
        def __getattr__(self, attr):
            return getattr(session, attr)

        def run(self, output_names, feed, *args, **kwargs):
            outputs = session.run(output_names, feed, *args, **kwargs)
            names = output_names or [o.name for o in session.get_outputs()]
            if name in names:
                array = np.asarray(outputs[names.index(name)], dtype=np.float32).reshape(len(outputs[0]), -1)
                sink(np.clip(array, -FLOAT16_MAX, FLOAT16_MAX).astype(np.float16))
            return outputs

    model.session = Tap()

    def undo():
        model.session = session

    return undo


class EmbeddingStore:
    """An N x D float16 array on disk (``.npy``), written in row blocks by a job and renamed into place whole.

    Writing goes to a hidden temporary file beside ``path`` (memory-mapped); :meth:`finish` flushes it to disk
    and renames it onto ``path``, :meth:`abort` removes it, so ``path`` only ever holds a complete store. Used as
    a context manager it finishes when the block ends normally and aborts on an error. :meth:`open` reads a
    store back memory-mapped and read-only.
    """

    def __init__(self, path: str | Path, n: int, dim: int) -> None:
        from numpy.lib.format import open_memmap

        if n < 0 or dim < 1:
            raise ValueError(f"an embedding store holds n >= 0 rows of dim >= 1 values, not {n} x {dim}")
        self.path = Path(path)
        fd, self._tmp = create_temp_beside(self.path, suffix=".partial")
        os.close(fd)  # created with the user's umask; numpy reopens it by name
        self.array = open_memmap(self._tmp, mode="w+", dtype=np.float16, shape=(n, dim))
        self.written = np.zeros(n, dtype=bool)

    def write(self, rows, block: np.ndarray) -> None:
        """Put ``block`` (len(rows) x D) at ``rows``: sample indices, or the first index of a contiguous block."""
        block = np.asarray(block)
        if isinstance(rows, (int, np.integer)):
            rows = np.arange(int(rows), int(rows) + len(block))
        rows = np.asarray(rows, dtype=np.int64)
        if block.shape != (len(rows), self.array.shape[1]):
            raise ValueError(f"a block of shape {block.shape} for {len(rows)} rows of {self.array.shape[1]} values")
        self.array[rows] = block
        self.written[rows] = True

    def finish(self) -> Path:
        """Flush the rows to disk and rename the file onto ``path``; returns ``path``."""
        self.array.flush()
        del self.array
        with open(self._tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop what was written; ``path`` is left as it was."""
        self.array = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddingStore:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()

    @staticmethod
    def open(path: str | Path) -> np.ndarray:
        """A finished store, memory-mapped read-only: N x D float16."""
        array = np.load(Path(path), mmap_mode="r")
        if array.dtype != np.float16 or array.ndim != 2:
            raise ValueError(f"{path} is not an embedding store (N x D float16), it holds {array.dtype} {array.shape}")
        return array


class RunEmbeddings:
    """A job's embeddings: the capture on its model and the store its rows go to, across cancel and resume.

    The job calls :meth:`attach` once its model is built and before its first forward pass (the hook must be
    in a ``torch.compile`` graph from the start), :meth:`clear` before each forward pass, :meth:`take` after it
    and :meth:`write` for the samples whose predictions were recorded (so the rows written are the
    predictions' ``done``), :meth:`finish` when every sample is handled and :meth:`abort` on a failure. The
    store is created at the first write, when the rows' length is known for every model. A run resumed after a
    failure re-runs the samples predicted before it (:meth:`missing`): their rows went with the aborted store.
    """

    def __init__(self, path: str | Path, n: int) -> None:
        self.path = Path(path)
        self.n = int(n)
        self.capture: EmbeddingCapture | None = None
        self.store: EmbeddingStore | None = None
        self.finished = False
        self._array = None

    def attach(self, model) -> None:
        """Hook ``model`` (once: a hook added again would be called twice by a compiled graph that kept the
        first); ModelError with the reason when the model gives no embeddings."""
        if self.capture is None:
            self.capture = EmbeddingCapture(model).__enter__()

    def clear(self) -> None:
        if self.capture is not None:
            self.capture.clear()

    def take(self) -> np.ndarray:
        return self.capture.take()

    def write(self, indices, rows: np.ndarray) -> None:
        """Rows of the given samples (dropped once the store is finished: a re-run of a few samples)."""
        indices = np.asarray(indices, dtype=np.int64)
        if self.finished or not len(indices):
            return
        if self.store is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)  # a folder named for it, not made yet
            self.store = EmbeddingStore(self.path, self.n, int(rows.shape[1]))
        self.store.write(indices, rows)

    def rows(self, indices) -> np.ndarray | None:
        """A copy of the rows at ``indices`` (zeros where none was written); None before the first write."""
        if self.finished:
            return np.array(self.array[indices])
        return None if self.store is None else np.array(self.store.array[indices])

    def missing(self, done: np.ndarray) -> np.ndarray:
        """Samples predicted (``done``) whose rows are not in the store: to run again before finishing."""
        if self.finished:
            return np.empty(0, dtype=np.int64)
        written = self.store.written if self.store is not None else np.zeros(self.n, dtype=bool)
        return np.flatnonzero(done & ~written)

    def finish(self) -> None:
        """Put the store in place (an empty one when no row came and the length is known); idempotent."""
        if self.finished:
            return
        if self.store is None:
            dim = self.capture.dim if self.capture is not None else None
            if not dim:  # no sample predicted and a length only a pass tells: no embeddings
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.store = EmbeddingStore(self.path, self.n, dim)
        self.store.finish()
        self.store, self.finished = None, True

    def abort(self) -> None:
        """Drop the rows written so far (nothing is left on disk); a later run starts a new store."""
        if self.store is not None:
            self.store.abort()
            self.store = None

    @property
    def array(self) -> np.ndarray | None:
        """The finished store, N x D float16, memory-mapped read-only; None before it is finished."""
        if not self.finished:
            return None
        if self._array is None:
            self._array = EmbeddingStore.open(self.path)
        return self._array
