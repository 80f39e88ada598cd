"""Where a model looks: Grad-CAM (captum's LayerGradCam) on the feature map each network's head pools, the last
map with a place in the photo, drawn over the photo."""

from pathlib import Path

import torch
from torch import nn

from foodcnn.data.augment import normalize
from foodcnn.plots import plt, save_figure


def heatmaps(model: nn.Module, images: torch.Tensor, targets: list[int]) -> torch.Tensor:
    """Grad-CAM of uint8 images (N, 3, H, W) for each image's target class: (N, H, W), each scaled to a peak of 1
    (all zeros where nothing speaks for the class). Every network of the study pools its last feature map in
    `head`, so the map is the head's input: the same layer for BasicCNN, ResidualCNN and MobileNetV2."""
    from captum.attr import LayerAttribution, LayerGradCam

    cam = LayerGradCam(model.eval(), model.head)
    maps = cam.attribute(normalize(images), target=targets, attribute_to_layer_input=True, relu_attributions=True)
    maps = maps[0] if isinstance(maps, tuple) else maps
    maps = LayerAttribution.interpolate(maps.detach(), tuple(images.shape[-2:]), interpolate_mode="bilinear")[:, 0]
    return maps / maps.flatten(1).amax(1).clamp(min=1e-12).view(-1, 1, 1)


def overlay_figure(image: torch.Tensor, heat: torch.Tensor, title: str) -> plt.Figure:
    """The photo as the model saw it, and the same with the Grad-CAM map over it."""
    figure, (plain, overlaid) = plt.subplots(1, 2, figsize=(5, 2.8))
    pixels = image.permute(1, 2, 0).numpy()
    for axis in (plain, overlaid):
        axis.imshow(pixels, interpolation="nearest")
        axis.axis("off")
    overlaid.imshow(heat.numpy(), cmap="jet", alpha=0.45, vmin=0, vmax=1, interpolation="bilinear")
    figure.suptitle(title, fontsize=8)
    return figure


def save_explanations(folder: Path, named: dict[str, tuple[torch.Tensor, torch.Tensor, str]]) -> list[Path]:
    """One PNG per photo under `folder`, named after it: its uint8 image, its map and its title."""
    paths = []
    for name, (image, heat, title) in named.items():
        path = folder / f"{name}.png"
        save_figure(overlay_figure(image, heat, title), path)
        paths.append(path)
    return paths
