"""B against A on the test set, asked two ways, each with its own verdict: the one implementation behind the
report's comparisons (the evaluate stage) and `foodcnn diff`.

- **These trained models** (only the test images vary): would these very models differ on other images?
  A bootstrap of the test images gives the interval; the p-value is McNemar's exact test when each side is one
  model scored on the same images, else the bootstrap's. Seeds are what they are: with one model per side
  this says nothing about what another seed would give.
- **The training procedures** (seeds and test images vary): would training again, with other seeds, give the
  same answer? foodcnn.procedures, given at least MIN_SEEDS models per side; with fewer, no verdict, and the
  result says how many seeds it needs.

Several comparisons at once are several tests: Holm's step-down adjustment, per kind, keeps the chance of any
false "better" at 5 %, and each verdict reads its adjusted p-value.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch

from foodcnn.procedures import MIN_SEEDS, intervals, p_values, procedure_test
from foodcnn.statistics import (
    Resampling,
    accuracies,
    bootstrap_p_value,
    each_once,
    holm,
    macro_f1s,
    mcnemar_exact,
    over_resamples,
    percentile_interval,
)

SIGNIFICANCE = 0.05
KINDS = {"trained_models": "these models", "procedures": "procedure"}  # each verdict says which kind it is


@dataclass(frozen=True)
class Scored:
    """One side: test labels (images,) and predictions (seeds, images) as class indices, and the seeds."""

    labels: torch.Tensor
    predictions: torch.Tensor
    seeds: tuple[int, ...]

    @property
    def correct(self) -> torch.Tensor:
        return self.predictions == self.labels


def significant(p_value: float) -> float:
    """A p-value to three significant digits: small ones keep their size instead of rounding to 0."""
    return float(f"{p_value:.3g}")


def accuracy_of(side: Scored, draws: torch.Tensor) -> torch.Tensor:
    return accuracies(side.labels, side.predictions, draws)


def resampled_differences(
    a: Scored, b: Scored, paired: bool, num_classes: int, resamples: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """B minus A in every resample of the test images, accuracy and macro-F1: one pass over the draws for both
    sides when they are paired, one per side otherwise."""

    def of(side: Scored) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        return [
            lambda draws: accuracy_of(side, draws),
            lambda draws: macro_f1s(side.labels, side.predictions, draws, num_classes),
        ]

    resampling_a = Resampling(len(a.labels), resamples, seed)
    if paired:
        accuracy_a, f1_a, accuracy_b, f1_b = over_resamples([*of(a), *of(b)], resampling_a)
    else:
        accuracy_a, f1_a = over_resamples(of(a), resampling_a)
        accuracy_b, f1_b = over_resamples(of(b), Resampling(len(b.labels), resamples, seed + 1))
    return accuracy_b - accuracy_a, f1_b - f1_a


def trained_models_p_value(
    a: Scored, b: Scored, paired: bool, observed: float, resampled: torch.Tensor
) -> tuple[str, float]:
    """The test of "these trained models are equally accurate" and its p-value, given the observed accuracy
    difference and its resampled values: McNemar's exact test for one model per side on the same images (the
    images only one side gets right), else the bootstrap's."""
    if paired and len(a.seeds) == len(b.seeds) == 1:
        return "McNemar exact", mcnemar_exact(a.correct[0], b.correct[0])
    return "bootstrap", bootstrap_p_value(observed, resampled)


def trained_models(
    a: Scored, b: Scored, paired: bool, num_classes: int, observed: float, resamples: int, seed: int
) -> dict:
    """Intervals over test images of the accuracy and macro-F1 differences, and the p-value of the accuracy's
    (`observed`)."""
    accuracy, macro_f1 = resampled_differences(a, b, paired, num_classes, resamples, seed)
    test, p_value = trained_models_p_value(a, b, paired, observed, accuracy)
    return {
        "accuracy_ci95": list(percentile_interval(accuracy)),
        "macro_f1_ci95": list(percentile_interval(macro_f1)),
        "test": test,
        "p_value": significant(p_value),
    }


