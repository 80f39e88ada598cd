"""Model builders: the two from-scratch CNNs of the study and the MobileNetV2 fine-tune."""

from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from foodcnn.models.basic import BasicCNN
from foodcnn.models.residual import ResidualCNN
from foodcnn.params import MOBILENET


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a network's layers; stored in each checkpoint."""

    name: str  # basic | residual | mobilenet
    num_classes: int
    dropout: float = 0.0
    trainable_blocks: int = 0  # mobilenet only: how many of the last `features` blocks train

    def to_dict(self) -> dict:
        return asdict(self)


@runtime_checkable
class FrozenPrefix(Protocol):
    """A network whose first layers never train: forward(x) is forward_trainable(frozen(x)).

    Since `frozen` stays in eval mode without gradients, its output for an image never changes, and the
    training loop may compute it once and reuse it.
    """

    frozen: nn.Sequential

    def forward_trainable(self, features: torch.Tensor) -> torch.Tensor: ...


def build_model(spec: ModelSpec, backbone: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """A network for `spec`; `backbone` is MobileNetV2's starting state dict (None or empty: random init)."""
    if spec.name == "basic":
        return BasicCNN(spec.num_classes, spec.dropout)
    if spec.name == "residual":
        return ResidualCNN(spec.num_classes, spec.dropout)
    if spec.name == MOBILENET:
        # torchvision adds a second to every start-up, so only MobileNetV2 runs import it.
        from foodcnn.models.mobilenet import FineTuneMobileNet, backbone_from

        start = backbone_from(backbone or {}, "the backbone stage's state dict")
        return FineTuneMobileNet(spec.num_classes, spec.trainable_blocks, start)
    raise ValueError(f"unknown model {spec.name!r}")
