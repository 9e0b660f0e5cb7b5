"""How a model's input is prepared from an image, in one place: an image variant and a tensor variant.

Both take what they need from the card (``input_size``, ``resize_size``, ``interpolation``, ``channels``,
``mean``, ``std``) through the helpers below, so the two cannot drift apart in what they do:

- :func:`preprocess_image`: one H x W x C uint8 RGB numpy image -> C x H x W float32 (the CPU path, what
  ``ModelCard.preprocess`` gives and what the bundled models were trained with);
- :func:`preprocess_tensors`: C x H x W uint8 tensors on any device (after GPU decoding) -> N x C x H x W.

Where they differ they differ on purpose, and by at most a grey level or two. With ``interpolation``
"auto" and no ``resize_size`` the image variant resizes with OpenCV (area when shrinking, else bilinear:
what the bundled cards were trained with); the tensor variant has no area filter and uses torchvision's
antialiased bilinear resize. Otherwise both use torchvision's resize and centre crop. Grayscale is taken
from the uint8 image on the image path (OpenCV) and from the float batch on the tensor path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only: the card imports this module to define its preprocess
    from core.models.cards import ModelCard


def _uses_torchvision_resize(card: ModelCard) -> bool:
    """Whether the image variant resizes as torchvision does (the card asks for a crop or a filter)."""
    return card.resize_size is not None or card.interpolation != "auto"


def _resize_target(card: ModelCard) -> list[int]:
    """torchvision's ``size``: the shorter side (cropped afterwards), or the input size itself."""
    return [card.resize_size] if card.resize_size is not None else list(card.input_size)


def _interpolation_mode(card: ModelCard):
    from torchvision.transforms import InterpolationMode

    return InterpolationMode.BILINEAR if card.interpolation == "auto" else InterpolationMode(card.interpolation)


def resize_and_crop(card: ModelCard, tensor):
    """Resize a ... x C x H x W uint8 tensor (one image or a batch) and centre-crop it to ``input_size``."""
    import torchvision.transforms.v2.functional as F

    tensor = F.resize(tensor, _resize_target(card), interpolation=_interpolation_mode(card), antialias=True)
    return F.center_crop(tensor, list(card.input_size))


def normalisation(card: ModelCard) -> tuple[np.ndarray, np.ndarray]:
    """The card's mean and std as float32 arrays of shape C x 1 x 1 (one value broadcasts to every channel)."""
    mean = np.asarray(card.mean, dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(card.std, dtype=np.float32).reshape(-1, 1, 1)
    return mean, std


# -- the image variant (numpy, CPU) -----------------------------------------------------------
def resize_image(card: ModelCard, image: np.ndarray) -> np.ndarray:
    """H x W x C uint8 -> the model's input size, still H x W x C uint8."""
    if _uses_torchvision_resize(card):
        import torch

        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
        return resize_and_crop(card, tensor).permute(1, 2, 0).numpy()
    import cv2

    height, width = card.input_size
    if image.shape[:2] == (height, width):
        return image
    shrinking = image.shape[0] > height or image.shape[1] > width
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interp)


def preprocess_image(card: ModelCard, image: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 RGB -> C x H x W float32, resized (and cropped) and normalised as in training."""
    image = resize_image(card, image)
    if card.channels == 1:
        import cv2

        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[:, :, None]
    array = np.ascontiguousarray(image.transpose(2, 0, 1)).astype(np.float32) / 255.0
    mean, std = normalisation(card)
    return (array - mean) / std


# -- the tensor variant (torch, any device) ---------------------------------------------------
def preprocess_tensors(card: ModelCard, images: list):
    """C x H x W uint8 RGB tensors, all on one device -> N x C x H x W float32 there.

    Images of one size are resized in one call; the normalisation is done once for the batch.
    """
    import torch
    import torchvision.transforms.v2.functional as F

    if len({tuple(image.shape) for image in images}) == 1:
        batch = resize_and_crop(card, torch.stack(images))
    else:
        batch = torch.stack([resize_and_crop(card, image) for image in images])
    batch = batch.float().div_(255.0)
    if card.channels == 1:
        batch = F.rgb_to_grayscale(batch)
    mean, std = (torch.from_numpy(a)[None].to(batch.device, non_blocking=True) for a in normalisation(card))
    return (batch - mean) / std
