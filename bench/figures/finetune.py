"""Figure 3: MobileNetV2 fine-tuning (cases A and B) against one pass of the frozen layers over the data plus
the training of what is not frozen."""

import copy
import statistics

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


def frozen_forward(model: nn.Module, images: torch.Tensor, device: torch.device) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([model.frozen(normalize(images[i : i + 256].to(device))) for i in range(0, len(images), 256)])


def reference_finetune(
    model: nn.Module, train: ImageSet, val: ImageSet, batch_size: int, epochs: int, device: torch.device
) -> None:
    """The floor: the frozen layers once over train and val, then the rest trained and validated on their output."""
    model.to(device)
    train_features = frozen_forward(model, train.images, device).clone()
    val_features = frozen_forward(model, val.images, device).clone()
    rest = nn.Sequential(model.trainable, model.head)
    labels = train.labels.to(device)
    optimizer = torch.optim.Adam([p for p in rest.parameters() if p.requires_grad], lr=BENCH_LR)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        rest.train()
        for batch in torch.randperm(len(train_features), generator=generator).split(batch_size):
            if len(batch) < 2:
                continue
            batch = batch.to(device)
            loss = F.cross_entropy(rest(train_features[batch]), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        rest.eval()
        with torch.inference_mode():
            rest(val_features).argmax(1).cpu()


def measure(settings: study_params.Params, repeats: int) -> None:
    """fit on MobileNetV2 cases against the reference_finetune floor."""
    device = pick_device()
    train, val = sample_shaped_set(settings, "train", 0), sample_shaped_set(settings, "val", 1)
    epochs, batch_size = settings.finetune.epochs, settings.finetune.batch_size
    print(
        f"\n3. MobileNetV2 fine-tuning, {epochs} epochs, batch {batch_size}, {len(train)} + {len(val)} images "
        f"(median of {repeats})"
    )
    print(
        "   floor = the frozen layers once over train + val, then the trainable part trained and validated on "
        "their output"
    )
    print(f"   {'case':4} {'trainable blocks':>16} {'augment':>8} {'floor s':>8} {'fit s':>7} {'ratio':>6}")
    for case, blocks in settings.finetune.cases.items():
        torch.manual_seed(0)
        initial = build_model(ModelSpec("mobilenet", NUM_CLASSES, trainable_blocks=blocks))
        for augment in (None, settings.train.augment):
            fit_settings = FitSettings(epochs, batch_size, settings.finetune.lr, 0, augment)
            pairs = []
            for index in range(repeats + 1):
                floor = timed(
                    lambda: reference_finetune(
                        copy.deepcopy(initial),  # noqa: B023 (called before the loop moves on)
                        train,
                        val,
                        batch_size,
                        epochs,
                        device,
                    ),
                    device,
                )
                model = copy.deepcopy(initial)
                fitted = timed(lambda: quiet_fit(model, train, val, fit_settings, device), device)  # noqa: B023 (called before the loop moves on)
                if index:  # the first pair warms up
                    pairs.append((fitted, floor))
            print(
                f"   {case:4} {blocks:>16} {'on' if augment else 'off':>8} "
                f"{statistics.median(f for _, f in pairs):8.2f} {statistics.median(t for t, _ in pairs):7.2f} "
                f"{median_ratio(pairs):6.2f}",
                flush=True,
            )
    print(
        "   target (augment off): ratio <= 1.2. With augmentation every epoch sees new images, so the frozen "
        "layers run every epoch"
    )
