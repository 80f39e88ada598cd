"""Predictions and the numbers computed from them: loss, accuracy, per-class scores, confusion matrices."""

import torch
import torch.nn.functional as F
from torch import nn

from foodcnn.data.augment import normalize

INFERENCE_BATCH_SIZE = 256


@torch.inference_mode()
def predict_logits(
    model: nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = INFERENCE_BATCH_SIZE
) -> torch.Tensor:
    """Logits (on the CPU) of an eval-mode model for uint8 images, in large batches."""
    model.eval()
    outputs = [
        model(normalize(images[start : start + batch_size].to(device))).float().cpu()
        for start in range(0, len(images), batch_size)
    ]
    return torch.cat(outputs) if outputs else torch.empty(0)


def loss_and_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    return F.cross_entropy(logits, labels).item(), (logits.argmax(1) == labels).float().mean().item()


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts with actual classes as rows and predicted classes as columns."""
    return torch.bincount(labels * num_classes + predictions, minlength=num_classes**2).view(num_classes, num_classes)


def safe_divide(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """Element-wise division that gives 0 where the denominator is 0 (a class never predicted or absent)."""
    return torch.where(denominator > 0, numerator / denominator.clamp(min=1), torch.zeros_like(numerator))


def class_scores(labels: torch.Tensor, predictions: torch.Tensor, num_classes: int) -> dict[str, torch.Tensor]:
    """Per-class precision, recall, F1 and support."""
    counts = confusion_matrix(labels, predictions, num_classes).double()
    true_positives = counts.diag()
    precision = safe_divide(true_positives, counts.sum(0))
    recall = safe_divide(true_positives, counts.sum(1))
    f1 = safe_divide(2 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "support": counts.sum(1)}


def per_class_metrics(labels: torch.Tensor, predictions: torch.Tensor, classes: tuple[str, ...]) -> list[dict]:
    """Precision, recall, F1 and support (test images) of each class, as rows.

    `predictions` is one run's (images,) or several runs' (runs, images), whose counts are pooled: the scores
    of all seeds' predictions together, as the pooled confusion matrix shows them.
    """
    runs = predictions.view(-1, len(labels))
    scores = class_scores(labels.repeat(len(runs)), runs.flatten(), len(classes))
    return [
        {
            "class": name,
            **{key: round(values[i].item(), 4) for key, values in scores.items() if key != "support"},
            "support": int(scores["support"][i].item()) // len(runs),
        }
        for i, name in enumerate(classes)
    ]


def prediction_rows(
    logits: torch.Tensor, labels: torch.Tensor, paths: tuple[str, ...], classes: tuple[str, ...], seed: int
) -> list[dict]:
    """One row per test image: the run's seed, the image's index and path, actual and predicted class names,
    and the softmax probability of the predicted class. The actual/predicted columns feed DVC's confusion
    template, which counts the rows of every seed together."""
    confidence, predicted = logits.softmax(1).max(1)
    return [
        {
            "seed": seed,
            "image": index,
            "path": path,
            "actual": classes[actual],
            "predicted": classes[guess],
            "confidence": round(probability, 4),
        }
        for index, (path, actual, guess, probability) in enumerate(
            zip(paths, labels.tolist(), predicted.tolist(), confidence.tolist(), strict=True)
        )
    ]


def confusion_from_rows(rows: list[dict], classes: tuple[str, ...]) -> torch.Tensor:
    """The confusion matrix of (actual, predicted) class-name rows, as written by prediction_rows."""
    index = {name: i for i, name in enumerate(classes)}
    actual = torch.tensor([index[row["actual"]] for row in rows], dtype=torch.int64)
    predicted = torch.tensor([index[row["predicted"]] for row in rows], dtype=torch.int64)
    return confusion_matrix(actual, predicted, len(classes))
