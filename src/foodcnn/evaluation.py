"""Predictions and the numbers computed from them: loss, accuracy, macro-F1, per-class scores."""

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


def _safe_divide(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """Element-wise division that gives 0 where the denominator is 0 (a class never predicted or absent)."""
    return torch.where(denominator > 0, numerator / denominator.clamp(min=1), torch.zeros_like(numerator))


def class_scores(labels: torch.Tensor, predictions: torch.Tensor, num_classes: int) -> dict[str, torch.Tensor]:
    """Per-class precision, recall, F1 and support."""
    counts = confusion_matrix(labels, predictions, num_classes).double()
    true_positives = counts.diag()
    precision = _safe_divide(true_positives, counts.sum(0))
    recall = _safe_divide(true_positives, counts.sum(1))
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "support": counts.sum(1)}


def summary_metrics(labels: torch.Tensor, predictions: torch.Tensor, num_classes: int) -> dict[str, float]:
    """Test accuracy and macro-F1 (the unweighted mean of the per-class F1 scores)."""
    return {
        "accuracy": round((predictions == labels).double().mean().item(), 4),
        "macro_f1": round(class_scores(labels, predictions, num_classes)["f1"].mean().item(), 4),
    }


def per_class_metrics(labels: torch.Tensor, predictions: torch.Tensor, classes: tuple[str, ...]) -> list[dict]:
    """Precision, recall, F1 and support of each class, as rows."""
    scores = class_scores(labels, predictions, len(classes))
    return [
        {"class": name, **{key: round(values[i].item(), 4) for key, values in scores.items() if key != "support"},
         "support": int(scores["support"][i].item())}
        for i, name in enumerate(classes)
    ]


def confusion_rows(labels: torch.Tensor, predictions: torch.Tensor, classes: tuple[str, ...]) -> list[dict]:
    """One (actual, predicted) row per image, by class name: the input of DVC's confusion template."""
    return [{"actual": classes[a], "predicted": classes[p]} for a, p in zip(labels.tolist(), predictions.tolist())]


def confusion_from_rows(rows: list[dict], classes: tuple[str, ...]) -> torch.Tensor:
    """The confusion matrix of (actual, predicted) class-name rows, as written by confusion_rows."""
    index = {name: i for i, name in enumerate(classes)}
    actual = torch.tensor([index[row["actual"]] for row in rows], dtype=torch.int64)
    predicted = torch.tensor([index[row["predicted"]] for row in rows], dtype=torch.int64)
    return confusion_matrix(actual, predicted, len(classes))
