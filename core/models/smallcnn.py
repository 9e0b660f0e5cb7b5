"""The small convolutional classifier behind the bundled demo models."""

from __future__ import annotations

from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class SmallCNN(nn.Module):
    """Three conv blocks (two 3x3 convolutions + BN + ReLU, then 2x2 max-pool) and a linear head.

    Global average pooling before the head makes it work for any input size of at least 8 x 8.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, width: int = 32, dropout: float = 0.2) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(in_channels, width),
            _block(width, width * 2),
            _block(width * 2, width * 4),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(width * 4, num_classes))

    def forward(self, x):
        return self.head(self.pool(self.features(x)))