def procedures(a: Scored, b: Scored, paired: bool) -> dict:
    """The procedure interval and p-value, or how many seeds a side lacks for them."""
    if min(len(a.seeds), len(b.seeds)) < MIN_SEEDS:
        return {"seeds_needed": MIN_SEEDS}
    test = procedure_test(a.correct.numpy(), b.correct.numpy(), paired)
    low, high = intervals(test)
    return {
        "accuracy_ci95": [round(float(low), 4), round(float(high), 4)],
        "degrees_of_freedom": round(float(test.degrees_of_freedom), 1) if test.variance > 0 else None,
        "p_value": significant(float(p_values(test))),
    }


def seed_accuracy(side: Scored) -> dict[int, float]:
    """Each trained model's test accuracy, by seed."""
    return dict(zip(side.seeds, (round(value, 4) for value in side.correct.double().mean(1).tolist()), strict=True))


def point_values(side: Scored, num_classes: int) -> tuple[float, float]:
    """Accuracy and macro-F1 on the test set itself, means over seeds."""
    once = each_once(len(side.labels))
    return (
        accuracies(side.labels, side.predictions, once).item(),
        macro_f1s(side.labels, side.predictions, once, num_classes).item(),
    )


def compare_scored(a: Scored, b: Scored, paired: bool, num_classes: int, resamples: int, seed: int) -> dict:
    """B minus A: accuracy and macro-F1 (means over seeds), then both kinds of comparison; `paired` when both
    sides scored the same images in the same order. Verdicts come with `add_verdicts`, over all comparisons."""
    values_a, values_b = point_values(a, num_classes), point_values(b, num_classes)
    values = {
        name: {"a": round(value_a, 4), "b": round(value_b, 4), "difference": round(value_b - value_a, 4)}
        for name, value_a, value_b in zip(("accuracy", "macro_f1"), values_a, values_b, strict=True)
    }
    observed = values_b[0] - values_a[0]
    return {
        "paired": paired,
        "seeds": [len(a.seeds), len(b.seeds)],
        **values,
        "trained_models": trained_models(a, b, paired, num_classes, observed, resamples, seed),
        "procedures": procedures(a, b, paired),
        "seed_accuracy": {"a": seed_accuracy(a), "b": seed_accuracy(b)},
    }


def verdict(kind: str, difference: float, adjusted_p: float, names: tuple[str, str]) -> str:
    """'B better (procedure)', 'A better (these models)' or 'no evidence either way': B minus A, given names
    (A's, B's)."""
    if adjusted_p >= SIGNIFICANCE or difference == 0:
        return "no evidence either way"
    return f"{names[1] if difference > 0 else names[0]} better ({KINDS[kind]})"


def too_few_seeds(seeds: list[int], names: tuple[str, str]) -> str:
    return f"none: needs {MIN_SEEDS} seeds per side ({names[0]} has {seeds[0]}, {names[1]} {seeds[1]})"


def add_verdicts(results: list[dict], names: list[tuple[str, str]]) -> None:
    """Holm-adjusted p-values and verdicts of both kinds, each over the comparisons that have one; `names`: each
    comparison's (A, B) as its verdict names them."""
    for kind in KINDS:
        tested = [(result, name) for result, name in zip(results, names, strict=True) if "p_value" in result[kind]]
        adjusted = holm([result[kind]["p_value"] for result, _ in tested])
        for (result, name), p_holm in zip(tested, adjusted, strict=True):
            result[kind]["p_holm"] = significant(p_holm)
            result[kind]["verdict"] = verdict(kind, result["accuracy"]["difference"], p_holm, name)
    for result, name in zip(results, names, strict=True):
        if "seeds_needed" in result["procedures"]:
            result["procedures"]["verdict"] = too_few_seeds(result["seeds"], name)
