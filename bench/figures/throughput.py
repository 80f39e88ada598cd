"""Figure 1: training images/s of the project's loop (training.fit) against a bare PyTorch loop."""

import copy
import statistics
from collections.abc import Callable

import torch
import torch.nn.functional as F
from harness import BENCH_LR, NUM_CLASSES, median_ratio, quiet_fit, sample_shaped_set, timed
from torch import nn

from foodcnn import params as study_params
from foodcnn.data.augment import normalize
from foodcnn.data.tensors import ImageSet
from foodcnn.devices import pick_device
from foodcnn.models import ModelSpec, build_model
from foodcnn.training import FitSettings


def bare_loop(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int, epochs: int) -> None:
    """The reference: Adam and cross-entropy over shuffled batches of ready float tensors, nothing else."""
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=BENCH_LR)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(inputs), generator=generator).split(batch_size):
            if len(batch) < 2:
                continue
            batch = batch.to(inputs.device)
            loss = F.cross_entropy(model(inputs[batch]), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def measure(settings: study_params.Params, repeats: int, epochs: int, models: list[str]) -> None:
    """The project's loop against the bare loop, same model, batch size and images."""
    device = pick_device()
    train, val = sample_shaped_set(settings, "train", 0), sample_shaped_set(settings, "train", 1)
    val = ImageSet(val.images[:2], val.labels[:2], val.classes, val.paths[:2])  # keep validation out of the figure
    inputs, labels = normalize(train.images.to(device)), train.labels.to(device)
    print(
        f"\n1. training throughput, images/s ({len(train)} images of {settings.data.image_size} px, "
        f"{epochs} epochs per timing, median of {repeats}; validation on 2 images)"
    )
    print(
        "   project = training.fit: shuffle, index, augment (or normalise), forward/backward/Adam, metrics, "
        "progress bar, best-weights copy"
    )
    print("   bare    = the same model, batch size and Adam over ready normalised float tensors, no augmentation")
    cases = [
        ("basic", ModelSpec("basic", NUM_CLASSES), settings.grid.batch_size[0]),
        ("residual", ModelSpec("residual", NUM_CLASSES), settings.grid.batch_size[0]),
        (
            "mobilenet (all blocks train)",
            ModelSpec("mobilenet", NUM_CLASSES, trainable_blocks=19),
            settings.finetune.batch_size,
        ),
    ]
    cases = [case for case in cases if case[1].name in models]
    print(f"   {'model':30} {'batch':>5} {'bare':>7} {'fit':>7} {'ratio':>6} {'fit+aug':>7} {'ratio':>6}")
    for name, spec, batch_size in cases:
        images_per_run = epochs * (len(train) - (1 if len(train) % batch_size == 1 else 0))  # fit drops a batch of 1
        torch.manual_seed(0)
        initial = build_model(spec)
        plain = FitSettings(epochs, batch_size, BENCH_LR, 0, None)
        augmented = FitSettings(epochs, batch_size, BENCH_LR, 0, settings.train.augment)

        def run_fit(fit_settings: FitSettings) -> Callable[[], None]:
            model = copy.deepcopy(initial)  # noqa: B023 (each run's own copy, made when the loop is at it)
            return lambda: quiet_fit(model, train, val, fit_settings, device)  # noqa: B023 (called before the loop moves on)

        def run_bare() -> Callable[[], None]:
            model = copy.deepcopy(initial).to(device)  # noqa: B023 (each run's own copy, made when the loop is at it)
            return lambda: bare_loop(model, inputs, labels, batch_size, epochs)  # noqa: B023 (called before the loop moves on)

        for warm_up in (run_bare(), run_fit(plain), run_fit(augmented)):
            warm_up()
        bare_times, plain_pairs, augmented_pairs = [], [], []
        for _ in range(repeats):
            bare_time = timed(run_bare(), device)
            plain_pairs.append((bare_time, timed(run_fit(plain), device)))
            augmented_pairs.append((bare_time, timed(run_fit(augmented), device)))
            bare_times.append(bare_time)
        rate = images_per_run / statistics.median(bare_times)
        plain_rate = images_per_run / statistics.median(t for _, t in plain_pairs)
        augmented_rate = images_per_run / statistics.median(t for _, t in augmented_pairs)
        print(
            f"   {name:30} {batch_size:>5} {rate:7.0f} {plain_rate:7.0f} {median_ratio(plain_pairs):6.3f} "
            f"{augmented_rate:7.0f} {median_ratio(augmented_pairs):6.3f}",
            flush=True,
        )
