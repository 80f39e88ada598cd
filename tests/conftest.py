"""Small generated data shared by the tests."""

from pathlib import Path

import pytest
import torch

from foodcnn.data.tensors import ImageSet
from foodcnn.params import AugmentParams

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def augment() -> AugmentParams:
    return AugmentParams(crop_scale=(0.6, 1.0), rotation=15.0, flip=True)


def separable_set(count: int, seed: int, size: int = 16) -> ImageSet:
    """Two classes a CNN separates at once: dark images and bright images, with noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 2
    base = torch.where(labels == 1, 200, 50).view(-1, 1, 1, 1).float()
    noise = torch.randn(count, 3, size, size, generator=generator) * 20
    images = (base + noise).clamp(0, 255).to(torch.uint8)
    return ImageSet(images, labels, ("dark", "bright"), tuple(f"{i}.png" for i in range(count)))


@pytest.fixture
def separable() -> tuple[ImageSet, ImageSet]:
    return separable_set(64, seed=0), separable_set(32, seed=1)
