"""The one training loop: scratch, dropout and fine-tune runs all go through fit()."""

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from foodcnn.data.augment import augment_batch, normalize
from foodcnn.data.tensors import ImageSet
from foodcnn.evaluation import loss_and_accuracy, predict_logits
from foodcnn.params import AugmentParams


@dataclass(frozen=True)
class FitSettings:
    epochs: int
    batch_size: int
    lr: float
    seed: int
    augment: AugmentParams | None  # None: train on the images as they are


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float


@dataclass(frozen=True)
class FitResult:
    history: list[EpochRecord]
    best_epoch: int  # the epoch with the highest validation accuracy (the earliest on ties)
    best_state: dict[str, torch.Tensor]

    @property
    def best(self) -> EpochRecord:
        return self.history[self.best_epoch - 1]


def pick_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _batches(count: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches; a last batch of one image is dropped, since BatchNorm cannot train on it."""
    order = torch.randperm(count, generator=generator)
    return [batch for batch in order.split(batch_size) if len(batch) > 1]


def fit(model: nn.Module, train: ImageSet, val: ImageSet, settings: FitSettings, device: torch.device) -> FitResult:
    """Train with Adam and cross-entropy, validating every epoch; keep the weights of the best epoch."""
    generator = torch.Generator().manual_seed(settings.seed)
    model.to(device)
    images, labels = train.images.to(device), train.labels.to(device)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=settings.lr)
    history: list[EpochRecord] = []
    best_state: dict[str, torch.Tensor] = {}
    for epoch in range(1, settings.epochs + 1):
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        progress = tqdm(_batches(len(train), settings.batch_size, generator), desc=f"epoch {epoch}/{settings.epochs}",
                        unit="batch", leave=True, dynamic_ncols=True)
        for batch in progress:
            batch = batch.to(device)
            inputs = augment_batch(images[batch], settings.augment, generator) if settings.augment else normalize(images[batch])
            targets = labels[batch]
            logits = model(inputs)
            loss = F.cross_entropy(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(batch)
            correct += (logits.argmax(1) == targets).sum()
            seen += len(batch)
            progress.set_postfix(loss=f"{loss_sum.item() / seen:.3f}", accuracy=f"{correct.item() / seen:.3f}", refresh=False)
        val_loss, val_accuracy = loss_and_accuracy(
            predict_logits(model, val.images, device), val.labels
        )
        record = EpochRecord(epoch, loss_sum.item() / max(seen, 1), correct.item() / max(seen, 1), val_loss, val_accuracy)
        progress.set_postfix(loss=f"{record.train_loss:.3f}", accuracy=f"{record.train_accuracy:.3f}",
                             val_accuracy=f"{val_accuracy:.3f}")
        progress.close()
        history.append(record)
        if not best_state or val_accuracy > max(r.val_accuracy for r in history[:-1]):
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
    best_epoch = max(history, key=lambda r: (r.val_accuracy, -r.epoch)).epoch
    return FitResult(history, best_epoch, best_state)
