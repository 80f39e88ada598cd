"""The exported files on a small untrained network: the same outputs as PyTorch, and no record of where the
project's code lies (tests/test_repro_flows.py compares the stage's files between checkouts)."""

import json
import zipfile

import numpy as np
import pytest
import torch

from foodcnn.export import INPUT, export_onnx, export_torchscript, preprocessing
from foodcnn.models import ModelSpec, build_model


@pytest.fixture
def network() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelSpec("basic", 3)).eval()


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_keeps_no_source_paths_and_gives_pytorchs_outputs(network, tmp_path):
    path = tmp_path / "model.torchscript.pt"
    export_torchscript(network, 32, path)
    names = zipfile.ZipFile(path).namelist()
    assert names and not [name for name in names if name.endswith((".debug_pkl", "serialization_id"))]
    images = torch.randn(5, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(torch.jit.load(str(path))(images), network(images))


def test_onnx_takes_any_batch_and_gives_pytorchs_outputs(network, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime", reason="in requirements-remote-test.txt (make test)")
    path = tmp_path / "model.onnx"
    export_onnx(network, 32, path)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 7):
        images = torch.randn(batch, 3, 32, 32)
        with torch.no_grad():
            expected = network(images).numpy()
        (logits,) = session.run(None, {INPUT: images.numpy()})
        assert np.abs(logits - expected).max() <= 1e-4


def test_preprocessing_names_the_input_and_the_classes():
    described = json.loads(json.dumps(preprocessing(32, "pad", ("a", "b"), "basic", 43)))
    assert described["input"]["shape"] == ["batch", 3, 32, 32] and described["resize"] == "pad"
    assert described["classes"] == ["a", "b"] and described["model"] == {"role": "basic", "seed": 43}
