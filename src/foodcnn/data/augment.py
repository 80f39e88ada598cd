"""Batched, per-image augmentation and normalisation of uint8 image tensors, on any device.

Random resized crop, horizontal flip and rotation are folded into one affine map per image and applied
with a single grid_sample call, so a batch is augmented in one pass instead of image by image.
"""

import functools
import math

import torch
import torch.nn.functional as F

from foodcnn.params import AugmentParams

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ASPECT_RATIOS = (3 / 4, 4 / 3)


@functools.cache
def _channel_statistics(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """ImageNet mean and std on a device, made once: a copy to a GPU every batch would wait for the GPU.
    Made outside inference mode, so that training may use the tensors whichever call made them."""
    with torch.inference_mode(False):
        return (
            torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1),
            torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1),
        )


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 (or [0, 1] float) images to ImageNet-normalised float, the input every model expects."""
    if images.dtype == torch.uint8:
        images = images.float().div_(255.0)
    mean, std = _channel_statistics(images.device)
    return (images - mean) / std


def random_affine_matrices(count: int, augment: AugmentParams, generator: torch.Generator) -> torch.Tensor:
    """One (2, 3) sampling matrix per image, mapping output coordinates to input coordinates in [-1, 1]."""
    low, high = augment.crop_scale
    area = torch.empty(count).uniform_(low, high, generator=generator)
    log_ratio = torch.empty(count).uniform_(math.log(ASPECT_RATIOS[0]), math.log(ASPECT_RATIOS[1]), generator=generator)
    ratio = torch.exp(log_ratio)
    width = torch.sqrt(area * ratio).clamp(max=1.0)
    height = torch.sqrt(area / ratio).clamp(max=1.0)
    centre_x = (torch.rand(count, generator=generator) * 2 - 1) * (1 - width)
    centre_y = (torch.rand(count, generator=generator) * 2 - 1) * (1 - height)
    angle = torch.deg2rad((torch.rand(count, generator=generator) * 2 - 1) * augment.rotation)
    flip = torch.ones(count)
    if augment.flip:
        flip = torch.where(torch.rand(count, generator=generator) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    return torch.stack(
        [
            torch.stack([width * cos * flip, -width * sin, centre_x], dim=1),
            torch.stack([height * sin * flip, height * cos, centre_y], dim=1),
        ],
        dim=1,
    )


def affine_augment(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Crop, flip and rotate each uint8 image of a batch by its own sampling matrix (from random_affine_matrices,
    on the images' device); returns normalised float images."""
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    pixels = images.float().div_(255.0)
    return normalize(F.grid_sample(pixels, grid, mode="bilinear", padding_mode="zeros", align_corners=False))
