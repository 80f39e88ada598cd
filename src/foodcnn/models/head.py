"""The classifier head the from-scratch CNNs share."""

from torch import nn

FEATURES = 512
HIDDEN = 256


def classifier_head(num_classes: int, dropout: float) -> nn.Sequential:
    """Global average pool, FC 512->256, ReLU, optional dropout, FC 256->classes."""
    layers: list[nn.Module] = [
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(FEATURES, HIDDEN),
        nn.ReLU(inplace=True),
    ]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(HIDDEN, num_classes))
    return nn.Sequential(*layers)
