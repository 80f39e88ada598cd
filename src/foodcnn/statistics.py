"""How far test-set numbers can be trusted: bootstrap intervals over test images, exact and bootstrap tests.

Predictions come as a (seeds, images) tensor: one row per training seed of the same configuration. A
number is the mean over seeds; a bootstrap resample draws test images with replacement and applies the
same draw to every seed and every model, so comparisons stay paired. A resample is held as draw counts (how
often it draws each image), so a metric of every resample is one matrix product or sum: exact, since the
counts are integers far below float32's 2**24. Resamples are drawn a chunk at a time, so memory stays bounded
whatever their number (params.MAX_RESAMPLES bounds the values kept, 8 bytes per resample and metric).
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from math import comb

import torch

from foodcnn.evaluation import safe_divide

CONFIDENCE = 0.95
CHUNK_CELLS = 1 << 22  # draw counts held at once: 16 MB of float32


@dataclass(frozen=True)
class Resampling:
    """`resamples` bootstrap resamples of `count` test images, drawn with replacement from `seed`.

    Each pass over `chunks()` draws the same resamples again, so both sides of a paired comparison and every
    metric see the same draws without all of them being held at once.
    """

    count: int
    resamples: int
    seed: int

    def chunks(self) -> Iterator[torch.Tensor]:
        """(rows, count) draw counts, rows at a time until `resamples` rows were given."""
        generator = torch.Generator().manual_seed(self.seed)
        rows = max(1, CHUNK_CELLS // self.count)
        for start in range(0, self.resamples, rows):
            size = min(rows, self.resamples - start)
            indices = torch.randint(0, self.count, (size, self.count), generator=generator)
            yield torch.zeros(size, self.count).scatter_add_(1, indices, torch.ones(size, self.count))


def over_resamples(
    metrics: Sequence[Callable[[torch.Tensor], torch.Tensor]], resampling: Resampling
) -> list[torch.Tensor]:
    """Each metric of every resample, one value per resample: one pass over the draws for all of them."""
    values: list[list[torch.Tensor]] = [[] for _ in metrics]
    for draws in resampling.chunks():
        for value, metric in zip(values, metrics, strict=True):
            value.append(metric(draws))
    return [torch.cat(value) for value in values]


def each_once(count: int) -> torch.Tensor:
    """The draw counts of the test set itself: every image once."""
    return torch.ones(1, count)


def accuracies(labels: torch.Tensor, predictions: torch.Tensor, draws: torch.Tensor) -> torch.Tensor:
    """Accuracy, averaged over seeds, of each resample (a row of `draws`)."""
    hits = (draws @ (predictions == labels).float().T).double()
    return hits.sum(1) / (len(predictions) * draws.sum(1).double())


def macro_f1s(labels: torch.Tensor, predictions: torch.Tensor, draws: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Macro-F1, averaged over seeds, of each resample; as scikit-learn does, the mean runs over the classes
    that occur in the resample's labels or predictions."""
    scores = []
    for seed_predictions in predictions:
        cells = labels * num_classes + seed_predictions  # each image's cell of the confusion matrix
        counts = torch.zeros(len(draws), num_classes**2).index_add_(1, cells, draws)
        counts = counts.double().view(len(draws), num_classes, num_classes)
        true_positives = counts.diagonal(dim1=1, dim2=2)
        actual, predicted = counts.sum(2), counts.sum(1)
        precision = safe_divide(true_positives, predicted)
        recall = safe_divide(true_positives, actual)
        f1 = safe_divide(2 * precision * recall, precision + recall)
        present = (actual + predicted) > 0
        scores.append((f1 * present).sum(1) / present.sum(1))
    return torch.stack(scores).mean(0)


def percentile_interval(values: torch.Tensor) -> tuple[float, float]:
    """The central 95 % of bootstrap values."""
    tail = (1 - CONFIDENCE) / 2
    low, high = torch.quantile(values, torch.tensor([tail, 1 - tail], dtype=values.dtype)).tolist()
    return round(low, 4), round(high, 4)


def summary_with_intervals(
    labels: torch.Tensor, predictions: torch.Tensor, num_classes: int, resampling: Resampling
) -> dict:
    """Test accuracy and macro-F1 (means over seeds), each with its 95 % bootstrap interval; with several
    seeds also their standard deviation over seeds."""
    metrics: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
        "accuracy": lambda chosen, draws: accuracies(labels, chosen, draws),
        "macro_f1": lambda chosen, draws: macro_f1s(labels, chosen, draws, num_classes),
    }
    resampled = over_resamples([partial(metric, predictions) for metric in metrics.values()], resampling)
    result: dict[str, float | list[float]] = {}
    for (name, metric), values in zip(metrics.items(), resampled, strict=True):
        per_seed = torch.cat([metric(row.view(1, -1), each_once(len(labels))) for row in predictions])
        result[name] = round(per_seed.mean().item(), 4)
        result[f"{name}_ci95"] = list(percentile_interval(values))
        if len(per_seed) > 1:
            result[f"{name}_std"] = round(per_seed.std().item(), 4)
    return result


def mcnemar_exact(correct_a: torch.Tensor, correct_b: torch.Tensor) -> float:
    """Two-sided exact McNemar p-value: a binomial test on the images exactly one of two models gets right."""
    only_a = int((correct_a & ~correct_b).sum())
    only_b = int((correct_b & ~correct_a).sum())
    discordant = only_a + only_b
    tail = sum(comb(discordant, k) for k in range(min(only_a, only_b) + 1))
    return min(1.0, 2 * tail / 2**discordant)


def bootstrap_p_value(observed: float, resampled: torch.Tensor) -> float:
    """Two-sided p-value of a difference from its bootstrap distribution shifted to the null of no difference."""
    extreme = int(((resampled - observed).abs() >= abs(observed) - 1e-12).sum())
    return min(1.0, (extreme + 1) / (len(resampled) + 1))


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
