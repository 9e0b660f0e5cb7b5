"""The networks defined in ``core.models``, by the name a model card gives in ``architecture``.

One table that building (:mod:`core.models.loading`) and recognising a checkpoint
(:mod:`core.models.checkpoints`) both read; adding a network is one line here and one
``KeySignature`` in :mod:`core.models.checkpoints.signatures`.
"""

from __future__ import annotations


def by_name() -> dict:
    """Network classes by architecture name: {"smallcnn": SmallCNN, "unet": UNet}."""
    # deferred: the networks import torch, which importing core.models must not (start-up time)
    from core.models.smallcnn import SmallCNN
    from core.models.unet import UNet

    return {"smallcnn": SmallCNN, "unet": UNet}
