import torch

from foodcnn.data.augment import augment_batch, normalize, random_affine_matrices
from foodcnn.models import ModelSpec, build_model
from foodcnn.params import AugmentParams
from foodcnn.training import FitSettings, fit

CPU = torch.device("cpu")


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
    output = augment_batch(images, augment, torch.Generator().manual_seed(0))
    assert output.shape == images.shape and output.dtype == torch.float32
    assert output.min() >= normalize(torch.zeros(1, 3, 1, 1, dtype=torch.uint8)).min() - 1e-5


def test_augmentation_differs_per_image_and_repeats_with_the_seed(augment):
    image = torch.randint(0, 256, (1, 3, 16, 16), dtype=torch.uint8)
    batch = image.repeat(8, 1, 1, 1)
    first = augment_batch(batch, augment, torch.Generator().manual_seed(1))
    again = augment_batch(batch, augment, torch.Generator().manual_seed(1))
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
        return fit(model, train, val, FitSettings(epochs=2, batch_size=16, lr=0.01, seed=seed, augment=augment), CPU).history

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_fit_trains_only_unfrozen_parameters(separable):
    train, val = separable
    model = build_model(ModelSpec("mobilenet", 2, trainable_blocks=0))
    frozen = {k: v.clone() for k, v in model.frozen.state_dict().items()}
    fit(model, train, val, FitSettings(epochs=1, batch_size=16, lr=0.01, seed=0, augment=None), CPU)
    assert all(torch.equal(v, model.frozen.state_dict()[k]) for k, v in frozen.items())
