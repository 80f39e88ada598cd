"""ResidualCNN: five residual blocks, the first at full resolution, the others halving it."""

import torch
from torch import nn

from foodcnn.models import register
from foodcnn.models.head import classifier_head

CHANNELS = (32, 64, 128, 256, 512)


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus a skip; the skip is a 1x1 conv + BN exactly when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.skip = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        self.activation = nn.ReLU(inplace=True)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.activation(self.body(images) + self.skip(images))


class ResidualCNN(nn.Module):
    def __init__(self, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        blocks = []
        in_channels = 3
        for index, out_channels in enumerate(CHANNELS):
            blocks.append(ResidualBlock(in_channels, out_channels, stride=1 if index == 0 else 2))
            in_channels = out_channels
        self.features = nn.Sequential(*blocks)
        self.head = classifier_head(num_classes, dropout)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


register(__name__, "ResidualCNN", ResidualCNN)
