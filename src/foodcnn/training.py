"""The one training loop: scratch, dropout and fine-tune runs all go through fit()."""

import copy
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from foodcnn.data.augment import affine_augment, normalize, random_affine_matrices
from foodcnn.data.tensors import ImageSet
from foodcnn.evaluation import INFERENCE_BATCH_SIZE, loss_and_accuracy, predict_logits
from foodcnn.history import EpochRecord, best_record
from foodcnn.models import FrozenPrefix
from foodcnn.params import AUTO, AugmentParams

# Outputs of frozen layers are kept for reuse only below this size, so a large dataset at a large image
# size falls back to running the frozen layers every batch instead of running out of memory.
REUSE_LIMIT_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class FitSettings:
    epochs: int
    batch_size: int
    lr: float
    seed: int
    augment: AugmentParams | None  # None: train on the images as they are
    precision: str = AUTO  # auto | fp32 | bf16 (autocast; weights and optimizer stay fp32); see numerics()
    channels_last: bool | str = AUTO  # auto | True | False


@dataclass(frozen=True)
class FitResult:
    history: list[EpochRecord]
    best_state: dict[str, torch.Tensor]  # the weights of the best epoch

    @property
    def best(self) -> EpochRecord:
        """The epoch whose weights are kept: the highest validation accuracy, the earliest on ties."""
        return best_record(self.history)

    @property
    def best_epoch(self) -> int:
        return self.best.epoch


def numerics(precision: str, channels_last: bool | str, device: torch.device) -> tuple[str, bool]:
    """train.precision and train.channels_last with auto resolved: bf16 + channels_last on CUDA, where they
    pay off, fp32 + NCHW elsewhere, where fp32 keeps runs bit-for-bit repeatable."""
    on_cuda = device.type == "cuda"
    return (
        ("bf16" if on_cuda else "fp32") if precision == AUTO else precision,
        on_cuda if channels_last == AUTO else bool(channels_last),
    )


def same_device(tensor_device: torch.device, device: torch.device) -> bool:
    """Whether a tensor on tensor_device is on device. A tensor reports an index (cuda:0) where a device may
    name none (cuda: the current one), so indexes are compared only when both have one."""
    return tensor_device.type == device.type and (
        tensor_device.index is None or device.index is None or tensor_device.index == device.index
    )


def fits_resident(nbytes: int, free_bytes: int) -> bool:
    """Whether images of nbytes stay on a device with free_bytes free: up to half, leaving room for training."""
    return nbytes <= free_bytes // 2


