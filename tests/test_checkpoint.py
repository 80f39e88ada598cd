"""A checkpoint is read as tensors only: a file that is not one the project wrote is one line naming it."""

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from foodcnn.checkpoint import load_checkpoint, save_checkpoint
from foodcnn.errors import IntegrityError
from foodcnn.models import ModelSpec, build_model


@dataclass
class Config:
    epochs: int = 1


class Payload:
    """A pickle that runs code when loaded: it writes the file named."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "ran"))


def test_a_saved_checkpoint_loads_as_the_same_network(tmp_path):
    spec = ModelSpec("basic", num_classes=3)
    network = build_model(spec)
    save_checkpoint(tmp_path / "model.pt", network.state_dict(), spec, ("a", "b", "c"), Config())
    model, classes = load_checkpoint(tmp_path / "model.pt")
    assert classes == ("a", "b", "c") and not model.training
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), network.state_dict().values(), strict=True)
    )


@pytest.mark.parametrize("content", ["malicious", "truncated", "empty", "other tensors"])
def test_a_file_that_is_not_a_checkpoint_is_one_line_naming_it_and_how_to_restore_it(tmp_path, content):
    path, marker = tmp_path / "models/grid/basic.pt", tmp_path / "ran"
    path.parent.mkdir(parents=True)
    if content == "malicious":
        torch.save({"state_dict": Payload(marker)}, path)  # a model file as torch.save writes it, code inside
    elif content == "truncated":
        torch.save({"state_dict": {"w": torch.ones(1000)}}, path)
        path.write_bytes(path.read_bytes()[:500])
    elif content == "empty":
        path.write_bytes(b"")
    else:
        torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(IntegrityError) as raised:
        load_checkpoint(path)
    message = str(raised.value)
    assert message == (
        f"{path} is not a state dict this project wrote (nothing in it was run): restore it with "
        f"`dvc checkout --force {path}`"
    )
    assert not marker.exists(), "the pickle's code never ran"
