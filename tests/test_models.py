import sys

import pytest
import torch
from torch import nn

from foodcnn.models import ModelSpec, build_model, scratch_model
from foodcnn.models.basic import BasicCNN
from foodcnn.models.residual import ResidualBlock, ResidualCNN
from foodcnn.params import SCRATCH_MODELS, scratch_models
from foodcnn.roles import model_title

CHANNELS = [32, 64, 128, 256, 512]


def head_layers(model: nn.Module) -> list[type]:
    return [type(layer) for layer in model.head]


def test_basic_cnn_matches_the_spec_layer_by_layer():
    model = BasicCNN(num_classes=11)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == CHANNELS
    assert all(c.kernel_size == (3, 3) and c.stride == (1, 1) and c.padding == (1, 1) for c in convs)
    kinds = [type(m) for m in model.features]
    block = [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert kinds == (block + [nn.MaxPool2d]) * 4 + block
    assert all(p.kernel_size == 2 for p in model.features if isinstance(p, nn.MaxPool2d))
    assert head_layers(model) == [nn.AdaptiveAvgPool2d, nn.Flatten, nn.Linear, nn.ReLU, nn.Linear]
    assert (model.head[2].in_features, model.head[2].out_features) == (512, 256)
    assert (model.head[4].in_features, model.head[4].out_features) == (256, 11)


@pytest.mark.parametrize("model_class", [BasicCNN, ResidualCNN])
@pytest.mark.parametrize("size", [32, 64])
def test_output_shape(model_class, size):
    assert model_class(num_classes=11)(torch.zeros(2, 3, size, size)).shape == (2, 11)


@pytest.mark.parametrize("model_class", [BasicCNN, ResidualCNN])
def test_dropout_sits_after_the_first_fully_connected_layer(model_class):
    model = model_class(num_classes=11, dropout=0.3)
    assert head_layers(model) == [nn.AdaptiveAvgPool2d, nn.Flatten, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert model.head[4].p == 0.3
    assert not any(isinstance(m, nn.Dropout) for m in model_class(num_classes=11).modules())


def test_residual_cnn_matches_the_spec():
    model = ResidualCNN(num_classes=11)
    assert len(model.features) == 5
    strides = [block.body[0].stride for block in model.features]
    assert strides == [(1, 1)] + [(2, 2)] * 4
    assert [block.body[3].out_channels for block in model.features] == CHANNELS
    for block in model.features:
        assert [type(m) for m in block.body] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Conv2d, nn.BatchNorm2d]
    features = model.features(torch.zeros(1, 3, 32, 32))
    assert features.shape == (1, 512, 2, 2)


@pytest.mark.parametrize(
    ("in_channels", "out_channels", "stride", "projects"),
    [
        (32, 32, 1, False),
        (3, 32, 1, True),
        (32, 64, 2, True),
        (64, 64, 2, True),
    ],
)
def test_residual_skip_is_a_projection_exactly_when_the_shape_changes(in_channels, out_channels, stride, projects):
    block = ResidualBlock(in_channels, out_channels, stride)
    if projects:
        assert [type(m) for m in block.skip] == [nn.Conv2d, nn.BatchNorm2d]
        assert block.skip[0].kernel_size == (1, 1) and block.skip[0].stride == (stride, stride)
    else:
        assert isinstance(block.skip, nn.Identity)
    output = block(torch.zeros(2, in_channels, 8, 8))
    assert output.shape == (2, out_channels, 8 // stride, 8 // stride)


def test_build_model_follows_the_spec():
    assert isinstance(build_model(ModelSpec("basic", 5)), BasicCNN)
    assert build_model(ModelSpec("residual", 5, dropout=0.5)).head[4].p == 0.5
    with pytest.raises(ValueError, match="unknown model"):
        build_model(ModelSpec("vgg", 5))


def test_the_architectures_are_the_modules_that_register_themselves():
    assert SCRATCH_MODELS == ("basic", "residual")
    assert [(scratch_model(name).name, model_title(name)) for name in SCRATCH_MODELS] == [
        ("basic", "BasicCNN"),
        ("residual", "ResidualCNN"),
    ]
    assert model_title("mobilenet") == "MobileNetV2"


def test_scratch_models_lists_modules_without_the_shared_ones(tmp_path):
    for name in ("__init__", "head", "mobilenet", "alpha", "beta"):
        (tmp_path / f"{name}.py").write_text("")
    (tmp_path / "notes.txt").write_text("")
    assert scratch_models(tmp_path) == ("alpha", "beta")


def test_a_built_model_is_its_registered_class_with_the_same_weights():
    torch.manual_seed(3)
    built = build_model(ModelSpec("basic", 11, dropout=0.5))
    torch.manual_seed(3)
    direct = BasicCNN(11, 0.5)
    assert type(built) is BasicCNN
    assert all(
        torch.equal(a, b) for a, b in zip(built.state_dict().values(), direct.state_dict().values(), strict=True)
    )


def test_a_new_module_is_a_new_model_by_name(toy_architecture):
    model = build_model(ModelSpec(toy_architecture, 11, dropout=0.3))
    assert type(model).__name__ == "ToyCNN" and model_title(toy_architecture) == "ToyCNN"
    assert model(torch.rand(2, 3, 16, 16)).shape == (2, 11)
    assert nn.Dropout in head_layers(model)


@pytest.mark.parametrize(
    ("name", "message"),
    [("nothing", "unknown model 'nothing'"), ("head", "unknown model 'head'"), ("silent", "registers no model")],
)
def test_a_name_without_an_architecture_is_refused(tmp_path, monkeypatch, name, message):
    import foodcnn.models

    (tmp_path / "silent.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(foodcnn.models, "__path__", [*foodcnn.models.__path__, str(tmp_path)])
    try:
        with pytest.raises(ValueError, match=message):
            build_model(ModelSpec(name, 11))
    finally:
        sys.modules.pop("foodcnn.models.silent", None)
