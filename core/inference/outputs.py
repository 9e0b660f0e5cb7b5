"""A classifier's output -> one probability per class, for binary, multiclass and multilabel models."""

from __future__ import annotations

import numpy as np

from core.inference.class_map import ClassMapping
from core.models.cards import ModelCard, ModelError


def as_logits(output):
    """The class scores of a model's output: torchvision segmenters give {"out": ...}, Inception a tuple."""
    if isinstance(output, dict):
        output = output["out"] if "out" in output else next(iter(output.values()))
    if isinstance(output, (tuple, list)):
        output = output[0]
    return output


def class_scores(
    card: ModelCard, logits, class_map: ClassMapping | None = None, multilabel: bool = False
) -> np.ndarray:
    """N x C logits -> N x C probabilities (sigmoid for ``multilabel`` and one-logit binary heads, else softmax),
    mapped onto the dataset's classes by ``class_map``. A ModelError when the shape is not one score per class."""
    import torch

    if logits.ndim != 2:
        raise ModelError(f"{card.display_name} gives outputs of shape {tuple(logits.shape)}, not one score per class")
    if logits.shape[1] not in (card.num_classes, 1):
        raise ModelError(
            f"{card.display_name} gives {logits.shape[1]} outputs, but its card names {card.num_classes} classes"
        )
    if multilabel:
        scores = torch.sigmoid(logits)
    elif logits.shape[1] == 1 and card.num_classes == 2:  # one-logit binary head
        p = torch.sigmoid(logits)
        scores = torch.cat([1 - p, p], dim=1)
    else:
        scores = torch.softmax(logits, dim=1)
    scores = scores.cpu().numpy()
    if class_map is not None:
        scores = class_map.apply(scores, multilabel=multilabel)
    return scores
