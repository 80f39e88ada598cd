"""A trained run's checkpoint: the best epoch's weights with what it takes to rebuild the network."""

from dataclasses import asdict
from pathlib import Path

import torch

from foodcnn.io import save_torch
from foodcnn.layout import require
from foodcnn.models import ModelSpec, build_model


def save_checkpoint(path: Path, state_dict: dict[str, torch.Tensor], spec: ModelSpec, classes: tuple[str, ...],
                    config: object) -> None:
    """`config` is the run's configuration dataclass, kept for whoever inspects the file."""
    save_torch(path, {"state_dict": state_dict, "spec": spec.to_dict(), "classes": list(classes),
                      "config": asdict(config)})


def load_checkpoint(path: Path) -> tuple[torch.nn.Module, tuple[str, ...]]:
    """Rebuild a trained network (eval mode) and its class names from a checkpoint."""
    require(path)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(ModelSpec(**checkpoint["spec"]))
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), tuple(checkpoint["classes"])
