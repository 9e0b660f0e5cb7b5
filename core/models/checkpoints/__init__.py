"""The user's own models: checkpoints recognised from their content, read as data, described by a card.

:func:`open_checkpoint` reads a state_dict (.pt/.pth, nested or not, DataParallel prefixes or not),
a safetensors file, a TorchScript archive or an ONNX model and returns a :class:`ModelCard` that
``build_model`` turns into a runnable model. For a state_dict the architecture is recognised from
the key names and shapes: by the ``signatures.SIGNATURES`` table for the networks of ``core.models`` (one line
per network) and, for torchvision's networks, by comparing with each network's own state_dict,
built on torch's "meta" device so nothing is allocated. The number of classes is the head's size.
A pickled nn.Module (it would need its code to load) is refused, never executed.

One module per concern, from the top down:

- ``opening``: the format of a file, the card of a model file (:func:`open_checkpoint`), :func:`save_card`;
- ``recognition``: the architecture of a state_dict (:func:`recognise`, :class:`AmbiguousArchitecture`);
- ``signatures``: the networks of ``core.models`` by key signature; ``torchvision_match``: torchvision's;
- ``torchscript``, ``onnx_model``: models that are programs; ``probing``: their outputs, by running them;
- ``onnx_objects``, ``object_probing``: ONNX and TorchScript detectors and localizers (their output convention
  is ``docs/detector-checkpoints.md``); a detector's state_dict is recognised as any torchvision network's;
- ``class_names``: the class names given, in a sidecar ``classes.txt``, or numbered.

Reading the weights themselves (pickles as data, safetensors, zip bombs) is :mod:`core.models.weights`.
"""

from core.models.checkpoints.class_names import default_class_names, read_class_names
from core.models.checkpoints.onnx_model import OnnxModel, load_onnx
from core.models.checkpoints.onnx_objects import OnnxObjects, load_onnx_objects
from core.models.checkpoints.opening import checkpoint_format, open_checkpoint, save_card
from core.models.checkpoints.recognition import AmbiguousArchitecture, recognise
from core.models.checkpoints.signatures import KeySignature, Recognised
from core.models.checkpoints.torchscript import load_torchscript
from core.models.checkpoints.torchvision_match import signature_store

__all__ = [
    "AmbiguousArchitecture",
    "KeySignature",
    "OnnxModel",
    "OnnxObjects",
    "Recognised",
    "checkpoint_format",
    "default_class_names",
    "load_onnx",
    "load_onnx_objects",
    "load_torchscript",
    "open_checkpoint",
    "read_class_names",
    "recognise",
    "save_card",
    "signature_store",
]
