"""The bundled scene detector: torchvision's Faster R-CNN (or Mask R-CNN) on a tiny backbone.

A real torchvision detection architecture, sized for the 96 x 96 digit scenes of
``resources/demo/scene_detection`` so that it trains on two CPU cores in minutes:

- backbone: a stride-2 stem and three stages of two 3 x 3 convolutions (BatchNorm, ReLU), the first of
  each with stride 2, giving stride 4, 8 and 16 maps of ``width``, ``2 width`` and ``4 width`` channels; a
  feature pyramid merges them top-down (1 x 1 laterals, nearest upsampling, FPN's rule) into one stride-4
  map of ``fpn_channels``. Objects of 8 to 40 pixels all fall on the finest level under torchvision's own
  level rule (``MultiScaleRoIAlign``), so the heads read that level only and coarser outputs would only
  cost time;
- RPN: anchors of ``anchor_sizes`` pixels (the square root of their area) and ``aspect_ratios`` (height /
  width: digits are upright, up to three times taller than wide) at every stride-4 cell;
- box head: ``roi_size`` x ``roi_size`` RoIAlign, two fully connected layers of ``representation`` units,
  class scores and per-class box deltas; masks (task ``instance_segmentation``): torchvision's Mask R-CNN
  head (RoIAlign at twice ``roi_size``, four convolutions, a mask of four times ``roi_size`` per class) at
  ``fpn_channels`` channels.

Labels: index ``i`` of the card's ``classes`` is label ``i``, and ``classes[0]`` is the background (the
R-CNN convention: ``["__background__", "0", ..., "9"]``). The model normalises its input itself with the
card's ``mean`` and ``std`` and resizes nothing when ``min_size``/``max_size`` are the card's ``input_size``
(an image of another size is scaled so its sides fit, and the boxes are scaled back).

Eval mode: ``model(list of float C x H x W tensors in [0, 1])`` -> one dict per image with ``boxes`` (M x 4,
x0 y0 x1 y1 in the image's pixels), ``scores`` (best first) and ``labels`` (M, into ``classes``), and
``masks`` (M x 1 x H x W probabilities) for Mask R-CNN: torchvision's contract.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

#: arch_kwargs of the bundled card when it gives none.
DEFAULTS: dict[str, Any] = {
    "width": 24,
    "fpn_channels": 64,
    "roi_size": 7,
    "representation": 96,
    "sampling_ratio": 1,
    "anchor_sizes": [10, 16, 24, 32],
    "aspect_ratios": [1.0, 1.7, 2.8],
    "rpn_pre_nms_top_n": 300,
    "rpn_post_nms_top_n": 100,
    "box_batch_size_per_image": 32,
    "box_positive_fraction": 0.5,
    "box_score_thresh": 0.01,
    "box_detections_per_img": 100,
}
FEATURE = "0"  # the one pyramid level the heads read (stride 4)


def _stage(torch_nn, cin: int, cout: int, stride: int):
    """Two 3 x 3 convolutions with BatchNorm and ReLU, the first with ``stride``."""
    layers = []
    for i, (a, b) in enumerate(((cin, cout), (cout, cout))):
        layers += [
            torch_nn.Conv2d(a, b, 3, stride=stride if i == 0 else 1, padding=1, bias=False),
            torch_nn.BatchNorm2d(b),
            torch_nn.ReLU(inplace=True),
        ]
    return torch_nn.Sequential(*layers)


def _backbone(width: int, fpn_channels: int, in_channels: int = 3):
    """The tiny conv backbone with a top-down feature pyramid, as a module with ``out_channels``."""
    from torch import nn
    from torch.nn import functional

    class TinyFPNBackbone(nn.Module):
        """A stride-2 stem, stages at stride 4, 8 and 16, merged top-down (FPN) into one stride-4 map.

        torchvision's ``FeaturePyramidNetwork`` would also smooth the two coarser levels, which the
        heads never read: here only the finest level gets its 3 x 3 output convolution.
        """

        def __init__(self) -> None:
            super().__init__()
            channels = [width, 2 * width, 4 * width]
            self.stem = _stage(nn, in_channels, width, 2)
            self.stages = nn.ModuleList(_stage(nn, a, b, 2) for a, b in zip([width, *channels[:-1]], channels))
            self.lateral = nn.ModuleList(nn.Conv2d(c, fpn_channels, 1) for c in channels)
            self.output = nn.Conv2d(fpn_channels, fpn_channels, 3, padding=1)
            self.out_channels = fpn_channels

        def forward(self, x):
            levels = []
            x = self.stem(x)
            for stage in self.stages:
                x = stage(x)
                levels.append(x)
            merged = self.lateral[-1](levels[-1])
            for level, lateral in zip(reversed(levels[:-1]), reversed(self.lateral[:-1])):
                merged = lateral(level) + functional.interpolate(merged, size=level.shape[-2:], mode="nearest")
            return OrderedDict([(FEATURE, self.output(merged))])

    return TinyFPNBackbone()


def build(card) -> Any:
    """The detector a card describes, untrained: Faster R-CNN, or Mask R-CNN for ``instance_segmentation``.

    ``card.arch_kwargs`` override :data:`DEFAULTS`; unknown keys are an error (a typo must not pass silently).
    """
    from torchvision.models.detection import FasterRCNN, MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops import MultiScaleRoIAlign

    unknown = set(card.arch_kwargs) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"scene_detector has no arch_kwargs {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    kw = DEFAULTS | dict(card.arch_kwargs)
    backbone = _backbone(int(kw["width"]), int(kw["fpn_channels"]), card.channels)
    anchors = AnchorGenerator((tuple(kw["anchor_sizes"]),), (tuple(kw["aspect_ratios"]),))
    channels, representation = backbone.out_channels, int(kw["representation"])
    # torchvision normalises per channel; a card may give one value for all
    mean, std = (list(v) * (card.channels // len(v)) for v in (card.mean, card.std))
    roi = int(kw["roi_size"])
    common = {
        "num_classes": None,  # given by the predictor below
        "min_size": min(card.input_size),
        "max_size": max(card.input_size),
        "image_mean": mean,
        "image_std": std,
        "rpn_anchor_generator": anchors,
        "rpn_pre_nms_top_n_train": int(kw["rpn_pre_nms_top_n"]),
        "rpn_post_nms_top_n_train": int(kw["rpn_post_nms_top_n"]),
        "rpn_pre_nms_top_n_test": int(kw["rpn_pre_nms_top_n"]),
        "rpn_post_nms_top_n_test": int(kw["rpn_post_nms_top_n"]),
        "rpn_batch_size_per_image": 64,
        "box_roi_pool": MultiScaleRoIAlign([FEATURE], output_size=roi, sampling_ratio=int(kw["sampling_ratio"])),
        "box_head": TwoMLPHead(channels * roi * roi, representation),
        "box_predictor": FastRCNNPredictor(representation, card.num_classes),
        "box_batch_size_per_image": int(kw["box_batch_size_per_image"]),
        "box_positive_fraction": float(kw["box_positive_fraction"]),
        "box_score_thresh": float(kw["box_score_thresh"]),
        "box_detections_per_img": int(kw["box_detections_per_img"]),
    }
    if card.task != "instance_segmentation":
        return FasterRCNN(backbone, **common)
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor

    return MaskRCNN(
        backbone,
        mask_roi_pool=MultiScaleRoIAlign([FEATURE], output_size=2 * roi, sampling_ratio=int(kw["sampling_ratio"])),
        mask_head=MaskRCNNHeads(channels, (channels,) * 4, 1),
        mask_predictor=MaskRCNNPredictor(channels, channels, card.num_classes),
        **common,
    )
