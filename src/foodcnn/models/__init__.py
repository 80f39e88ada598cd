"""Model builders: the from-scratch CNNs, each registered by its own module, and the MobileNetV2 fine-tune.

A from-scratch architecture is one module of this package, named as `grid.model` names it, that calls
`register(__name__, title, builder)`. A module is imported when a model of its name is built or titled, never
with the others, so each stage depends on the architectures it uses (dvc.yaml) and a new module leaves every
existing run cached. Adding one takes that module and its name in params.yaml's `grid.model`.
"""

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from foodcnn.params import MOBILENET, NOT_ARCHITECTURES

# (number of classes, dropout p after the head's first layer) -> a network
Builder = Callable[[int, float], nn.Module]


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a network's layers; stored in each checkpoint."""

    name: str  # a from-scratch architecture (basic, residual, ...) | mobilenet
    num_classes: int
    dropout: float = 0.0
    trainable_blocks: int = 0  # mobilenet only: how many of the last `features` blocks train

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ScratchModel:
    """A from-scratch architecture: its name in grid.model, its title in tables and figures, its builder."""

    name: str
    title: str
    build: Builder


_REGISTERED: dict[str, ScratchModel] = {}


def register(module: str, title: str, build: Builder) -> ScratchModel:
    """Called by an architecture's module with its own __name__, so that the model is named as its module."""
    model = ScratchModel(module.rpartition(".")[2], title, build)
    _REGISTERED[model.name] = model
    return model


def scratch_model(name: str) -> ScratchModel:
    """The architecture `name`, its module (and no other) imported now."""
    if not name.isidentifier() or name in NOT_ARCHITECTURES:
        raise ValueError(f"unknown model {name!r}")
    module = f"{__name__}.{name}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
        raise ValueError(f"unknown model {name!r}") from None
    if name not in _REGISTERED:
        raise ValueError(f"{module} registers no model: it must call register(__name__, title, builder)")
    return _REGISTERED[name]


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
    if spec.name == MOBILENET:
        # torchvision adds a second to every start-up, so only MobileNetV2 runs import it.
        from foodcnn.models.mobilenet import FineTuneMobileNet, backbone_from

        start = backbone_from(backbone or {}, "the backbone stage's state dict")
        return FineTuneMobileNet(spec.num_classes, spec.trainable_blocks, start)
    return scratch_model(spec.name).build(spec.num_classes, spec.dropout)
