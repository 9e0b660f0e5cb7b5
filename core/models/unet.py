"""U-Net (Ronneberger et al., 2015): an encoder-decoder with skip connections, for semantic segmentation.

Level ``i`` (0 = full resolution) has ``width * 2**i`` channels; ``depth`` 2x2 max-pools lead from level 0
to the bottleneck at level ``depth``. Each level is a double 3x3 convolution (+ BatchNorm + ReLU); each
decoder step doubles the resolution (2x2 transposed convolution, or bilinear upsampling + 1x1 convolution),
concatenates the encoder's map of the same level and applies a double convolution. A 1x1 convolution gives
``num_classes`` logits per pixel.

Inputs of any size work: a side that is not a multiple of ``2**depth`` is padded at the bottom/right (reflect,
or zeros where the image is too small to reflect) and the logits are cropped back, so the output always has
the input's height and width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PAD_MODES = ("reflect", "zeros")


def double_conv(cin: int, cout: int) -> nn.Sequential:
    """Two 3x3 convolutions, each followed by BatchNorm and ReLU; the spatial size is kept."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Up(nn.Module):
    """One decoder step: upsample x2 (halving the channels), concatenate the skip, double convolution."""

    def __init__(self, cin: int, cout: int, bilinear: bool = False) -> None:
        super().__init__()
        if bilinear:
            self.up: nn.Module = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), nn.Conv2d(cin, cout, 1)
            )
        else:
            self.up = nn.ConvTranspose2d(cin, cout, 2, stride=2)
        self.conv = double_conv(2 * cout, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(nn.Module):
    """U-Net with configurable ``depth`` (number of poolings) and ``width`` (channels at full resolution).

    ``forward`` maps N x in_channels x H x W to N x num_classes x H x W logits for any H, W >= 1.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        depth: int = 4,
        width: int = 64,
        bilinear: bool = False,
        pad_mode: str = "reflect",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if depth < 1 or width < 1 or in_channels < 1 or num_classes < 1:
            raise ValueError("depth, width, in_channels and num_classes must all be at least 1")
        if pad_mode not in PAD_MODES:
            raise ValueError(f"pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
        self.depth, self.pad_mode = depth, pad_mode
        channels = [width * 2**level for level in range(depth + 1)]
        self.down = nn.ModuleList(
            [double_conv(in_channels, channels[0])]
            + [double_conv(channels[i - 1], channels[i]) for i in range(1, depth + 1)]
        )
        self.pool = nn.MaxPool2d(2)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.up = nn.ModuleList([Up(channels[i], channels[i - 1], bilinear) for i in range(depth, 0, -1)])
        self.head = nn.Conv2d(channels[0], num_classes, 1)

    @property
    def multiple(self) -> int:
        """Height and width are padded up to a multiple of this (``2**depth``)."""
        return 2**self.depth

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        pad_h, pad_w = -height % self.multiple, -width % self.multiple
        if not pad_h and not pad_w:
            return x
        # Reflection needs the pad to be smaller than the side; tiny inputs fall back to zeros.
        if self.pad_mode == "reflect" and pad_h < height and pad_w < width:
            return F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
        return F.pad(x, (0, pad_w, 0, pad_h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        x = self._pad(x)
        skips = []
        for level, block in enumerate(self.down):
            if level:
                x = self.pool(x)
            x = block(x)
            skips.append(x)
        x = self.dropout(skips.pop())
        for up in self.up:
            x = up(x, skips.pop())
        return self.head(x)[..., :height, :width]
