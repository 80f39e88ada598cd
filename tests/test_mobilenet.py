import pytest
import torch
from torch import nn
from torchvision.models import mobilenet_v2, resnet18

from foodcnn.errors import FoodCnnError
from foodcnn.models import ModelSpec, build_model
from foodcnn.models.mobilenet import FineTuneMobileNet, backbone_from, resolve_weights


def trainable_names(model: nn.Module) -> set[str]:
    return {name.split(".")[0] for name, p in model.named_parameters() if p.requires_grad}


def test_case_a_trains_the_head_only():
    model = FineTuneMobileNet(num_classes=11, trainable_blocks=0)
    assert trainable_names(model) == {"head"}
    assert len(model.frozen) == 19 and len(model.trainable) == 0
    assert model.head[-1].out_features == 11


def test_case_b_also_trains_the_last_two_feature_blocks():
    model = FineTuneMobileNet(num_classes=11, trainable_blocks=2)
    assert trainable_names(model) == {"trainable", "head"}
    reference = mobilenet_v2().features
    assert [type(m) for m in model.trainable] == [type(reference[17]), type(reference[18])]
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 11)


def test_frozen_batchnorm_statistics_do_not_move_in_training():
    model = FineTuneMobileNet(num_classes=3, trainable_blocks=2).train()
    frozen_before = {k: v.clone() for k, v in model.frozen.state_dict().items()}
    trainable_before = {k: v.clone() for k, v in model.trainable.state_dict().items()}
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    loss = nn.functional.cross_entropy(model(torch.randn(4, 3, 32, 32)), torch.tensor([0, 1, 2, 0]))
    loss.backward()
    optimizer.step()
    assert not model.frozen.training
    assert all(torch.equal(v, model.frozen.state_dict()[k]) for k, v in frozen_before.items())
    assert any(not torch.equal(v, model.trainable.state_dict()[k]) for k, v in trainable_before.items())


def test_weights_load_from_a_local_state_dict(tmp_path):
    torch.manual_seed(7)
    reference = mobilenet_v2()
    path = tmp_path / "weights.pth"
    torch.save(reference.state_dict(), path)
    torch.manual_seed(8)
    model = build_model(ModelSpec("mobilenet", 11, trainable_blocks=2), resolve_weights(str(path)))
    expected = reference.features.state_dict()
    loaded = {
        **{f"{i}": m for i, m in enumerate(model.frozen)},
        **{f"{i + 17}": m for i, m in enumerate(model.trainable)},
    }
    for index, module in loaded.items():
        for name, value in module.state_dict().items():
            assert torch.equal(value, expected[f"{index}.{name}"])


@pytest.fixture
def offline_hub(monkeypatch, tmp_path):
    """torch's hub cache in tmp_path, and every download failing as it does without network."""

    def offline(*args, **kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    return tmp_path / "checkpoints"


def test_imagenet_weights_without_network_give_one_clear_line(offline_hub, tmp_path):
    with pytest.raises(FoodCnnError) as error:
        resolve_weights("imagenet")
    message = str(error.value)
    assert "\n" not in message
    assert str(offline_hub / "mobilenet_v2-b0353104.pth") in message
    assert "finetune.weights" in message


def test_imagenet_weights_already_in_the_hub_cache_need_no_network(offline_hub):
    torch.manual_seed(3)
    reference = mobilenet_v2()
    offline_hub.mkdir()
    torch.save(reference.state_dict(), offline_hub / "mobilenet_v2-b0353104.pth")
    backbone = backbone_from(resolve_weights("imagenet"), "imagenet")
    assert torch.equal(backbone.features[0][0].weight, reference.features[0][0].weight)


def test_no_weights_is_random_init():
    assert resolve_weights("none") == {} and backbone_from({}, "none") is None


def test_a_missing_or_wrong_weights_file_is_one_short_line_naming_it(tmp_path):
    with pytest.raises(FoodCnnError, match="no such file .*nothing.pth"):
        resolve_weights(str(tmp_path / "nothing.pth"))
    wrong = tmp_path / "resnet.pth"
    torch.save(resnet18().state_dict(), wrong)
    with pytest.raises(FoodCnnError) as error:
        resolve_weights(str(wrong))
    message = str(error.value)  # every key of both networks was listed: 17,000 characters
    assert message.startswith(
        f"finetune.weights: {wrong} is not a MobileNetV2 state dict (314 keys missing, such as "
        "features.0.0.weight; 122 keys unexpected, such as conv1.weight)"
    )
    assert "\n" not in message and len(message) < 250
    head = mobilenet_v2(num_classes=5).state_dict()
    torch.save(head, wrong)
    with pytest.raises(FoodCnnError, match=r"\(2 tensors of another shape, such as classifier.1.weight\)$"):
        resolve_weights(str(wrong))


def test_a_file_that_torch_cannot_read_is_said_not_to_be_a_state_dict(tmp_path):
    text = tmp_path / "weights.txt"
    text.write_text("not weights")
    with pytest.raises(FoodCnnError, match=r"weights.txt is not a file written by torch.save, so not a state dict"):
        resolve_weights(str(text))
