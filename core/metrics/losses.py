"""Per-sample losses of the lecture, one value per sample, so that samples can be ranked by loss.

Inputs are numpy arrays of probabilities (what CV Lens stores), the first axis being the samples;
outputs are float64 arrays of shape (N,). A loss over several values per sample (labels, classes,
pixels) is their mean, unless its formula says sum. Probabilities are clipped to [EPS, 1 - EPS] so that
log(0) never happens. Where torch or torchvision has the loss it is used with ``reduction="none"``;
torch, torchvision and scipy are imported only when a loss is called.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-7


def _clip(probs) -> np.ndarray:
    return np.clip(np.asarray(probs, dtype=np.float64), EPS, 1 - EPS)


def _tensor(x):
    import torch

    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def _logits(probs):
    """log(p / (1 - p)) of the clipped probabilities, for the torch losses that take logits."""
    p = _clip(probs)
    return _tensor(np.log(p) - np.log1p(-p))


def _pixels(x: np.ndarray) -> int:
    """Values per sample: the product of every axis but the first (1 for a 1-D array)."""
    return int(np.prod(x.shape[1:], dtype=np.int64))


def _per_sample(values, reduce: str = "mean") -> np.ndarray:
    """Mean (or sum) over every axis but the first, as float64 numpy."""
    values = values.numpy() if hasattr(values, "numpy") else np.asarray(values)
    flat = values.reshape(len(values), _pixels(values)).astype(np.float64)
    return flat.sum(axis=1) if reduce == "sum" else flat.mean(axis=1)


def _one_hot_like(y_true, probs: np.ndarray) -> np.ndarray:
    """Targets shaped like probs: integer labels (N,) against N x C probabilities become one-hot."""
    y_true = np.asarray(y_true)
    if y_true.shape == probs.shape:
        return y_true.astype(np.float64)
    if y_true.ndim == 1 and probs.ndim == 2 and len(y_true) == len(probs):
        return np.eye(probs.shape[1])[y_true]
    raise ValueError(f"targets of shape {y_true.shape} do not fit probabilities of shape {probs.shape}")


def binary_cross_entropy(y_true, probs) -> np.ndarray:
    """BCE = -(y log p + (1 - y) log(1 - p)), per sample (mean over any further axes).

    The lecture's -1/N sum_i [y_i log p(y_i) + (1 - y_i) log(1 - p(y_i))], without the mean over samples.
    """
    import torch.nn.functional as F

    return _per_sample(F.binary_cross_entropy(_tensor(_clip(probs)), _tensor(y_true), reduction="none"))


def categorical_cross_entropy(y_true, probs) -> np.ndarray:
    """logloss_i = -sum_j y_ij log p_ij, i.e. -log p_i[true class], for N x C probabilities.

    ``y_true`` is class indices (N,) or one-hot / soft targets (N x C). A negative label (unlabeled)
    gives NaN.
    """
    import torch
    import torch.nn.functional as F

    probs, y_true = np.asarray(probs, dtype=np.float64), np.asarray(y_true)
    log_p = np.log(_clip(probs))
    if y_true.shape == probs.shape:
        return -(y_true * log_p).sum(axis=1)
    labels = torch.as_tensor(np.where(y_true < 0, 0, y_true).astype(np.int64))
    loss = F.nll_loss(_tensor(log_p), labels, reduction="none").numpy()
    return np.where(y_true < 0, np.nan, loss)


def sigmoid_cross_entropy(y_true, probs, pos_weight=None) -> np.ndarray:
    """Multilabel loss: the binary cross-entropy of every label, averaged over the labels of a sample.

    With ``pos_weight`` (one weight w_c per label, or one number) it is the weighted sigmoid
    cross-entropy -(w_c y log p + (1 - y) log(1 - p)): w_c > 1 makes missed positives of label c cost more.
    """
    if pos_weight is None:
        return binary_cross_entropy(y_true, probs)
    import torch.nn.functional as F

    weight = _tensor(pos_weight)
    loss = F.binary_cross_entropy_with_logits(_logits(probs), _tensor(y_true), pos_weight=weight, reduction="none")
    return _per_sample(loss)


def weighted_sigmoid_cross_entropy(y_true, probs, pos_weight) -> np.ndarray:
    """Weighted sigmoid cross-entropy, -(w_c y log p + (1 - y) log(1 - p)) averaged over labels."""
    return sigmoid_cross_entropy(y_true, probs, pos_weight)


def mse(y_true, probs) -> np.ndarray:
    """MSE = 1/m sum (y - p)^2 over the m outputs of a sample; labels (N,) are one-hot encoded first."""
    import torch.nn.functional as F

    probs = np.asarray(probs, dtype=np.float64)
    return _per_sample(F.mse_loss(_tensor(probs), _tensor(_one_hot_like(y_true, probs)), reduction="none"))


def mae(y_true, probs) -> np.ndarray:
    """MAE = 1/m sum |p - y| over the m outputs of a sample; labels (N,) are one-hot encoded first."""
    import torch.nn.functional as F

    probs = np.asarray(probs, dtype=np.float64)
    return _per_sample(F.l1_loss(_tensor(probs), _tensor(_one_hot_like(y_true, probs)), reduction="none"))


def rmse(y_true, probs) -> np.ndarray:
    """RMSE = sqrt(1/m sum (p - y)^2) over the m outputs of a sample."""
    return np.sqrt(mse(y_true, probs))


def focal_loss(y_true, probs, alpha: float | None = 0.25, gamma: float = 2.0) -> np.ndarray:
    """FL(p_t) = -alpha_t (1 - p_t)^gamma log(p_t), per sample (mean over labels or pixels).

    Targets shaped like ``probs`` (binary, multilabel, masks): p_t = p where y = 1, else 1 - p, and
    alpha_t = alpha for positives, 1 - alpha for negatives (torchvision's ``sigmoid_focal_loss``).
    Labels (N,) against N x C probabilities (multiclass): p_t = p[true class], alpha_t = alpha.
    ``alpha=None`` weighs nothing.
    """
    probs, y_true = np.asarray(probs, dtype=np.float64), np.asarray(y_true)
    if y_true.shape != probs.shape:
        p_t = _clip(probs)[np.arange(len(probs)), np.maximum(y_true, 0)]
        loss = (1.0 if alpha is None else alpha) * -((1 - p_t) ** gamma) * np.log(p_t)
        return np.where(y_true < 0, np.nan, loss)  # unlabeled
    from torchvision.ops import sigmoid_focal_loss

    a = -1.0 if alpha is None else alpha  # torchvision: a negative alpha means no weighting
    return _per_sample(sigmoid_focal_loss(_logits(probs), _tensor(y_true), alpha=a, gamma=gamma, reduction="none"))


def weighted_binary_cross_entropy(target, probs, pos_weight: float | None = None) -> np.ndarray:
    """WBCE = -(beta y log p + (1 - y) log(1 - p)), mean over the pixels of each image.

    ``pos_weight`` is beta; None balances each image: beta = negative pixels / positive pixels
    (1 for an image without positive pixels).
    """
    import torch.nn.functional as F

    target = np.asarray(target, dtype=np.float64)
    if pos_weight is None:
        positives = _per_sample(target, "sum")
        negatives = _pixels(target) - positives
        pos_weight = np.where(positives > 0, negatives / np.maximum(positives, 1), 1.0)
    weight = _tensor(np.reshape(pos_weight, (-1,) + (1,) * (target.ndim - 1)))
    loss = F.binary_cross_entropy_with_logits(_logits(probs), _tensor(target), pos_weight=weight, reduction="none")
    return _per_sample(loss)


def dice_loss(target, probs) -> np.ndarray:
    """DL(y, p) = 1 - (2 sum y p + 1) / (sum y + sum p + 1), sums over the pixels of each image.

    The +1 keeps it defined for an empty mask: an empty prediction of an empty mask costs 0.
    """
    y = np.asarray(target, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    return 1 - (2 * _per_sample(y * p, "sum") + 1) / (_per_sample(y, "sum") + _per_sample(p, "sum") + 1)


def _signed_distance(mask: np.ndarray) -> np.ndarray:
    """phi_G: distance to the object outside it, minus (distance to the background - 1) inside it
    (Kervadec et al.'s ``one_hot2dist``); zero when the mask is empty or full (no boundary)."""
    from scipy.ndimage import distance_transform_edt

    if not mask.any() or mask.all():
        return np.zeros(mask.shape)
    return distance_transform_edt(~mask) * ~mask - (distance_transform_edt(mask) - 1) * mask


def boundary_loss(target, probs) -> np.ndarray:
    """Boundary loss (Kervadec et al., 2019): L_B = 1/|Omega| sum_q phi_G(q) p(q), mean over the pixels of
    each image, phi_G the signed distance map of the ground truth (negative inside, positive outside).

    Predicted probability far outside the object costs in proportion to the distance; probability inside
    it lowers the loss. An image whose mask is empty or full has no boundary and a loss of 0.
    """
    target = np.asarray(target).astype(bool)
    probs = np.asarray(probs, dtype=np.float64)
    if target.shape != probs.shape:
        raise ValueError(f"target and probs differ in shape: {target.shape} != {probs.shape}")
    return np.array([np.mean(_signed_distance(t) * p) if t.size else np.nan for t, p in zip(target, probs)])