def _on_device(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The uint8 images resident on the device when they fit, else left on the host as they are: mapped from
    the tensor cache and shared with the runs beside this one, each batch pinned on its way (_take). Pinning
    the whole set would copy it into every run's own memory, and a batch indexed from it is not pinned anyway."""
    if device.type == "cuda" and not fits_resident(images.nbytes, torch.cuda.mem_get_info(device)[0]):
        return images
    return images.to(device)


def _take(images: torch.Tensor, batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """One batch of images on the device (batch indexes images where they are), copied from pinned host
    memory when they are not resident."""
    if same_device(images.device, device):
        return images[batch]
    return images[batch].pin_memory().to(device, non_blocking=True)


@dataclass(frozen=True)
class EpochPlan:
    batches: list[torch.Tensor]  # shuffled indexes, on the device of the images they index
    thetas: list[torch.Tensor] | None  # each batch's augmentation matrices, on the training device


def plan_epoch(
    count: int,
    batch_size: int,
    augment: AugmentParams | None,
    generator: torch.Generator,
    index_device: torch.device,
    device: torch.device,
) -> EpochPlan:
    """An epoch's shuffled index batches and augmentation matrices, drawn from the generator up front in the
    order a batch-by-batch loop would draw them (so CPU results repeat) and each moved to its device once.

    A last batch of one image is dropped, since BatchNorm cannot train on it.
    """
    order = torch.randperm(count, generator=generator)
    batches = [batch for batch in order.split(batch_size) if len(batch) > 1]
    kept = sum(len(batch) for batch in batches)
    thetas: list[torch.Tensor] | None = None
    if augment is not None:
        matrices = torch.cat([random_affine_matrices(len(batch), augment, generator) for batch in batches])
        thetas = list(matrices.to(device).split(batch_size))
    return EpochPlan(list(order[:kept].to(index_device).split(batch_size)), thetas)


def adam(parameters: list[torch.nn.Parameter], lr: float) -> torch.optim.Adam:
    """Adam fused into one pass over each parameter tensor, on every device: the for-each default makes several
    passes, each reading and writing every parameter (7 % of a ResidualCNN run on one CPU thread)."""
    return torch.optim.Adam(parameters, lr=lr, fused=True)


def configure_cudnn(device: torch.device) -> None:
    """Deterministic cuDNN convolutions without autotuning on CUDA, so that a run repeats for the same
    parameters on the same machine (autotuning may pick another algorithm, and other last digits, each run)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def _autocast(device: torch.device, precision: str) -> AbstractContextManager:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


@torch.inference_mode()
def _logits_from_features(model: FrozenPrefix, features: torch.Tensor) -> torch.Tensor:
    """Logits (on the CPU) of an eval-mode model from its frozen layers' outputs, in large batches."""
    return torch.cat(
        [
            model.forward_trainable(features[start : start + INFERENCE_BATCH_SIZE]).float().cpu()
            for start in range(0, len(features), INFERENCE_BATCH_SIZE)
        ]
    )


def _frozen_outputs(model: FrozenPrefix, images: torch.Tensor, device: torch.device) -> torch.Tensor | None:
    """The frozen layers' outputs for uint8 images, computed once; None when they would be too large to keep."""
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(images), INFERENCE_BATCH_SIZE):
            output = model.frozen(normalize(images[start : start + INFERENCE_BATCH_SIZE].to(device)))
            if output[0].nbytes * len(images) > REUSE_LIMIT_BYTES:
                return None
            outputs.append(output)
    # Outside inference mode, so that the result is an ordinary tensor the trainable layers can take in autograd.
    return torch.cat(outputs)


def _reusable_prefix(model: nn.Module) -> FrozenPrefix | None:
    return model if isinstance(model, FrozenPrefix) and len(model.frozen) > 0 else None


def fit(
    model: nn.Module, train: ImageSet, val: ImageSet, settings: FitSettings, device: torch.device, name: str = "fit"
) -> FitResult:
    """Train with Adam and cross-entropy, validating every epoch; keep the weights of the best epoch.

    A frozen prefix of the model (FrozenPrefix) runs once over the validation images, and once over the
    training images when there is no augmentation; its outputs are reused every epoch. Each epoch prints one
    line starting with name, so that the lines of runs side by side stay apart.
    """
    generator = torch.Generator().manual_seed(settings.seed)
    precision_name, channels_last = numerics(settings.precision, settings.channels_last, device)
    configure_cudnn(device)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    precision = _autocast(device, precision_name)
    input_format = torch.channels_last if channels_last else torch.contiguous_format
    prefix = _reusable_prefix(model)
    with precision:
        train_features = _frozen_outputs(prefix, train.images, device) if prefix and not settings.augment else None
        val_features = _frozen_outputs(prefix, val.images, device) if prefix else None
    # what the batches index: the frozen layers' outputs when kept (then prefix is set), else the images
    source = train_features if train_features is not None else _on_device(train.images, device)
    labels = train.labels.to(source.device)
    optimizer = adam([p for p in model.parameters() if p.requires_grad], settings.lr)
    history: list[EpochRecord] = []
    best_state: dict[str, torch.Tensor] = {}
    for epoch in range(1, settings.epochs + 1):
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        plan = plan_epoch(len(train), settings.batch_size, settings.augment, generator, source.device, device)
        for step, batch in enumerate(plan.batches):
            targets = labels[batch].to(device, non_blocking=True)
            with precision:
                if train_features is not None:
                    logits = cast(FrozenPrefix, prefix).forward_trainable(source[batch])
                else:
                    pixels = _take(source, batch, device)
                    inputs = affine_augment(pixels, plan.thetas[step]) if plan.thetas else normalize(pixels)
                    logits = model(inputs.contiguous(memory_format=input_format))
                loss = F.cross_entropy(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            # Sums stay on the device: reading them every batch would wait for the device each time.
            loss_sum += loss.detach() * len(batch)
            correct += (logits.argmax(1) == targets).sum()
            seen += len(batch)
        model.eval()
        with precision:
            if val_features is not None:
                val_logits = _logits_from_features(cast(FrozenPrefix, prefix), val_features)
            else:
                val_logits = predict_logits(model, val.images, device)
        val_loss, val_accuracy = loss_and_accuracy(val_logits, val.labels)
        record = EpochRecord(
            epoch, loss_sum.item() / max(seen, 1), correct.item() / max(seen, 1), val_loss, val_accuracy
        )
        print(
            f"{name} epoch {epoch}/{settings.epochs}: loss {record.train_loss:.3f}, accuracy "
            f"{record.train_accuracy:.3f}, val_loss {val_loss:.3f}, val_accuracy {val_accuracy:.3f}",
            flush=True,
        )
        history.append(record)
        if not best_state or val_accuracy > max(r.val_accuracy for r in history[:-1]):
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
    return FitResult(history, best_state)
