"""MobileNetV2 transfer learning: a frozen prefix of `features`, a trainable suffix and a new head."""

from pathlib import Path
from typing import cast

import torch
from torch import nn

from foodcnn.errors import FoodCnnError
from foodcnn.params import IMAGENET, RANDOM_INIT

HEAD_DROPOUT = 0.2  # torchvision's own MobileNetV2 head


def _mobilenet_v2() -> nn.Module:
    """torchvision's MobileNetV2, randomly initialised; torchvision is imported here, as its second of start-up
    is paid only by the stages that build one (not by backbone with finetune.weights: none)."""
    from torchvision.models import mobilenet_v2

    return mobilenet_v2()


class FineTuneMobileNet(nn.Module):
    """MobileNetV2 split into `frozen` (never trained) and `trainable` feature blocks plus an n-way head.

    A FrozenPrefix: the training loop may compute the frozen blocks' output once and reuse it.

    The frozen part stays in eval mode whatever `train()` is called with, so its BatchNorm running
    statistics never move, and its parameters have requires_grad=False.
    """

    def __init__(self, num_classes: int, trainable_blocks: int, backbone: nn.Module | None = None) -> None:
        super().__init__()
        features = cast(nn.Sequential, (backbone or _mobilenet_v2()).features)
        split = len(features) - trainable_blocks
        self.frozen = nn.Sequential(*features[:split])
        self.trainable = nn.Sequential(*features[split:])
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(HEAD_DROPOUT),
            nn.Linear(cast(int, features[-1].out_channels), num_classes),
        )
        self.frozen.requires_grad_(False)
        self.frozen.eval()

    def train(self, mode: bool = True) -> "FineTuneMobileNet":
        super().train(mode)
        self.frozen.eval()
        return self

    def forward_trainable(self, features: torch.Tensor) -> torch.Tensor:
        """The trainable blocks and the head, from the output of the frozen blocks."""
        return self.head(self.trainable(features))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_trainable(self.frozen(images))


def imagenet_state_dict() -> dict[str, torch.Tensor]:
    """torchvision's IMAGENET1K_V1 weights, from the torch hub cache or downloaded into it."""
    from torchvision.models import MobileNet_V2_Weights

    weights = MobileNet_V2_Weights.IMAGENET1K_V1
    cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    try:
        return weights.get_state_dict(progress=True, check_hash=True)
    except (OSError, RuntimeError) as error:
        raise FoodCnnError(
            f"cannot download MobileNetV2 ImageNet weights ({error}); put {weights.url} at {cache}, "
            f"or set finetune.weights to the path of a state dict (or to {RANDOM_INIT})"
        ) from error


def state_dict_from_file(path: Path) -> dict[str, torch.Tensor]:
    """A MobileNetV2 state dict saved with torch.save (bare, or under a 'state_dict' key)."""
    if not path.is_file():
        raise FoodCnnError(f"finetune.weights: no such file {path} (expected imagenet, none or a state-dict path)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load raises many types, some with bare codes such as (101), for other files
        raise FoodCnnError(
            f"finetune.weights: {path} is not a file written by torch.save, so not a state dict "
            f"({type(error).__name__})"
        ) from error
    data = data.get("state_dict", data) if isinstance(data, dict) else data
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise FoodCnnError(f"finetune.weights: {path} does not hold a state dict of tensors")
    return data


def _mismatch(state_dict: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> str:
    """How a state dict differs from MobileNetV2's, in a few words: a wrong network lists hundreds of keys."""
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    reshaped = [key for key in expected if key in state_dict and state_dict[key].shape != expected[key].shape]
    parts = [
        f"{len(keys)} {what}, such as {keys[0]}"
        for keys, what in (
            (missing, "keys missing"),
            (unexpected, "keys unexpected"),
            (reshaped, "tensors of another shape"),
        )
        if keys
    ]
    return "; ".join(parts)


def backbone_from(state_dict: dict[str, torch.Tensor], source: str) -> nn.Module | None:
    """A torchvision MobileNetV2 holding `state_dict`, or None (random initialisation) for an empty one."""
    if not state_dict:
        return None
    backbone = _mobilenet_v2()
    mismatch = _mismatch(state_dict, backbone.state_dict())
    if mismatch:
        raise FoodCnnError(f"finetune.weights: {source} is not a MobileNetV2 state dict ({mismatch})")
    backbone.load_state_dict(state_dict, strict=True)
    return backbone


def resolve_weights(weights: str) -> dict[str, torch.Tensor]:
    """finetune.weights as the state dict the fine-tunes start from, checked; empty for random init (none)."""
    if weights == RANDOM_INIT:
        return {}
    state_dict = imagenet_state_dict() if weights == IMAGENET else state_dict_from_file(Path(weights))
    backbone_from(state_dict, weights)
    return state_dict
