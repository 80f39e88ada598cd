import copy
from dataclasses import asdict

import pytest
import torch
from torch import nn

from foodcnn.data.augment import affine_augment, normalize, random_affine_matrices
from foodcnn.devices import compute_device, pick_device
from foodcnn.models import ModelSpec, build_model
from foodcnn.params import AugmentParams
from foodcnn.training import FitSettings, _take, adam, fit, fits_resident, numerics, plan_epoch, same_device

CPU = torch.device("cpu")
CUDA, CUDA_0, CUDA_1 = torch.device("cuda"), torch.device("cuda", 0), torch.device("cuda", 1)


def test_random_crops_stay_inside_the_image():
    no_rotation = AugmentParams(crop_scale=(0.3, 1.0), rotation=0.0, flip=False)
    theta = random_affine_matrices(500, no_rotation, torch.Generator().manual_seed(0))
    width, height = theta[:, 0, 0], theta[:, 1, 1]
    assert torch.all(theta[:, 0, 1] == 0) and torch.all(theta[:, 1, 0] == 0)
    assert torch.all(theta[:, 0, 2].abs() + width <= 1 + 1e-6)
    assert torch.all(theta[:, 1, 2].abs() + height <= 1 + 1e-6)
    area = width * height
    assert area.min() >= 0.3 - 1e-6 and area.max() <= 1 + 1e-6


def test_augmentation_returns_normalised_float_images(augment):
    images = torch.randint(0, 256, (4, 3, 12, 12), dtype=torch.uint8)
    output = affine_augment(images, random_affine_matrices(4, augment, torch.Generator().manual_seed(0)))
    assert output.shape == images.shape and output.dtype == torch.float32
    assert output.min() >= normalize(torch.zeros(1, 3, 1, 1, dtype=torch.uint8)).min() - 1e-5


def test_augmentation_differs_per_image_and_repeats_with_the_seed(augment):
    image = torch.randint(0, 256, (1, 3, 16, 16), dtype=torch.uint8)
    batch = image.repeat(8, 1, 1, 1)
    first = affine_augment(batch, random_affine_matrices(8, augment, torch.Generator().manual_seed(1)))
    again = affine_augment(batch, random_affine_matrices(8, augment, torch.Generator().manual_seed(1)))
    assert torch.equal(first, again)
    assert not torch.allclose(first[0], first[1])
    assert not torch.allclose(first[0], normalize(image)[0])


