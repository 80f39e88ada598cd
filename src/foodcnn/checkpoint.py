"""A trained run's checkpoint: the best epoch's weights with what it takes to rebuild the network."""

import pickle
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from foodcnn.errors import IntegrityError
from foodcnn.io import save_torch
from foodcnn.layout import require
from foodcnn.models import ModelSpec, build_model

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def save_checkpoint(
    path: Path,
    state_dict: dict[str, torch.Tensor],
    spec: ModelSpec,
    classes: tuple[str, ...],
    config: "DataclassInstance",
) -> None:
    """`config` is the run's configuration dataclass, kept for whoever inspects the file."""
    save_torch(
        path, {"state_dict": state_dict, "spec": spec.to_dict(), "classes": list(classes), "config": asdict(config)}
    )


# What torch.load(weights_only=True) raises for a file torch.save did not write from tensors and plain containers:
# a pickle of other objects (refused before any of its code runs), a damaged archive, an empty file.
UNREADABLE = (pickle.UnpicklingError, RuntimeError, EOFError)
KEYS = {"state_dict", "spec", "classes"}


def read_checkpoint(path: Path) -> dict:
    """A checkpoint's contents, or one line naming the file when it is not one save_checkpoint wrote: torch's
    own error would advise loading it with weights_only=False, which runs whatever code the file holds."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except UNREADABLE as error:
        raise not_written_here(path) from error
    if not (isinstance(checkpoint, dict) and KEYS <= checkpoint.keys()):
        raise not_written_here(path)
    return checkpoint


def not_written_here(path: Path) -> IntegrityError:
    return IntegrityError(
        f"{path} is not a state dict this project wrote (nothing in it was run): restore it with "
        f"`dvc checkout --force {path}`"
    )


def load_checkpoint(path: Path) -> tuple[torch.nn.Module, tuple[str, ...]]:
    """Rebuild a trained network (eval mode) and its class names from a checkpoint."""
    require(path)
    checkpoint = read_checkpoint(path)
    model = build_model(ModelSpec(**checkpoint["spec"]))
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), tuple(checkpoint["classes"])
