"""The tensor cache: each split saved once and mapped by every process that reads it."""

import io
from pathlib import Path

import torch

from foodcnn.data.tensors import ImageSet, load_image_set, save_image_set
from foodcnn.layout import prepared
from foodcnn.models import ModelSpec, build_model
from foodcnn.training import FitSettings, fit
from tests.conftest import separable_set

CPU = torch.device("cpu")


def mapped_files() -> set[str]:
    """The files this process has mapped into its memory."""
    return {
        line.split(maxsplit=5)[-1].strip()
        for line in Path("/proc/self/maps").read_text().splitlines()
        if len(line.split()) == 6
    }


def in_memory(split: str) -> ImageSet:
    """A split read whole into memory, as every run did before it was mapped."""
    data = torch.load(prepared(split), weights_only=True)
    return ImageSet(data["images"], data["labels"], tuple(data["classes"]), tuple(data["paths"]))


def state_bytes(state: dict[str, torch.Tensor]) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def test_a_split_is_mapped_from_its_file_with_the_saved_values(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    saved = separable_set(40, seed=0)
    save_image_set(prepared("train"), saved)
    loaded = load_image_set("train")
    assert str(tmp_path / prepared("train")) in mapped_files()
    assert torch.equal(loaded.images, saved.images) and torch.equal(loaded.labels, saved.labels)
    assert (loaded.classes, loaded.paths) == (saved.classes, saved.paths)


def test_training_on_the_mapped_splits_gives_the_same_bytes_as_on_splits_in_memory(tmp_path, monkeypatch, augment):
    monkeypatch.chdir(tmp_path)
    save_image_set(prepared("train"), separable_set(48, seed=0))
    save_image_set(prepared("val"), separable_set(24, seed=1))
    settings = FitSettings(epochs=3, batch_size=16, lr=0.001, seed=0, augment=augment)
    results = []
    for train, val in ((load_image_set("train"), load_image_set("val")), (in_memory("train"), in_memory("val"))):
        torch.manual_seed(0)
        results.append(fit(build_model(ModelSpec("basic", 2)), train, val, settings, CPU))
    mapped, read = results
    assert mapped.history == read.history
    assert state_bytes(mapped.best_state) == state_bytes(read.best_state)