def test_flip_mirrors_the_image():
    images = torch.arange(16, dtype=torch.uint8).view(1, 1, 4, 4).repeat(1, 3, 1, 1) * 10
    theta = torch.tensor([[[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    grid = torch.nn.functional.affine_grid(theta, [1, 3, 4, 4], align_corners=False)
    flipped = torch.nn.functional.grid_sample(images.float(), grid, align_corners=False)
    assert torch.equal(flipped, images.float().flip(-1))


def test_fit_drives_the_loss_down_on_a_separable_set(separable):
    train, val = separable
    torch.manual_seed(0)
    model = build_model(ModelSpec("basic", 2))
    result = fit(model, train, val, FitSettings(epochs=4, batch_size=16, lr=0.001, seed=0, augment=None), CPU)
    losses = [record.train_loss for record in result.history]
    assert losses[-1] < losses[0] * 0.7
    assert result.best.val_accuracy == 1.0
    assert result.best_epoch == max(result.history, key=lambda r: r.val_accuracy).epoch


def test_fit_keeps_the_best_epoch_weights(separable):
    train, val = separable
    torch.manual_seed(0)
    model = build_model(ModelSpec("basic", 2))
    result = fit(model, train, val, FitSettings(epochs=3, batch_size=16, lr=0.001, seed=0, augment=None), CPU)
    model.load_state_dict(result.best_state)
    model.eval()
    with torch.no_grad():
        accuracy = (model(normalize(val.images)).argmax(1) == val.labels).float().mean().item()
    assert accuracy == result.best.val_accuracy


def test_fit_is_deterministic_for_a_seed(separable, augment):
    train, val = separable

    def run(seed: int) -> list:
        torch.manual_seed(seed)
        model = build_model(ModelSpec("residual", 2, dropout=0.5))
        return fit(
            model, train, val, FitSettings(epochs=2, batch_size=16, lr=0.01, seed=seed, augment=augment), CPU
        ).history

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_fit_trains_only_unfrozen_parameters(separable):
    train, val = separable
    model = build_model(ModelSpec("mobilenet", 2, trainable_blocks=0))
    frozen = {k: v.clone() for k, v in model.frozen.state_dict().items()}
    fit(model, train, val, FitSettings(epochs=1, batch_size=16, lr=0.01, seed=0, augment=None), CPU)
    assert all(torch.equal(v, model.frozen.state_dict()[k]) for k, v in frozen.items())


def images_through(module: nn.Module) -> list[int]:
    """A counter of the images `module` runs on, as a one-item list that a forward hook adds to."""
    count = [0]
    module.register_forward_hook(lambda _module, inputs, _output: count.__setitem__(0, count[0] + len(inputs[0])))
    return count


@pytest.mark.parametrize("trainable_blocks", [0, 2])
def test_reusing_the_frozen_output_gives_the_results_of_running_the_frozen_layers_every_batch(
    separable, trainable_blocks
):
    train, val = separable
    torch.manual_seed(0)
    reusing = build_model(ModelSpec("mobilenet", 2, trainable_blocks=trainable_blocks))
    naive = nn.Sequential(copy.deepcopy(reusing))  # the same network, seen by fit without its frozen prefix
    reused_count, naive_count = images_through(reusing.frozen), images_through(naive[0].frozen)
    settings = FitSettings(epochs=3, batch_size=16, lr=0.01, seed=0, augment=None)
    torch.manual_seed(1)  # the head's dropout draws from the global generator
    reused = fit(reusing, train, val, settings, CPU)
    torch.manual_seed(1)
    expected = fit(naive, train, val, settings, CPU)
    assert reused_count[0] == len(train) + len(val)
    assert naive_count[0] == 3 * (len(train) + len(val))
    for record, reference in zip(reused.history, expected.history, strict=True):
        assert asdict(record) == pytest.approx(asdict(reference), abs=1e-5)
    assert reused.best_epoch == expected.best_epoch
    for key, value in reused.best_state.items():
        assert torch.allclose(value.float(), expected.best_state[f"0.{key}"].float(), atol=1e-5)


def test_with_augmentation_only_the_validation_output_of_the_frozen_layers_is_reused(separable, augment):
    train, val = separable
    model = build_model(ModelSpec("mobilenet", 2, trainable_blocks=2))
    count = images_through(model.frozen)
    fit(model, train, val, FitSettings(epochs=3, batch_size=16, lr=0.01, seed=0, augment=augment), CPU)
    assert count[0] == 3 * len(train) + len(val)


def test_bf16_and_channels_last_train_close_to_fp32(separable):
    train, val = separable

    def run(precision: str, channels_last: bool) -> list:
        torch.manual_seed(0)
        model = build_model(ModelSpec("basic", 2))
        settings = FitSettings(2, 16, 0.001, 0, None, precision=precision, channels_last=channels_last)
        return fit(model, train, val, settings, CPU).history

    reference = run("fp32", False)
    for precision, channels_last in [("fp32", True), ("bf16", False)]:
        history = run(precision, channels_last)
        assert [r.val_accuracy for r in history] == [r.val_accuracy for r in reference]
        assert [r.train_loss for r in history] == pytest.approx([r.train_loss for r in reference], rel=0.05)


def test_a_tensor_on_cuda_0_is_on_the_current_cuda_device():
    assert same_device(CUDA_0, CUDA) and same_device(CUDA, CUDA_0) and same_device(CUDA_0, CUDA_0)
    assert same_device(CPU, torch.device("cpu"))
    assert not same_device(CUDA_1, CUDA_0) and not same_device(CPU, CUDA) and not same_device(CUDA_0, CPU)


class ResidentImages:
    """Stands for uint8 images resident on the first GPU: indexing them is all a resident batch needs."""

    device = CUDA_0

    def __getitem__(self, batch: torch.Tensor) -> str:
        return "indexed where they are"


@pytest.mark.parametrize("device", [CUDA, CUDA_0])
def test_images_resident_on_the_gpu_are_indexed_there_not_pinned(device):
    assert _take(ResidentImages(), torch.tensor([0, 1]), device) == "indexed where they are"


def test_images_stay_resident_up_to_half_the_free_memory():
    assert fits_resident(500, 1000) and not fits_resident(501, 1000)


def test_auto_numerics_are_bf16_channels_last_on_cuda_and_fp32_nchw_elsewhere():
    assert numerics("auto", "auto", CUDA_0) == ("bf16", True)
    assert numerics("auto", "auto", CPU) == ("fp32", False)
    assert numerics("auto", "auto", torch.device("mps")) == ("fp32", False)
    assert numerics("fp32", False, CUDA) == ("fp32", False)
    assert numerics("bf16", True, CPU) == ("bf16", True)


def test_the_fused_adam_steps_as_the_for_each_default_does():
    torch.manual_seed(0)
    fused, default = nn.Linear(8, 3), nn.Linear(8, 3)
    default.load_state_dict(fused.state_dict())
    optimizers = [adam(list(fused.parameters()), 0.01), torch.optim.Adam(default.parameters(), lr=0.01)]
    assert optimizers[0].defaults["fused"] is True
    inputs = torch.randn(16, 8)
    for _ in range(3):
        for model, optimizer in zip((fused, default), optimizers, strict=True):
            optimizer.zero_grad()
            model(inputs).square().mean().backward()
            optimizer.step()
    for mine, theirs in zip(fused.parameters(), default.parameters(), strict=True):
        torch.testing.assert_close(mine, theirs)


def test_an_epoch_plan_draws_what_batch_by_batch_drawing_would(augment):
    plan = plan_epoch(37, 12, augment, torch.Generator().manual_seed(3), CPU, CPU)
    generator = torch.Generator().manual_seed(3)
    order = torch.randperm(37, generator=generator)
    expected = order.split(12)[:3]  # the last batch, of one image, is dropped
    assert len(plan.batches) == 3 and all(torch.equal(a, b) for a, b in zip(plan.batches, expected, strict=True))
    for thetas, batch in zip(plan.thetas, expected, strict=True):
        assert torch.equal(thetas, random_affine_matrices(len(batch), augment, generator))
    assert plan_epoch(37, 12, None, torch.Generator().manual_seed(3), CPU, CPU).thetas is None


@pytest.mark.cuda
@pytest.mark.parametrize("device", [CUDA, CUDA_0, "picked"])
def test_runs_train_on_cuda_with_resident_and_with_pinned_images(separable, augment, device, monkeypatch):
    train, val = separable
    device = pick_device() if device == "picked" else device
    settings = FitSettings(1, 16, 0.001, 0, augment)
    resident = fit(build_model(ModelSpec("basic", 2)), train, val, settings, device)
    monkeypatch.setattr("foodcnn.training.fits_resident", lambda nbytes, free: False)
    pinned = fit(build_model(ModelSpec("basic", 2)), train, val, settings, device)
    assert len(resident.history) == len(pinned.history) == 1


@pytest.mark.cuda
def test_a_tiny_run_on_cuda_matches_the_cpu_run(separable, augment):
    train, val = separable

    def run(device: torch.device, precision: str) -> list:
        torch.manual_seed(0)
        model = build_model(ModelSpec("residual", 2))
        settings = FitSettings(2, 16, 0.001, 0, augment, precision=precision, channels_last=precision == "bf16")
        return fit(model, train, val, settings, device).history

    reference = run(CPU, "fp32")
    for precision, tolerance in [("fp32", 0.01), ("bf16", 0.05)]:
        history = run(CUDA, precision)
        assert [r.train_loss for r in history] == pytest.approx([r.train_loss for r in reference], rel=tolerance)
        assert [r.val_loss for r in history] == pytest.approx([r.val_loss for r in reference], rel=tolerance)


def test_a_stage_computes_with_the_threads_params_owns_whatever_the_machine_set_before():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert compute_device(1) == pick_device()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
