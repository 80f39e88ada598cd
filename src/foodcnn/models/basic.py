"""BasicCNN: five 3x3 conv-BN-ReLU layers, 2x2 max-pool after the first four."""

import torch
from torch import nn

from foodcnn.models import register
from foodcnn.models.head import classifier_head

CHANNELS = (32, 64, 128, 256, 512)


class BasicCNN(nn.Module):
    def __init__(self, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for index, out_channels in enumerate(CHANNELS):
            layers += [
                nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            ]
            if index < len(CHANNELS) - 1:
                layers.append(nn.MaxPool2d(2))
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        self.head = classifier_head(num_classes, dropout)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


register(__name__, "BasicCNN", BasicCNN)
